"""Creating an event: its day, time, length and place, and what is left as its title."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from agentcal.agent import when
from agentcal.agent.habits import REPEATS
from agentcal.agent.intents import EXAMPLES, NOT_UNDERSTOOD, Intent, ask, blank, cap, tidy_title
from agentcal.agent.parse_book import schedule_intent
from agentcal.agent.when import PARTS_OF_DAY, Span

CREATE = (
    r"^(?:add|create|schedule|book|put|plan|set up|new (?:event|appointment|meeting)|"
    r"remind me (?:to|about)|pencil in|pop|i have|i've got|i got)\b"
)
# "at Blue Door", "@ the office", "in room 2.14": a place, up to a comma or another phrase.
_LOCATION = (
    r"(?:^|\s)(?:at|@)\s+(?!\d)([^\0,;]+?)\s*(?=\0|,|;|$)|"
    r"(?:^|\s)in\s+((?:room|office|building|the\s+[A-Z]|(?:the\s+)?(?:[\w-]+\s+)?"
    r"(?:room|office|building|hall|studio|lab|library|kitchen|lobby)\b)[^\0,;]*?)\s*(?=\0|,|;|$)"
)
# A period, not a day: "next week", "this weekend", "later this month".
_VAGUE_DAY = (
    r"\b(?:(?:later\s+)?(?:next|this|the|coming)\s+(?:week(?:end)?|month)|"
    r"(?:on|at|over)\s+the\s+weekend)\b"
)


def _when_spans(
    raw: str, t: str, now: datetime, month_first: bool = False
) -> tuple[dict[str, Any], list[Span | None]] | Intent:
    """Date, time, range, duration, offset and day part of a request, and what they cover."""
    today = now.date()
    found: dict[str, Any] = {}
    spans: list[Span | None] = []
    offset, ospan = when.find_offset(t)
    if offset is not None:
        moment = (now + offset).replace(second=0, microsecond=0)
        found["day"], found["at"] = moment.date(), moment.time().replace(tzinfo=None)
        spans.append(ospan)
    hit = when.find_date(blank(t, spans), today, month_first)
    if hit is not None:
        if hit.error:
            return ask(f"{cap(hit.error)}; nothing was added. Which day did you mean?")
        found.setdefault("day", hit.day)
        spans.append(hit.span)
    rest = blank(t, spans)
    duration, uspan = when.find_duration(rest)
    if duration is not None:
        found["duration"] = duration
        spans.append(uspan)
        rest = blank(t, spans)
    part = _day_part(t, explicit=bool(when.find_range(rest, t) or when.find_time(rest, t)[0]))
    rng = when.find_range(rest, t)
    if rng is not None and "at" not in found:
        found["at"], found["end_at"] = rng[0], rng[1]
        spans.append(rng[2])
    elif "at" not in found:
        at, tspan = when.find_time(rest, t)
        if at is not None:
            found["at"] = at
            spans.append(tspan)
    if part is not None:
        found["part"] = part[1]
        spans.append(part.span())
        if "at" not in found:
            found["at"] = PARTS_OF_DAY[part[1]][2]
        if part[1] == "tonight":
            found.setdefault("day", today)
    return found, spans


_PART_LEAD = r"(?:in the|this|tomorrow|tmrw|today|tonight|on|" + "|".join(when.WEEKDAYS) + r")\s+$"


def _day_part(t: str, explicit: bool) -> re.Match[str] | None:
    """'tomorrow morning', 'in the evening', 'tonight'; not the 'night' of 'date night'."""
    for m in re.finditer(r"\b(?:in the\s+|this\s+)?(morning|afternoon|evening|tonight|night)\b", t):
        if (
            m[1] == "tonight"
            or re.search(_PART_LEAD, t[: m.start()])
            or m[0].startswith(("in the", "this"))
        ):
            return m
        if not explicit and m[1] != "night" and not re.search(r"\w\s+$", t[: m.start()]):
            return m
    return None


def create_intent(raw: str, t: str, now: datetime, month_first: bool) -> Intent:
    verb = re.match(CREATE, t)
    got = _when_spans(raw, t, now, month_first)
    if isinstance(got, Intent):
        return got
    found, spans = got
    vague = None if found.get("day") else re.search(_VAGUE_DAY, t)
    if vague:
        spans.append(vague.span())
    if not verb and not found.get("day") and not found.get("at") and not vague:
        return ask(NOT_UNDERSTOOD)
    quoted = re.search(r"[\"“]([^\"”]{1,200})[\"”]", raw)
    rest = blank(raw, [*spans, (0, verb.end()) if verb else None])
    location = None
    if quoted:
        title = quoted[1].strip()
        rest = rest.replace(quoted[0], "\0")
    loc = re.search(_LOCATION, rest)
    if loc:
        location = (loc[1] or loc[2]).strip(" \0")
        location = re.sub(r"\s+(?:on|at|for|from|in|by|this|next)$", "", location)
        rest = rest[: loc.start()] + "\0" + rest[loc.end() :]
    if not quoted:
        title = tidy_title(rest.replace("\0", " "))
        if re.search(
            r"\b(?:and|then)\s+(?:move|rename|make|push|change|cancel|delete)\s+(?:it|that)\b|"
            r"\binstead\b|\brather than\b",
            title,
            re.I,
        ):
            return ask(NOT_UNDERSTOOD)
    if not title or not re.search(r"\w", title):
        if verb and not found:
            return ask(f"What should I add, and when? {cap(EXAMPLES)}.")
        title = "Event" if found.get("at") else ""
    if not title:
        return ask(NOT_UNDERSTOOD)
    if vague:
        return _which_day(title, vague[0], t)
    day = found.get("day") or now.date()
    at = found.get("at")
    if (
        not found.get("day")
        and at is not None
        and datetime.combine(day, at) < now.replace(tzinfo=None)
    ):
        day += timedelta(days=1)  # "standup at 9am" said at 4pm: the next 9am, not a past one
    if (
        found.get("at") is None
        and found.get("duration")
        and verb
        and re.match(r"(schedule|book|plan|block)", verb[0])
    ):
        return schedule_intent(raw, t, now)  # "schedule 1 hour for gym tomorrow": find the time
    if found.get("at") is None:
        return ask(
            f"At what time should I put “{title}” on {day:%a %d %b}? "
            f"For example: “{title} {day:%a} at 10am”."
        )
    return Intent(
        "create", title=title, location=location or None, day=day, at=found["at"],
        duration=found.get("duration"), end_at=found.get("end_at"),
    )  # fmt: skip


def _which_day(title: str, period: str, t: str) -> Intent:
    """The question for "lunch next week": which day of that period (nothing is added)."""
    routine = re.search(REPEATS, t)
    if routine:
        title = tidy_title(re.sub(REPEATS + r"(?:\s+(?:day|morning|evening|night|week))?", " ",
                                  title, flags=re.I)) or "Event"  # fmt: skip
    what = "it" if title == "Event" else f"“{title}”"
    day = {"week": "on Friday", "weekend": "on Saturday", "month": "on the 14th"}[
        re.findall(r"week(?:end)?|month", period)[-1]
    ]
    if period.startswith("next") and "week" in period and "weekend" not in period:
        day = "next Tuesday"
    hint = (
        "I add one event at a time; for a routine say for example “I meditate every day at 7am”. "
        if routine
        else ""
    )
    return ask(
        f"Which day {period} should I put {what} on? For example: “{title} {day} at 10am”. "
        f"{hint}Nothing was added."
    )
