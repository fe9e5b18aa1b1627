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
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta

Span = tuple[int, int]

WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "weds": 2, "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
         ("december", "dec")]
    )
    for m in names
}  # fmt: skip
NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "forty-five": 45, "forty five": 45, "fifty": 50,
    "sixty": 60, "ninety": 90, "a couple of": 2, "couple of": 2, "a few": 3,
}  # fmt: skip
# name: (window start, window end, usual time)
PARTS_OF_DAY = {
    "morning": (time(6), time(12), time(9)),
    "afternoon": (time(12), time(18), time(14)),
    "evening": (time(17), time(22), time(18)),
    "tonight": (time(17), time(23, 59), time(19)),
    "night": (time(19), time(23, 59), time(20)),
}
_WD = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MON = "|".join(sorted(MONTHS, key=len, reverse=True))
NUM = r"\d+(?:\.\d+)?|" + "|".join(sorted(NUMBERS, key=len, reverse=True))
TOMORROW = r"tomorrow|tmrw|tmw|tmr|tomoz|2morrow"
_ORD = r"(\d{1,2})(?:st|nd|rd|th)"


def num(word: str) -> float:
    word = " ".join(word.strip().lower().split())
    return float(NUMBERS[word]) if word in NUMBERS else float(word)


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


def lower(text: str) -> str:
    """Lower-case without changing the length (so spans stay valid on the original)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


@dataclass(frozen=True)
class DateHit:
    day: date | None  # None with an error: the text names a date that does not exist
    span: Span
    error: str | None = None


# ------------------------------------------------------------------------------------------
# Dates
# ------------------------------------------------------------------------------------------
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
        r"\b(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?(?:\s+of)?\s+(" + _MON + r")\b", t
    )
    if m and not (m[2] == "may" and not re.match(r"\d+(st|nd|rd|th)", m[0].split()[-2])):
        month, day = MONTHS[m[2]], int(m[1])
        words = f"{_month_name(month)} {day}"
        return _checked(m.span(), lambda: _month_day(today, month, day), words)
    m = re.search(
        r"\b(?:on\s+)?(" + _MON + r")\.?\s+(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?\b(?![:.]\d)", t
    )
    if m:
        month, day = MONTHS[m[1]], int(m[2])
        words = f"{_month_name(month)} {day}"
        return _checked(m.span(), lambda: _month_day(today, month, day), words)
    m = re.search(r"\b(?:on\s+)?(?:(?:" + _WD + r")\s+)?the\s+" + _ORD + r"\b", t) or re.search(
        r"\bon\s+" + _ORD + r"\b", t
    )
    if m:
        day = int(m[1])
        return _checked(m.span(), lambda: _day_of_month(today, day), f"day {day} of a month")
    m = re.search(r"\b(?:(next|this|on|coming)\s+)?(" + _WD + r")\b(?!-)", t)
    if m:
        return DateHit(next_weekday(today, WEEKDAYS[m[2]], m[1]), m.span())
    return None


def _checked(span: Span, make, words: str) -> DateHit:  # type: ignore[no-untyped-def]
    try:
        return DateHit(make(), span)
    except ValueError:
        return DateHit(None, span, f"there is no {words}")


# ------------------------------------------------------------------------------------------
# Times
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# Ranges: 'from 2pm to 4pm', '2-4pm', '9 to 11', 'between 14:00 and 15:30', '12-1'
# ------------------------------------------------------------------------------------------
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


# ------------------------------------------------------------------------------------------
# Durations and offsets
# ------------------------------------------------------------------------------------------
_HOURS = r"(?:hours?|hrs?|h)"
_MINS = r"(?:minutes?|mins?|min|m)"


def find_duration(t: str) -> tuple[int | None, Span | None]:
    """A length: 'for 45 minutes', '2 hours', 'an hour and a half', '1h30', 'half an hour'."""
    patterns: list[tuple[str, object]] = [
        (r"\b(" + NUM + r")\s*" + _HOURS + r"\s*(?:and\s*)?(\d{1,2})\s*" + _MINS + r"\b",
         lambda m: num(m[1]) * 60 + int(m[2])),
        (r"\b(\d{1,2})h(\d{2})\b", lambda m: int(m[1]) * 60 + int(m[2])),
        (r"\b(?:an?|one) (?:hour and a half|and a half hours?)\b", lambda m: 90),
        (r"\b(" + NUM + r") and a half hours?\b", lambda m: num(m[1]) * 60 + 30),
        (r"\b(?:a\s+)?half(?:\s+an?)?\s+hour\b", lambda m: 30),
        (r"\b(?:a\s+)?quarter of an hour\b", lambda m: 15),
        (r"\b(" + NUM + r")[\s-]*" + r"(hours?|hrs?|h|minutes?|mins?|min)\b",
         lambda m: num(m[1]) * (60 if m[2].startswith("h") else 1)),
        (r"\b(\d+)m\b", lambda m: int(m[1])),
        (r"\b(?:an?|one)\s+(?:free\s+|spare\s+|whole\s+|full\s+)?hour\b", lambda m: 60),
    ]  # fmt: skip
    for pattern, make in patterns:
        m = re.search(pattern, t)
        if m:
            minutes = round(make(m))  # type: ignore[operator]
            if minutes > 0:
                return minutes, _widen(t, m.span())
    return None, None


def _widen(t: str, span: Span) -> Span:
    """Take 'for', 'lasting', 'of', 'long' around a duration with it."""
    a, b = span
    m = re.search(r"(?:\bfor|\blasting|\bof|\btakes|\bit takes)\s+$", t[:a])
    if m:
        a = m.start()
    m = re.match(r"\s+(?:long|of)\b", t[b:])
    if m:
        b += m.end()
    return a, b


def find_offset(t: str) -> tuple[timedelta | None, Span | None]:
    """'in 45 minutes', 'in 2 hours', 'in an hour': a moment from now."""
    m = re.search(r"\bin\s+(" + NUM + r"|half an)\s*(hours?|hrs?|h|minutes?|mins?|min)\b", t)
    if m:
        amount = 0.5 if m[1] == "half an" else num(m[1])
        unit = 60 if m[2].startswith("h") else 1
        return timedelta(minutes=amount * unit), m.span()
    m = re.search(r"\bin\s+(?:an?|one)\s+hour and a half\b", t)
    if m:
        return timedelta(minutes=90), m.span()
    return None, None


def find_shift(t: str) -> tuple[timedelta | None, Span | None]:
    """How far to move an event: 'back 30 minutes', 'by a week', 'forward an hour', '2 days later'."""
    amount = (
        r"(?:("
        + NUM
        + r")\s*(minutes?|mins?|min|hours?|hrs?|h|days?|weeks?)|(half an hour|an hour and a half|a day|a week|an hour))"
    )
    m = re.search(
        r"\b(back|later|forward|earlier|ahead|by|out)\s+(?:by\s+)?"
        + amount
        + r"(\s+(?:later|earlier))?",
        t,
    ) or re.search(amount + r"\s+(later|earlier|forward|back)\b", t)
    if not m:
        return None, None
    text = m[0]
    minutes = _amount_minutes(text)
    if minutes is None:
        return None, None
    sign = -1 if re.search(r"\b(forward|earlier|ahead)\b", text) else 1
    return timedelta(minutes=sign * minutes), m.span()


def _amount_minutes(text: str) -> float | None:
    if "half an hour" in text:
        return 30
    if "an hour and a half" in text:
        return 90
    m = re.search(r"(" + NUM + r")\s*(minutes?|mins?|min|hours?|hrs?|h|days?|weeks?)\b", text)
    if m:
        unit = {"m": 1, "h": 60, "d": 1440, "w": 10080}[m[2][0]]
        return num(m[1]) * unit
    for word, minutes in (("a day", 1440), ("a week", 10080), ("an hour", 60)):
        if word in text:
            return minutes
    return None


# ------------------------------------------------------------------------------------------
# Day sets for habits and recurring events
# ------------------------------------------------------------------------------------------
def find_days(t: str) -> tuple[list[int] | None, bool]:
    """Days of the week (1=Mon..7=Sun) something repeats on; (None, True) means every day."""
    if re.search(r"\b(weeknights?|school nights?)\b", t):
        return [1, 2, 3, 4, 5], True
    if re.search(
        r"\b(weekdays?|workdays?|work days|working days|mon(day)?\s*(-|to|through|thru)\s*fri(day)?)\b",
        t,
    ):
        return [1, 2, 3, 4, 5], True
    if re.search(r"\bweekends?\b", t):
        return [6, 7], True
    found = [WEEKDAYS[w] + 1 for w in re.findall(r"\b(" + _WD + r")(?:s|'s)?\b", t)]
    if found:
        return sorted(set(found)), True
    if re.search(r"\b(every|each|daily|nightly|always|usually|most|a day)\b", t):
        return None, True
    return None, False


_EVERY_NTH = {"other": 2, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}


def find_interval(t: str) -> tuple[int, Span | None]:
    """Every how many weeks something repeats (1 when the text does not say), and the words that
    say it: 'every other Wednesday', 'every second Thursday', 'every 3 weeks', 'biweekly',
    'fortnightly' -> 2 or 3. Day intervals ('every other day') and months are not weeks."""
    m = re.search(r"\b(?:every|each)\s+(" + NUM + r")\s+weeks\b", t)
    if m:
        return int(num(m[1])), m.span()
    m = re.search(
        r"\b(?:every|each)\s+(other|second|2nd|third|3rd|fourth|4th)(?:\s+week\b)?"
        r"(?=\s+(?:on\s+)?(?:(?:" + _WD + r")s?|weekends?|weekdays?|weeknights?|week)\b)",
        t,
    )
    if m:
        return _EVERY_NTH[m[1]], m.span()
    m = re.search(r"\b(?:bi-?weekly|fortnightly|(?:every|once a) fortnight)\b", t)
    if m:
        return 2, m.span()
    return 1, None
