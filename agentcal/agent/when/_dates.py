"""Dates: 'tomorrow', 'in 3 days', '2026-05-04', '3/12' (month first in the zones that write it
so), '12th of May', 'May 12', 'the 3rd', 'next Friday'. A date that does not exist ("April 31",
"the 32nd") is found and reported as an error, never replaced by another day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from agentcal.agent.when._words import MON, MONTHS, NUM, TOMORROW, WD, WEEKDAYS, Span, num

_ORD = r"(\d{1,2})(?:st|nd|rd|th)"


# Zones whose people write 3/12 for March 12 (elsewhere it is 3 December).
_MONTH_FIRST = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Phoenix", "America/Anchorage", "America/Detroit", "America/Boise",
    "America/Indiana", "America/Kentucky", "America/North_Dakota", "America/Toronto",
    "America/Vancouver", "America/Edmonton", "America/Winnipeg", "America/Halifax",
    "America/Regina", "America/St_Johns", "Pacific/Honolulu", "Asia/Manila", "US/",
)  # fmt: skip


def month_first(zone: str) -> bool:
    return zone.startswith(_MONTH_FIRST)


@dataclass(frozen=True)
class DateHit:
    day: date | None  # None with an error: the text names a date that does not exist
    span: Span
    error: str | None = None


def _month_day(today: date, month: int, day: int, year: int | None = None) -> date:
    if year is not None:
        return date(year, month, day)
    candidate = date(today.year, month, day)  # ValueError: no such day this year (29 Feb 2027)
    return candidate if candidate >= today else date(today.year + 1, month, day)


def _day_of_month(today: date, day: int) -> date:
    """The next `day`-th of a month, from today on."""
    if not 1 <= day <= 31:
        raise ValueError
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
    raise ValueError


def next_weekday(today: date, weekday: int, qualifier: str | None = None) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and qualifier != "this":
        ahead = 7
    return today + timedelta(days=ahead)


def _month_name(month: int) -> str:
    return date(2000, month, 1).strftime("%B")


def find_date(t: str, today: date, month_first: bool = False) -> DateHit | None:
    """The first date the text names, relative to `today`."""
    m = re.search(r"\b(?:the\s+)?day after (?:" + TOMORROW + r")\b", t)
    if m:
        return DateHit(today + timedelta(days=2), m.span())
    m = re.search(r"\b(today|tonight|this (?:morning|afternoon|evening))\b", t)
    if m:
        return DateHit(today, m.span())
    m = re.search(r"\b(?:" + TOMORROW + r")\b", t)
    if m:
        return DateHit(today + timedelta(days=1), m.span())
    m = re.search(r"\bin (" + NUM + r") (days?|weeks?)\b", t)
    if m:
        days = num(m[1]) * (7 if m[2].startswith("w") else 1)
        return DateHit(today + timedelta(days=int(days)), m.span())
    m = re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", t)
    if m:
        return _checked(m.span(), lambda: date(int(m[1]), int(m[2]), int(m[3])), m[0])
    m = re.search(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b", t)
    if m:
        a, b = int(m[1]), int(m[2])
        year = int(m[3]) + (2000 if m[3] and len(m[3]) == 2 else 0) if m[3] else None
        month, day = (a, b) if (month_first or b > 12) and a <= 12 else (b, a)
        return _checked(m.span(), lambda: _month_day(today, month, day, year), m[0])
    m = re.search(
        r"\b(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+(" + MON + r")\b", t
    )
    if m and not (m[2] == "may" and not re.match(r"\d+(st|nd|rd|th)", m[0].split()[-2])):
        month, day = MONTHS[m[2]], int(m[1])
        words = f"{_month_name(month)} {day}"
        return _checked(m.span(), lambda: _month_day(today, month, day), words)
    m = re.search(
        r"\b(?:on\s+)?(" + MON + r")\.?\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\b(?![:.]\d)", t
    )
    if m:
        month, day = MONTHS[m[1]], int(m[2])
        words = f"{_month_name(month)} {day}"
        return _checked(m.span(), lambda: _month_day(today, month, day), words)
    m = re.search(r"\b(?:on\s+)?(?:(?:" + WD + r")\s+)?the\s+" + _ORD + r"\b", t) or re.search(
        r"\bon\s+" + _ORD + r"\b", t
    )
    if m:
        day = int(m[1])
        return _checked(m.span(), lambda: _day_of_month(today, day), f"day {day} of a month")
    m = re.search(r"\b(?:(next|this|on|coming)\s+)?(" + WD + r")\b(?!-)", t)
    if m:
        return DateHit(next_weekday(today, WEEKDAYS[m[2]], m[1]), m.span())
    return None


def _checked(span: Span, make, words: str) -> DateHit:  # type: ignore[no-untyped-def]
    try:
        return DateHit(make(), span)
    except ValueError:
        return DateHit(None, span, f"there is no {words}")
