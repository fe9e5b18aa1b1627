"""On which days a preference happens: its days of the week, every N weeks from its anchor.

Dates, not instants: the user's own calendar days, whatever DST does to their hours.
"""

from __future__ import annotations

from datetime import date, timedelta


def occurs_on(
    day: date, days: list[int] | None, every_weeks: int = 1, anchor: date | None = None
) -> bool:
    """Does a preference happen on `day`, a date in the user's own calendar? Dates, not
    instants: a week is seven calendar days whatever DST does to its hours."""
    if days and day.isoweekday() not in days:
        return False
    if anchor is None:
        return True
    if day < anchor:
        return False
    weeks = (_monday(day) - _monday(anchor)).days // 7
    return weeks % every_weeks == 0


def next_day_on(days: list[int] | None, today: date) -> date:
    """The first day from `today` on that is one of `days` (the default anchor)."""
    for ahead in range(7):
        day = today + timedelta(days=ahead)
        if not days or day.isoweekday() in days:
            return day
    raise AssertionError("days is a non-empty list of 1..7")


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())
