"""What a turn changed, in words: the "Already done: ..." of a turn that stopped early.

Read from the recorder's tool steps (what really ran), not from the model's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# Tools that change something; list_events and search_events only read.
CHANGING_TOOLS = frozenset(
    {
        "create_event",
        "update_event",
        "delete_event",
        "schedule_event",
        "record_user_insight",
        "stop_habit",
    }
)


@dataclass(frozen=True)
class Effect:
    tool: str
    text: str  # created “Lunch” Thu 12:00 (#14)
    tool_call_id: str | None = None


def _when(iso: str, tz: str, now: datetime) -> str:
    at = datetime.fromisoformat(iso).astimezone(ZoneInfo(tz))
    today = now.astimezone(ZoneInfo(tz)).date()
    if today - timedelta(days=1) <= at.date() <= today + timedelta(days=6):
        return f"{at:%a %H:%M}"
    return f"{at:%a %d %b %H:%M}"


def _event(e: dict[str, Any], tz: str, now: datetime) -> str:
    return f"“{e['title']}” {_when(e['start'], tz, now)} (#{e['id']})"


def describe(tool: str, args: Any, result: Any, tz: str, now: datetime) -> str | None:
    """One line for a tool call that changed something; None when it changed nothing."""
    if not isinstance(result, dict):
        return None
    args = args if isinstance(args, dict) else {}
    try:
        if tool == "create_event" and "created" in result:
            return f"created {_event(result['created'], tz, now)}"
        if tool == "schedule_event" and result.get("scheduled"):
            return f"booked {_event(result['scheduled'], tz, now)}"
        if tool == "delete_event" and "deleted" in result:
            return f"deleted {_event(result['deleted'], tz, now)}"
        if tool == "update_event" and "updated" in result:
            verb = "moved" if args.get("start") else "renamed" if args.get("title") else "changed"
            return f"{verb} {_event(result['updated'], tz, now)}"
        if tool == "record_user_insight" and "queued" in result:
            q = result["queued"]
            return f"noted {q['category']}/{q['key']}"
        if tool == "stop_habit" and result.get("stopped"):
            stopped = result["stopped"]
            return (
                f"stopped “{stopped['title']}” (#{stopped['id']}), "
                f"{result.get('cancelled_events', 0)} future event(s) cancelled"
            )
    except (KeyError, TypeError, ValueError):  # a result of another shape: say it plainly
        return f"ran {tool}"
    return None


def effects_of(steps: list[Any], tz: str, now: datetime) -> list[Effect]:
    """The changes among a turn's tool steps (recorder steps that finished without error)."""
    out = []
    for step in steps:
        if step.step_type != "tool" or step.name not in CHANGING_TOOLS or step.status != "ok":
            continue
        if step.duration_ms is None:  # never finished
            continue
        text = describe(step.name, step.input, step.output, tz, now)
        if text:
            out.append(Effect(step.name, text, step.extra.get("tool_call_id")))
    return out


def already_done(done: list[str]) -> str:
    """'Already done: a; b' for effects' texts, or ''."""
    return "Already done: " + "; ".join(done) if done else ""
