"""The offline model's answers: what it says once a tool has answered (created, moved, listed,
booked, noted or stopped a habit, listed habits, free or not), with events written the same
way everywhere. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.agent import habits, quickadd
from agentcal.agent.intents import WORKDAY, Intent
from agentcal.vocab import INSIGHT_ENDED


@dataclass(frozen=True)
class Clock:
    """The user's zone, and now in it (pinned by tests, else the real clock)."""

    timezone: str
    fixed_now: datetime | None = None

    def now(self) -> datetime:
        return quickadd.local_now(self.timezone, self.fixed_now or datetime.now(UTC))

    def local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=ZoneInfo(self.timezone))


def start_of(e: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(e["start"])


def end_of(e: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(e["end"])


def _fmt_span(start: str, end: str) -> str:
    a, b = datetime.fromisoformat(start), datetime.fromisoformat(end)
    day = a.strftime("%a %d %b")
    if a.date() == b.date():
        return f"{day} {a:%H:%M}–{b:%H:%M}"
    return f"{day} {a:%H:%M} – {b:%a %d %b %H:%M}"


def fmt_event(e: dict[str, Any]) -> str:
    """An event as the answers show it: “title” day start–end at place (#id)."""
    where = f" at {e['location']}" if e.get("location") else ""
    return f"“{e['title']}” {_fmt_span(e['start'], e['end'])}{where} (#{e['id']})"


def summarise(tool: str, data: dict[str, Any], intent: Intent, clock: Clock) -> str:
    """The answer after the tool's result `data`, in one sentence or a short list."""
    if "created" in data:
        return f"Created {fmt_event(data['created'])}."
    if "updated" in data:
        change = intent.change
        verb = "Updated"
        if change is not None:
            moved = change.day or change.at or change.shift
            resized = change.duration is not None or change.delta is not None
            if change.title and not (moved or resized):
                verb = "Renamed"
            elif moved and not (change.title or resized):
                verb = "Moved"
            elif resized and not (change.title or moved):
                verb = "Resized"
        return f"{verb}: {fmt_event(data['updated'])}."
    if "deleted" in data:
        return f"Cancelled {fmt_event(data['deleted'])}."
    if "scheduled" in data:
        if data["scheduled"] is None:
            return f"I couldn't book it: {data.get('reason')}; nothing was added."
        return f"Booked {fmt_event(data['scheduled'])}."
    if "queued" in data and "kept" in data:
        q = data["queued"]
        return (
            f"You told me before about {q['category']}/{q['key']} ({_said(data['kept'])}); "
            "I kept that: a guess does not overwrite it."
        )
    if "queued" in data:
        return f"{_noted(intent.insight)} {calendar_sentence(data.get('calendar') or {})}"
    if "stopped" in data:
        return _stopped(data)
    if "habits" in data:
        return _habits(data)
    if "events" in data:
        events = data["events"]
        if intent.kind == "next":
            now = clock.now()
            coming = [e for e in events if end_of(e) > now]
            if not coming:
                what = f"“{intent.title}”" if intent.title else "on your calendar"
                return f"Nothing {what} coming up."
            return f"Next: {fmt_event(coming[0])}."
        if intent.kind == "free":
            return _free_answer(intent, events, clock)
        if tool == "search_events":
            head = f"Events matching “{data.get('query')}”"
        else:
            a = datetime.fromisoformat(data["from"])
            b = datetime.fromisoformat(data["to"]) - timedelta(minutes=1)
            span = f"{a:%a %d %b}" if a.date() == b.date() else f"{a:%a %d %b} – {b:%a %d %b}"
            head = f"Your calendar for {span}"
        if not events:
            return f"{head}: nothing."
        return f"{head}:\n" + "\n".join(f"  - {fmt_event(e)}" for e in events)
    return "Done."


def _noted(body: dict[str, Any]) -> str:
    value = body.get("value")
    if body.get("insight_type") == "constraint" and isinstance(value, dict):
        word = "before" if str(body.get("key", "")).endswith("before") else "after"
        return f"Noted: no meetings {word} {value.get('time')}."
    if not isinstance(value, dict):
        return f"Noted: {body.get('category')}/{body.get('key')}."
    days = value.get("days")
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    when = (
        "every day" if not days
        else "weekdays" if days == [1, 2, 3, 4, 5]
        else "weekends" if days == [6, 7]
        else ", ".join(names[d - 1] for d in days)
    )  # fmt: skip
    every, first = value.get("interval_weeks") or 1, value.get("anchor_date")
    if every > 1 and isinstance(first, str):
        when += f" every {every} weeks from {date.fromisoformat(first):%a %d %b}"
    what = value.get("title") or str(body.get("key", "")).replace("_time", "").replace("_", " ")
    noted = (
        f"Noted: {what}, {when} at {value.get('time')} for {value.get('duration_minutes')} min "
        f"({body.get('category')}/{body.get('key')})."
    )
    if body.get("confidence") == habits.GUESSED:
        return f"{noted} You didn't say when, so I picked the usual time."
    return noted


def fmt_habit(h: dict[str, Any]) -> str:
    """A habit as the answers show it: “title” days at HH:MM for N min (#id)."""
    off = "" if h.get("on_calendar") else " (off)" if not h.get("is_active") else " (suggested)"
    what = f"“{h['title']}” {h['days']} at {h['time']} for {h['duration_minutes']} min"
    return f"{what} (#{h['id']}){off}"


def _stopped(data: dict[str, Any]) -> str:
    """The answer to stop_habit: what it turned off, or why nothing (with the candidates)."""
    stopped = data.get("stopped")
    if stopped:
        n = data.get("cancelled_events", 0)
        events = f"{n} future event{'s' if n != 1 else ''} cancelled"
        return (
            f"Stopped “{stopped['title']}” ({stopped['days']} at {stopped['time']}): {events}, "
            f"and it won't be scheduled again. To bring it back: {data.get('undo')}."
        )
    why = str(data.get("why") or "nothing was changed")
    matches = data.get("matches") or []
    if matches:
        lines = "; ".join(fmt_habit(h) for h in matches[:5])
        return f"Several habits match: {lines}. Which one? Nothing was changed."
    if "already off" in why:
        return cap_first(why) + "."
    habits_now = data.get("habits") or []
    listing = "; ".join(fmt_habit(h) for h in habits_now[:8])
    if listing:
        return f"{cap_first(why)}. Your habits: {listing}."
    return f"{cap_first(why)}: you have no habits on your calendar."


def cap_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _said(value: Any) -> str:
    """A stored insight value in a few words: “Morning Gym” at 06:00 for 60 min."""
    if not isinstance(value, dict):
        return str(value)
    parts = [f"“{value['title']}”"] if value.get("title") else []
    if value.get("time"):
        parts.append(f"at {value['time']}")
    if value.get("duration_minutes"):
        parts.append(f"for {value['duration_minutes']} min")
    said = " ".join(parts) or str(value)
    return f"{said}, stopped on {value[INSIGHT_ENDED]}" if value.get(INSIGHT_ENDED) else said


def _insight_words(i: dict[str, Any]) -> str:
    """What the user told agentcal, in a few words."""
    name, value = i["insight"], i.get("value")
    if isinstance(value, dict):
        if value.get(INSIGHT_ENDED):
            return f"{name}: stopped on {value[INSIGHT_ENDED]}"
        key = name.split("/", 1)[1]
        if key.startswith("no_meetings_") and value.get("time"):
            return f"no meetings {key.removeprefix('no_meetings_')} {value['time']}"
        if value.get("note"):
            return f"{name}: {value['note']}"
        if value.get("time") and value.get("end"):
            return f"{name}: {value['time']}–{value['end']}"
        if value.get("time"):
            return f"{name}: at {value['time']}"
    return f"{name}: {value}"


def _habits(data: dict[str, Any]) -> str:
    """The answer to list_habits: the recurring blocks, then what else the user said."""
    blocks, insights = data.get("habits") or [], data.get("insights") or []
    if not blocks and not insights:
        return (
            "I don't know any of your habits yet; tell me one, e.g. “I go to the gym on "
            "weekdays at 7am”."
        )
    parts = []
    if blocks:
        parts.append("Your habits:\n" + "\n".join(f"  - {fmt_habit(h)}" for h in blocks))
    else:
        parts.append("You have no habits on your calendar.")
    if insights:
        said = "\n".join(f"  - {_insight_words(i)}" for i in insights)
        parts.append(f"What you told me:\n{said}")
    return "\n".join(parts)


def _free_answer(intent: Intent, events: list[dict[str, Any]], clock: Clock) -> str:
    assert intent.range_start is not None and intent.range_end is not None and intent.day
    day = intent.day
    if intent.at is not None and intent.end_at is not None:
        lo, hi = intent.range_start, intent.range_end
        clash = [e for e in events if start_of(e) < hi and end_of(e) > lo]
        window = f"{day:%a %d %b} {lo:%H:%M}–{hi:%H:%M}"
        if not clash:
            return f"Yes, you're free {window}."
        return f"No, {window} has " + "; ".join(fmt_event(e) for e in clash) + "."
    lo = clock.local(day, WORKDAY[0])
    hi = clock.local(day, WORKDAY[1])
    now = clock.now()
    if now > lo:
        lo = min(max(lo, now.replace(second=0, microsecond=0)), hi)
    gaps, cursor = [], lo
    for e in sorted(events, key=start_of):
        a, b = max(start_of(e), lo), min(end_of(e), hi)
        if b <= cursor:
            continue
        if a > cursor:
            gaps.append((cursor, a))
        cursor = max(cursor, b)
    if cursor < hi:
        gaps.append((cursor, hi))
    need = timedelta(minutes=intent.duration or 15)
    gaps = [(a, b) for a, b in gaps if b - a >= need]
    if not gaps:
        return f"You have no free time on {day:%a %d %b} between {lo:%H:%M} and {hi:%H:%M}."
    slots = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in gaps)
    return f"Free on {day:%a %d %b}: {slots}."


def calendar_sentence(outcome: dict[str, Any]) -> str:
    """What the insight tool said will appear on the calendar, as a sentence. It claims no
    event: whether they are placed (now, or by the worker) is said by the line the store backs."""
    if outcome.get("becomes_events"):
        return (
            f"It becomes a calendar block: “{outcome['title']}” {outcome['days']} at "
            f"{outcome['time']} for {outcome['duration_minutes']} minutes."
        )
    return f"Nothing will be added to your calendar: {outcome.get('why', 'not a time block')}."
