"""Questions about the calendar: what is on (a day, a week, the next N days) and whether the
user is free (a window, or the free time of a working day)."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from agentcal.agent import when
from agentcal.agent.intents import Intent, ask, blank, cap, midnight
from agentcal.agent.when import PARTS_OF_DAY


def list_intent(t: str, now: datetime) -> Intent:
    tz, today = now.tzinfo, now.date()
    m = re.search(r"\bnext (" + when.NUM + r"|few|couple(?: of)?) (days?|weeks?)\b", t)
    if m:
        n = {"few": 3, "couple": 2, "couple of": 2}.get(m[1]) or int(when.num(m[1]))
        days = n * (7 if m[2].startswith("w") else 1)
        return _list(midnight(today, tz), days)
    if re.search(r"\bweekend\b", t):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:
            saturday = today - timedelta(days=1)
        start = max(midnight(saturday, tz), midnight(today, tz))
        return Intent(
            "list", range_start=start, range_end=midnight(saturday + timedelta(days=2), tz)
        )
    if re.search(r"\bnext week\b", t):
        monday = today + timedelta(days=7 - today.weekday())
        return _list(midnight(monday, tz), 7)
    if re.search(r"\b(this week|my week|the week|rest of the week|week)\b", t):
        return _list(midnight(today, tz), 7 - today.weekday())
    if re.search(r"\b(this month|the month)\b", t):
        first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        return _list(midnight(today, tz), (first - today).days)
    hit = when.find_date(t, today)
    if hit is not None and hit.error:
        return ask(f"{cap(hit.error)}. Which day did you mean?")
    day = hit.day if hit is not None and hit.day else today
    return _list(midnight(day, tz), 1)


def _list(start: datetime, days: int) -> Intent:
    end = midnight(start.date() + timedelta(days=days), start.tzinfo)
    return Intent("list", range_start=start, range_end=end)


def free_intent(t: str, now: datetime) -> Intent:
    """'am I free tuesday afternoon?' -> the window to look at; 'when am I free' -> a day."""
    tz, today = now.tzinfo, now.date()
    hit = when.find_date(t, today)
    if hit is not None and hit.error:
        return ask(f"{cap(hit.error)}. Which day did you mean?")
    day = hit.day if hit is not None and hit.day else today
    rest = blank(t, [hit.span] if hit else [])
    duration, _ = when.find_duration(rest)
    rng = when.find_range(rest, t)
    at, _ = when.find_time(rest, t)
    part = re.search(r"\b(morning|afternoon|evening|tonight|night)\b", t)
    if rng is not None:
        lo, hi = rng[0], rng[1]
    elif at is not None:
        lo = at
        hi = (datetime.combine(day, at) + timedelta(minutes=duration or 60)).time()
        if hi <= lo:
            hi = time(23, 59)
    elif part is not None:
        lo, hi, _usual = PARTS_OF_DAY[part[1]]
    else:  # the whole day: list it all, answer with the free time of the working day
        return Intent(
            "free", day=day, range_start=midnight(day, tz),
            range_end=midnight(day + timedelta(days=1), tz), duration=duration,
        )  # fmt: skip
    return Intent(
        "free", day=day, at=lo, end_at=hi, duration=duration,
        range_start=datetime.combine(day, lo, tzinfo=tz),
        range_end=datetime.combine(day, hi, tzinfo=tz),
    )  # fmt: skip
