"""The offline model's tool calls: which tool the user's message needs first, and for a change
to an existing event ("move my doctor appointment to 11", "cancel it") the second step: act
on the single match the search or listing found; "it"/"that" is the last event this
conversation created, changed or showed alone."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agentcal.agent.intents import NOT_UNDERSTOOD, Intent, Target
from agentcal.agent.offline_reply import Clock, end_of, fmt_event, start_of

HELP = (
    "I'm agentcal's built-in offline model, so I understand calendar requests, such as:\n"
    '  - "Dentist tmrw at 4pm", "Coffee with Ana at Blue Door Friday 9am", "yoga 6-7pm Wed"\n'
    '  - "What\'s on this week?", "What\'s next?", "Am I free Tuesday afternoon?"\n'
    '  - "Move my doctor appointment to 11", "Push the 2pm back 30 minutes", "Cancel it"\n'
    '  - "Block 90 minutes for writing tomorrow morning"\n'
    '  - habits and routines: "I swim on Mondays and Thursdays at 7am",\n'
    '    "Team standup every weekday at 9:30", "Book club every other Thursday at 7pm",\n'
    '    "No meetings before 10"; "show my habits", "I don\'t go to the gym anymore"\n'
    "For free-form conversation, configure a real model: set OPENAI_API_KEY (OpenAI), or\n"
    "OPENAI_BASE_URL for Ollama, vLLM, llama.cpp or LM Studio (see docs/chat.md)."
)
EDITS = ("edit", "cancel")


def read_json(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return None
    return content


def last_single_event(messages: list[BaseMessage]) -> dict[str, Any] | None:
    """The event "it" means: the last one created, changed or shown alone, if any."""
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            continue
        data = read_json(message.content)
        if not isinstance(data, dict):
            continue
        for key in ("created", "updated", "scheduled"):
            if isinstance(data.get(key), dict):
                return data[key]  # type: ignore[no-any-return]
        if "deleted" in data or "queued" in data or "stopped" in data:
            return None
        if isinstance(data.get("events"), list):
            events = data["events"]
            return events[0] if len(events) == 1 else None
    return None


def tool_call(name: str, **args: Any) -> AIMessage:
    """A reply that calls one tool (arguments left out when None)."""
    args = {k: v for k, v in args.items() if v is not None}
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": args, "id": f"call_{uuid4().hex[:12]}", "type": "tool_call"}
        ],
    )


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="minutes")


def first_step(intent: Intent, history: list[BaseMessage], clock: Clock) -> AIMessage:
    """The first reply to the user's message: a tool call, or an answer when none fits."""
    kind = intent.kind
    if kind == "ask":
        return AIMessage(content=intent.message or NOT_UNDERSTOOD)
    if kind == "create":
        start, end = intent.span(ZoneInfo(clock.timezone))
        return tool_call(
            "create_event", title=intent.title, start=_iso(start),
            end=_iso(end) if intent.end_at else None,
            duration_minutes=None if intent.end_at else intent.duration or 60,
            location=intent.location,
        )  # fmt: skip
    if kind == "next" and intent.title:
        assert intent.range_start is not None and intent.range_end is not None
        return tool_call(
            "search_events", query=intent.title, start=_iso(intent.range_start),
            end=_iso(intent.range_end),
        )  # fmt: skip
    if kind in ("list", "next", "free"):
        assert intent.range_start is not None and intent.range_end is not None
        return tool_call("list_events", start=_iso(intent.range_start), end=_iso(intent.range_end))
    if kind == "search":
        return tool_call("search_events", query=intent.title)
    if kind == "schedule":
        assert intent.range_start is not None and intent.range_end is not None
        return tool_call(
            "schedule_event", title=intent.title, duration_minutes=intent.duration,
            window_start=_iso(intent.range_start), window_end=_iso(intent.range_end),
        )  # fmt: skip
    if kind == "insight":
        return tool_call("record_user_insight", **_insight_args(intent.insight))
    if kind == "stop":
        return tool_call("stop_habit", what=intent.title)
    if kind == "habits":
        return tool_call("list_habits")
    if kind in EDITS:
        return _find(intent, history, clock)
    return AIMessage(content=HELP)


def _find(intent: Intent, history: list[BaseMessage], clock: Clock) -> AIMessage:
    """First step of a change: the event itself ("it"), or a tool call to find it."""
    target = intent.target or Target()
    today = clock.now().date()
    if target.pronoun:
        event = last_single_event(history)
        if event is None:
            return AIMessage(
                content="Which event do you mean? Nothing in this conversation points to a "
                "single one; give its title, day or id. Nothing was changed."
            )
        return _act(intent, clock, event)
    midnight = clock.local(today, time(0))
    if target.words:
        return tool_call(
            "search_events", query=target.words,
            start=_iso(midnight - timedelta(days=7)),
            end=_iso(midnight + timedelta(days=366)),
        )  # fmt: skip
    change = intent.change
    needs_event = change is not None and (
        change.shift is not None or change.delta is not None
        or (change.day is None) != (change.at is None)
    )  # fmt: skip
    if target.event_id is not None and not needs_event:
        return _act(intent, clock, {"id": target.event_id})
    if target.event_id is not None:
        return tool_call(
            "list_events", start=_iso(midnight - timedelta(days=30)),
            end=_iso(midnight + timedelta(days=366)),
        )  # fmt: skip
    day = target.day or today
    span = 1 if target.day else 8
    return tool_call(
        "list_events", start=_iso(clock.local(day, time(0))),
        end=_iso(clock.local(day + timedelta(days=span), time(0))),
    )  # fmt: skip


def act_on_match(intent: Intent, events: list[dict[str, Any]], clock: Clock) -> AIMessage:
    """The second step of a change: act on the one event the search or listing found, or say
    why not (none, several)."""
    from agentcal.planning.matching import score

    target = intent.target or Target()
    said = f"“{target.text.strip()}”" if target.text.strip() else "that"
    if target.event_id is not None:
        events = [e for e in events if e.get("id") == target.event_id]
        if not events:
            return AIMessage(content=f"There is no event {target.event_id} on your calendar.")
        return _act(intent, clock, events[0])
    scored = [
        (
            score(target.words, f"{e['title']} {e.get('location') or ''}") if target.words else 1.0,
            e,
        )
        for e in events
    ]
    scored = [(s, e) for s, e in scored if s > 0]
    if target.day is not None:
        scored = [(s, e) for s, e in scored if start_of(e).date() == target.day]
    if target.at is not None:
        scored = [(s, e) for s, e in scored if start_of(e).time().replace(tzinfo=None) == target.at]
    if target.part is not None:
        lo, hi = target.part
        scored = [(s, e) for s, e in scored if lo <= start_of(e).time().replace(tzinfo=None) < hi]
    now = clock.now()
    upcoming = [(s, e) for s, e in scored if end_of(e) >= now]
    scored = upcoming or scored
    if not scored:
        return AIMessage(content=f"I found no event matching {said}; nothing was changed.")
    best = max(s for s, _ in scored)
    top = [e for s, e in scored if s >= best - 1e-9]
    if len(top) > 1:
        lines = "; ".join(fmt_event(e) for e in top[:5])
        titles = {e["title"] for e in top}
        routine = (
            f" To stop the whole routine, say “stop the {top[0]['title']} habit”."
            if intent.kind == "cancel" and len(titles) == 1
            else ""
        )
        return AIMessage(
            content=f"Several events match {said}: {lines}. Which one (say “event N”)?{routine} "
            "Nothing was changed."
        )
    return _act(intent, clock, top[0])


def _act(intent: Intent, clock: Clock, event: dict[str, Any]) -> AIMessage:
    event_id = event["id"]
    if intent.kind == "cancel":
        return tool_call("delete_event", event_id=event_id)
    change = intent.change
    assert change is not None
    start = end = None
    if "start" in event:
        start, end = start_of(event), end_of(event)
    args: dict[str, Any] = {"title": change.title, "location": change.location}
    if change.shift is None and change.day is not None and change.at is not None:
        args["start"] = _iso(clock.local(change.day, change.at))
    elif change.shift is not None or change.day is not None or change.at is not None:
        if start is None:
            return AIMessage(content="I couldn't read that event's time; nothing was changed.")
        local = start.astimezone(ZoneInfo(clock.timezone))
        new = local + change.shift if change.shift is not None else local
        day = change.day or new.date()
        at = change.at or new.time().replace(tzinfo=None)
        args["start"] = _iso(clock.local(day, at))
    if change.duration is not None:
        args["duration_minutes"] = change.duration
    elif change.delta is not None:
        if start is None or end is None:
            return AIMessage(content="I couldn't read that event's length; nothing was changed.")
        minutes = round((end - start).total_seconds() / 60) + change.delta
        if minutes <= 0:
            return AIMessage(
                content=f"That would leave “{event['title']}” with no time; nothing was changed."
            )
        args["duration_minutes"] = minutes
    return tool_call("update_event", event_id=event_id, **args)


def _insight_args(body: dict[str, Any]) -> dict[str, Any]:
    """The insight tool's arguments: the seed's body plus the explicit preference_type the
    tool requires (the block the parser recognised; else the one the key names; else none)."""
    if body.get("preference_type"):
        return body
    from agentcal.planning.from_insights import preference_type_for

    ptype = preference_type_for(str(body.get("key", "")), str(body.get("category", "")))
    return {**body, "preference_type": ptype or "none"}
