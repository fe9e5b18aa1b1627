"""Booking free time: "block 90 minutes for writing tomorrow morning" -> a length, a window to
search and a title."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from agentcal.agent import when
from agentcal.agent.intents import WORKDAY, Intent, ask, blank, cap, tidy_title
from agentcal.agent.when import PARTS_OF_DAY

SCHEDULE = (
    r"^(?:block(?: out| off)?|find|carve out|make time|set aside|reserve|hold|fit in|squeeze in|"
    r"get me|i need|i want|i'd like)\b"
)


def schedule_intent(raw: str, t: str, now: datetime) -> Intent:
    tz, today = now.tzinfo, now.date()
    duration, uspan = when.find_duration(t)
    hit = when.find_date(t, today)
    if hit is not None and hit.error:
        return ask(f"{cap(hit.error)}; nothing was booked.")
    day = hit.day if hit is not None else None
    rest = blank(t, [uspan, hit.span if hit else None])
    rng = when.find_range(rest, t)
    part = re.search(
        r"\b(?:in the\s+|this\s+|on\s+\w+\s+)?(morning|afternoon|evening|tonight)\b", t
    )
    if rng is not None:
        lo, hi = rng[0], rng[1]
    elif part is not None:
        lo, hi, _usual = PARTS_OF_DAY[part[1]]
        if part[1] == "tonight":
            day = day or today
    else:
        lo, hi = time(9), WORKDAY[1]
    if re.search(r"\b(this (?:morning|afternoon|evening)|today|tonight)\b", t):
        day = today
    if day is None:
        day = today if now.time() < hi else today + timedelta(days=1)
    window_start = max(datetime.combine(day, lo, tzinfo=tz), now.replace(second=0, microsecond=0))
    window_end = datetime.combine(day, hi, tzinfo=tz)
    if window_end <= window_start:
        return ask(f"That time has already passed ({day:%a %d %b}); nothing was booked.")
    cut = blank(
        raw,
        [uspan, hit.span if hit else None, rng[2] if rng else None, part.span() if part else None],
    )
    cut = re.sub(SCHEDULE, " ", cut.replace("\0", " "), count=1, flags=re.I)
    cut = re.sub(r"\b(?:me|some|free|spare|a|an|slot|time|of)\b", " ", cut, flags=re.I)
    m = re.search(r"\b(?:for|to)\s+(\S.*)", cut, flags=re.I)
    who = re.search(r"\bwith\s+(\S.*)", cut, flags=re.I)
    if m:
        title = tidy_title(m[1])
    elif who:
        title = "Meeting with " + tidy_title(who[1])
    else:
        title = tidy_title(cut.replace("\0", " "))
    return Intent(
        "schedule", title=title or "Busy", duration=duration or 30, day=day,
        range_start=window_start, range_end=window_end,
    )  # fmt: skip
