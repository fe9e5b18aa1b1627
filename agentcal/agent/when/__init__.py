"""Dates, times, ranges, durations and day sets in the English people type to a calendar.

Stdlib only (imported by `chat -m` and `events add`). Every finder takes the lower-cased
message and returns its value with the span it matched, so the caller can cut what it used
and keep the rest as a title. A date that does not exist ("April 31", "the 32nd") is found
and reported as an error, never replaced by another day.

Conventions: a weekday means its next occurrence after today ("this <day>" may be today); a
bare hour (no am/pm) is read as people mean it: 1 to 7 is in the afternoon or evening ("meet
at 4", "am I free at 3?"), except in a morning sentence ("after I wake up at 6") or, for 7, an
early activity ("run at 7"); 8 to 11 is in the morning unless the sentence says evening
("dinner at 8"). Morning, afternoon, evening and tonight are windows with a usual time
(`PARTS_OF_DAY`).

The finders live in small private modules (`_dates`, `_clock`, `_lengths`, `_repeats`, and the
shared `_words`); this is their public surface.
"""

from __future__ import annotations

from agentcal.agent.when._clock import (
    bare_hour,
    find_range,
    find_time,
    minutes_between,
    parse_clock,
)
from agentcal.agent.when._dates import DateHit, find_date, month_first, next_weekday
from agentcal.agent.when._lengths import find_duration, find_offset, find_shift
from agentcal.agent.when._repeats import find_days, find_interval
from agentcal.agent.when._words import (
    MONTHS,
    NUM,
    NUMBERS,
    PARTS_OF_DAY,
    TOMORROW,
    WEEKDAYS,
    Span,
    lower,
    num,
)

__all__ = [
    "MONTHS",
    "NUM",
    "NUMBERS",
    "PARTS_OF_DAY",
    "TOMORROW",
    "WEEKDAYS",
    "DateHit",
    "Span",
    "bare_hour",
    "find_date",
    "find_days",
    "find_duration",
    "find_interval",
    "find_offset",
    "find_range",
    "find_shift",
    "find_time",
    "lower",
    "minutes_between",
    "month_first",
    "next_weekday",
    "num",
    "parse_clock",
]
