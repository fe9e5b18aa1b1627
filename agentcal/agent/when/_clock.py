"""Clock times and time ranges: '10am', '10:30 pm', '14:00', 'noon', 'at 4' (a bare hour read
from the sentence around it: `bare_hour`), '7 in the evening'; 'from 2pm to 4pm', '2-4pm',
'9 to 11'."""

from __future__ import annotations

import re
from datetime import time

from agentcal.agent.when._words import Span

# "am"/"pm" count only after a number: the "am" of "am I free at 3?" says nothing about 3.
EVENING_WORDS = (
    r"\b(evenings?|tonight|nights?|dinner|supper|drinks|party|bed|bedtime|sleep)\b|\d\s*p\.?m\b"
)
MORNING_WORDS = (
    r"\b(mornings?|breakfast|wake|wakes|woke|waking|(?:get|gets|got|getting|am|i'?m) up|"
    r"before work|commute|sunrise)\b|\d\s*a\.?m\b"
)
# Things people do early: a bare 7 with one of them is 7am ("run at 7"); otherwise 7pm.
EARLY_WORDS = (
    r"\b(runs?|running|jog\w*|swim\w*|gym|work ?outs?|exercise|yoga|meditat\w*|stretch\w*|"
    r"cycl\w*|bike|school run|walk the dog)\b"
)


def bare_hour(hour: int, minute: int, context: str) -> time:
    """An hour said without am/pm, read from the sentence around it."""
    if hour >= 13 or hour == 0:
        return time(hour % 24, minute)
    if hour == 12:
        return time(0 if re.search(r"\bmidnight\b", context) else 12, minute)
    if re.search(MORNING_WORDS, context):
        return time(hour, minute)
    if re.search(EVENING_WORDS, context) or re.search(r"\bafternoons?\b", context) or hour <= 6:
        return time(hour + 12, minute)
    if hour == 7 and not re.search(EARLY_WORDS, context):
        return time(19, minute)
    return time(hour, minute)


_AMPM = r"(a\.?m\.?|p\.?m\.?)"


def _meridiem(hour: int, minute: int, mer: str) -> time:
    if not 1 <= hour <= 12:
        raise ValueError
    return time(hour % 12 + (12 if mer.startswith("p") else 0), minute)


def find_time(t: str, context: str | None = None) -> tuple[time | None, Span | None]:
    """A clock time: 10am, 10:30 pm, 14:00, noon, 'at 10', '7 in the evening'."""
    context = t if context is None else context
    m = re.search(
        r"(?:\bat\s+|\baround\s+|\babout\s+|\bby\s+|@\s*)?\b(\d{1,2})(?:[:.](\d{2}))?\s*"
        + _AMPM
        + r"(?![a-z])",
        t,
    )
    if m:
        try:
            return _meridiem(int(m[1]), int(m[2] or 0), m[3]), m.span()
        except ValueError:
            pass
    m = re.search(r"\b(?:at\s+|around\s+|about\s+)?([01]?\d|2[0-3])(?::|h(?=\d))([0-5]\d)\b", t)
    if m:
        hour, minute = int(m[1]), int(m[2])
        value = time(hour, minute) if hour >= 13 or m[1].startswith("0") else None
        return value or bare_hour(hour, minute, context), m.span()
    m = re.search(r"\b(?:at\s+|around\s+|about\s+|by\s+)?(noon|midday|midnight|lunchtime)\b", t)
    if m:
        return (time(0) if m[1] == "midnight" else time(12)), m.span()
    m = re.search(
        r"\b(\d{1,2})\s+(?:o'?clock\s+)?(in the (?:morning|afternoon|evening)|at night|tonight)\b",
        t,
    )
    if m and 1 <= int(m[1]) <= 12:
        return bare_hour(int(m[1]), 0, m[2]), m.span()
    m = re.search(
        r"\b(?:at|around|about|@)\s+(\d{1,2})(?:\s*o'?clock)?\b(?!\s*(?:min|hour|hr|h\b|day|week|%|/|-|\.\d|st\b|nd\b|rd\b|th\b|people|of\b))",
        t,
    )
    if m and 1 <= int(m[1]) <= 12:
        return bare_hour(int(m[1]), 0, context), m.span()
    return None, None


def parse_clock(text: str, context: str = "") -> time | None:
    """A whole phrase that is only a time: '11', '5pm', '9:45', 'noon'."""
    t = text.strip().lower()
    m = re.fullmatch(r"(?:at\s+)?(\d{1,2})(?::(\d{2}))?", t)
    if m and int(m[1]) <= 23 and int(m[2] or 0) <= 59:
        hour, minute = int(m[1]), int(m[2] or 0)
        return (
            time(hour, minute)
            if hour >= 13 or m[1].startswith("0")
            else bare_hour(hour, minute, context)
        )
    value, span = find_time(t, context or t)
    return value if span is not None and span == (0, len(t)) else None


# Ranges: 'from 2pm to 4pm', '2-4pm', '9 to 11', 'between 14:00 and 15:30', '12-1'
_T = r"(\d{1,2})(?::(\d{2})|\.(\d{2})(?=\s*[ap]))?\s*" + _AMPM + r"?"


def find_range(t: str, context: str | None = None) -> tuple[time, time, Span] | None:
    context = t if context is None else context
    m = re.search(
        r"\b(from\s+|between\s+)?"
        + _T
        + r"\s*(?:-|–|to|and|until|till)\s*"
        + _T
        + r"(?![\d:/.]|\s*(?:min|hour|hr|day|week|people))",
        t,
    )
    if not m:
        return None
    lead, h1, m1, d1, mer1, h2, m2, d2, mer2 = m.groups()
    if m[0].strip().endswith(("to", "and")):
        return None
    timeish = mer1 or mer2 or m1 or m2 or lead
    words_between = re.search(r"\s(to|and|until|till)\s", m[0])
    if not timeish and not words_between and "-" not in m[0] and "–" not in m[0]:
        return None
    if not timeish and lead is None and re.search(r"\b(and|until|till)\b", m[0]):
        return None
    try:
        a_min, b_min = int(m1 or d1 or 0), int(m2 or d2 or 0)
        a_h, b_h = int(h1), int(h2)
        if a_h > 24 or b_h > 24:
            return None
        end = _meridiem(b_h, b_min, mer2) if mer2 else None
        if mer1:
            start = _meridiem(a_h, a_min, mer1)
        elif end is not None:
            start = (
                time(a_h % 12 + (12 if mer2.startswith("p") else 0), a_min)
                if a_h <= 12
                else time(a_h, a_min)
            )
            if start > end:
                start = time(a_h % 12, a_min)
        elif a_h >= 13 or h1.startswith("0"):
            start = time(a_h, a_min)
        else:
            start = bare_hour(a_h, a_min, context)
        if end is None:
            if b_h >= 13 or h2.startswith("0") or b_h == 0:
                end = time(b_h % 24, b_min)
            else:
                end = time(b_h, b_min)
                if end <= start and b_h < 12:
                    end = time(b_h + 12, b_min)
                if end <= start and start.hour >= 12:  # '11 to 7' at night: ends next morning
                    end = time(b_h, b_min)
    except ValueError:
        return None
    return start, end, m.span()


def minutes_between(a: time, b: time) -> int:
    minutes = (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)
    return minutes if minutes > 0 else minutes + 24 * 60
