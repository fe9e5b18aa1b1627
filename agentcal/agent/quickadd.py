"""The offline model's understanding of English: dates, times, durations, habits and intents.

Deliberately small and predictable, in the spirit of Google Calendar's quick-add. `parse`
turns one user message into an `Intent`; the offline model turns intents into tool calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thurs": 3, "friday": 4, "fri": 4, "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
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
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty-five": 45, "forty five": 45, "ninety": 90,
}  # fmt: skip
PARTS_OF_DAY = {
    "morning": (time(8), time(12)),
    "afternoon": (time(12), time(17)),
    "evening": (time(17), time(21)),
    "tonight": (time(18), time(23)),
}
_WD = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MON = "|".join(sorted(MONTHS, key=len, reverse=True))
_NUM = r"\d+(?:\.\d+)?|" + "|".join(sorted(NUMBERS, key=len, reverse=True))

# (keywords, preference type, category, key, default duration, default time)
HABITS = [
    (("gym", "work out", "workout", "exercise", "run ", "running", "swim", "yoga"),
     "gym", "health", "gym_time", 60, "07:00"),
    (("sleep", "go to bed", "bedtime", "in bed"), "sleep", "health", "sleep_time", 480, "23:00"),
    (("focus", "deep work"), "focus", "work", "focus_time", 120, "09:00"),
    (("meditat",), "meditation", "health", "meditation_time", 20, "07:00"),
    (("lunch",), "meal", "personal", "lunch_time", 60, "12:30"),
    (("breakfast",), "meal", "personal", "breakfast_time", 30, "08:00"),
    (("dinner",), "meal", "personal", "dinner_time", 60, "19:30"),
    (("break", "walk"), "break", "health", "break_time", 15, "15:00"),
]  # fmt: skip


@dataclass
class Intent:
    kind: str  # create list search move rename resize cancel schedule insight help
    title: str | None = None
    target: str | None = None  # words naming an existing event, or "#id"
    event_id: int | None = None
    day: date | None = None
    at: time | None = None
    duration: int | None = None
    end_at: time | None = None
    range_start: datetime | None = None
    range_end: datetime | None = None
    insight: dict[str, Any] = field(default_factory=dict)


def _num(word: str) -> float:
    word = word.strip().lower()
    return float(NUMBERS[word]) if word in NUMBERS else float(word)


# ------------------------------------------------------------------------------------------
# Dates, times and durations. Each finder returns the value and the matched span to remove.
# ------------------------------------------------------------------------------------------
def find_date(text: str, today: date) -> tuple[date | None, list[tuple[int, int]]]:
    t = text.lower()
    patterns: list[tuple[str, Any]] = [
        (r"\b(the\s+)?day after tomorrow\b", lambda m: today + timedelta(days=2)),
        (r"\b(today|tonight)\b", lambda m: today),
        (r"\btomorrow\b", lambda m: today + timedelta(days=1)),
        (r"\bin (" + _NUM + r") days?\b", lambda m: today + timedelta(days=int(_num(m[1])))),
        (r"\bin a week\b", lambda m: today + timedelta(days=7)),
        (r"\b(\d{4})-(\d{2})-(\d{2})\b", lambda m: date(int(m[1]), int(m[2]), int(m[3]))),
        (r"\b(?:on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?(?: of)? (" + _MON + r")\b",
         lambda m: _month_day(today, MONTHS[m[2]], int(m[1]))),
        (r"\b(?:on\s+)?(" + _MON + r")\.? (\d{1,2})(?:st|nd|rd|th)?\b",
         lambda m: _month_day(today, MONTHS[m[1]], int(m[2]))),
        (r"\b(?:(next|this|on|coming)\s+)?(" + _WD + r")\b",
         lambda m: _weekday(today, WEEKDAYS[m[2]], m[1])),
    ]  # fmt: skip
    for pattern, make in patterns:
        m = re.search(pattern, t)
        if m:
            try:
                return make(m), [m.span()]
            except ValueError:
                continue
    return None, []


def _month_day(today: date, month: int, day: int) -> date:
    candidate = date(today.year, month, day)
    return candidate if candidate >= today else date(today.year + 1, month, day)


def _weekday(today: date, weekday: int, qualifier: str | None) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and qualifier != "this":
        ahead = 7
    return today + timedelta(days=ahead)


_TIME_AMPM = r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)"
_TIME_24 = r"\b([01]?\d|2[0-3])[:h]([0-5]\d)\b"


def find_time(text: str) -> tuple[time | None, list[tuple[int, int]]]:
    t = text.lower()
    m = re.search(r"(?:\bat\s+)?" + _TIME_AMPM, t)
    if m:
        hour, minute = int(m[1]) % 12, int(m[2] or 0)
        if m[3].startswith("p"):
            hour += 12
        return time(hour, minute), [m.span()]
    m = re.search(r"(?:\bat\s+)?" + _TIME_24, t)
    if m:
        return time(int(m[1]), int(m[2])), [m.span()]
    m = re.search(r"\b(?:at\s+)?(noon|midday|midnight)\b", t)
    if m:
        return (time(0) if m[1] == "midnight" else time(12)), [m.span()]
    m = re.search(r"\bat (\d{1,2})\b(?!\s*(?:min|hour|h\b|day|%))", t)
    if m and 1 <= int(m[1]) <= 12:
        hour = int(m[1])
        evening = re.search(r"\b(evening|tonight|night|afternoon)\b", t)
        if hour < 8 or (evening and hour < 12):
            hour = hour % 12 + 12
        return time(hour % 24), [m.span()]
    return None, []


def find_duration(text: str) -> tuple[int | None, list[tuple[int, int]]]:
    t = text.lower()
    unit = r"(hours?|hrs?|h|minutes?|mins?|m)\b"
    patterns = [
        r"\bfor (an|one|a) hour and a half\b",
        r"\bfor (" + _NUM + r")\s*h(?:ours?)?\s*(?:and\s*)?(\d+)\s*m(?:in(?:ute)?s?)?\b",
        r"\bfor (?:an? )?half(?: an)? hour\b",
        r"\b(?:for|lasting|of) (" + _NUM + r")\s*" + unit,
        r"\b(" + _NUM + r")[\s-]*(hours?|hour|minutes?|minute|mins?|min)\b(?:\s*(?:long|of))?",
        r"\b(?:an?|one) (?:free |spare |whole )?hour\b",
    ]
    for index, pattern in enumerate(patterns):
        m = re.search(pattern, t)
        if not m:
            continue
        if index == 0:
            minutes: float = 90
        elif index == 1:
            minutes = _num(m[1]) * 60 + int(m[2])
        elif index == 2:
            minutes = 30
        elif index == 5:
            minutes = 60
        else:
            amount, word = _num(m[1]), m[2]
            minutes = amount * 60 if word.startswith("h") else amount
        return round(minutes), [m.span()]
    return None, []


def find_range(text: str) -> tuple[time | None, time | None, list[tuple[int, int]]]:
    """'from 2pm to 4pm', '2-4pm', 'between 14:00 and 15:30'."""
    t = text.lower()
    tm = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?"
    m = re.search(
        r"\b(?:from|between)?\s*" + tm + r"\s*(?:-|–|to|and|until|till)\s*" + tm + r"\b", t
    )
    if not m or not (m[3] or m[6] or m[2] or m[5]):
        return None, None, []
    end_mer = m[6]
    start_mer = m[3] or end_mer
    try:
        start = _clock(int(m[1]), int(m[2] or 0), start_mer)
        end = _clock(int(m[4]), int(m[5] or 0), end_mer)
    except ValueError:
        return None, None, []
    if end <= start and not m[3] and end_mer == "pm":
        start = _clock(int(m[1]), int(m[2] or 0), "am")
    return start, end, [m.span()]


def _clock(hour: int, minute: int, meridiem: str | None) -> time:
    if meridiem:
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    return time(hour, minute)


def find_days(text: str) -> tuple[list[int] | None, bool]:
    """Days of the week (1=Mon..7=Sun) a habit happens on; (None, True) means every day."""
    t = text.lower()
    if re.search(r"\b(weekdays?|workdays?|work days|mon(day)?\s*(-|to|through)\s*fri(day)?)\b", t):
        return [1, 2, 3, 4, 5], True
    if re.search(r"\bweekends?\b", t):
        return [6, 7], True
    found = [
        WEEKDAYS[w] + 1
        for w in re.findall(r"\b(" + _WD + r")s?\b", t)
        if w in WEEKDAYS and not (w == "sun" and "sunrise" in t)
    ]
    if found:
        return sorted(set(found)), True
    if re.search(r"\b(every|each|daily|nightly|always|usually|most)\b", t):
        return None, True
    return None, False


# ------------------------------------------------------------------------------------------
# Intents
# ------------------------------------------------------------------------------------------
CREATE = r"^(?:please\s+)?(?:can you\s+)?(?:add|create|schedule|book|put|set up|make|plan|new)\b"
FIND_SLOT = (
    r"\b(find|need|get)\b.*\b(slot|time|free|room)\b|\bfind me\b|\bsomewhere\b|"
    r"^i (?:need|want) (?:\d+|an?|\w+) ?(?:minutes?|mins?|hours?)\b"
)
LIST = r"\b(what'?s|what is|what do i have|show|list|agenda|calendar for|do i have|my day|my week|events)\b"
SEARCH = r"^(?:search|find|look up|where is|when is|when's)\b"
MOVE = r"^(?:please\s+)?(?:move|reschedule|push|shift|postpone|bring forward|change)\b"
RENAME = r"^(?:please\s+)?(?:rename|retitle|call)\b"
RESIZE = r"^(?:please\s+)?(?:make|extend|shorten|resize|change the length of)\b"
CANCEL = r"^(?:please\s+)?(?:cancel|delete|remove|drop|clear|scrap)\b"
HABIT = (
    r"^(?:i|i'm|i am|i've|my)\b.*\b(every|each|daily|nightly|usually|always|weekdays?|weekends?|"
    r"mornings?|evenings?|nights?|sleep|go to bed|want|would like|need|like to|prefer|try to|"
    r"don'?t|never|no|avoid|"
    r"mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays)\b"
)
FILLER = (
    r"\b(please|can you|could you|for me|my|the|an?|on|at|in|from|to|event|appointment called)\b"
)


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    for a, b in sorted(spans, reverse=True):
        text = text[:a] + " " + text[b:]
    return text


def _tidy_title(words: str) -> str:
    words = re.sub(r"[?!.,;]+$", "", words.strip())
    words = re.sub(
        r"^(?:(?:an?|the|my|some|me|for|called|named|titled|event|entry)\s+)+",
        "",
        words,
        flags=re.I,
    )
    words = re.sub(r"\s+(?:on|at|for|from|in|this|next|the|of)$", "", words.strip(), flags=re.I)
    words = re.sub(r"\s{2,}", " ", words).strip(" ,-'\"")
    return words[:1].upper() + words[1:] if words else ""


def _target(text: str) -> tuple[str | None, int | None]:
    m = re.search(r"(?:#|\bevent\s+(?:#\s*)?|\bid\s+)(\d+)\b", text, flags=re.I)
    if m:
        return None, int(m[1])
    words = re.sub(FILLER, " ", text.lower())
    words = re.sub(r"\b(meeting|appointment|event|session)s?\b", lambda m: m[0], words)
    words = re.sub(r"[^\w\s'-]", " ", words)
    return (" ".join(words.split()) or None), None


def parse(text: str, now: datetime) -> Intent:
    """One user message -> what the user wants; `now` is aware, in the user's zone."""
    raw = " ".join(text.strip().split())
    low = raw.lower()
    today = now.date()

    if re.search(HABIT, low) and not re.search(r"\b(tomorrow|today|tonight)\b", low):
        habit = parse_habit(raw)
        if habit is not None:
            return Intent("insight", insight=habit)

    if re.search(CANCEL, low):
        rest = re.sub(CANCEL, "", low, count=1)
        day, dspans = find_date(rest, today)
        at, tspans = find_time(rest)
        target, event_id = _target(_cut(rest, dspans + tspans))
        return Intent("cancel", target=target, event_id=event_id, day=day, at=at)

    if re.search(RENAME, low):
        m = re.search(
            r"^(?:please\s+)?(?:rename|retitle|call)\s+(.+?)\s+(?:to|as)\s+(.+)$", raw, re.I
        )
        if m:
            target, event_id = _target(m[1])
            return Intent("rename", target=target, event_id=event_id, title=_tidy_title(m[2]))

    if re.search(MOVE, low):
        m = re.search(
            r"^(?:please\s+)?\w+(?:\s+forward)?\s+(.+?)\s+(?:to|until|till|by)\s+(.+)$", low
        )
        if m:
            day, _ = find_date(m[2], today)
            at, _ = find_time(m[2])
            duration, _ = find_duration(m[2])
            target, event_id = _target(m[1])
            if day or at:
                return Intent(
                    "move", target=target, event_id=event_id, day=day, at=at, duration=duration
                )

    if re.search(RESIZE, low) and re.search(r"\b(long|longer|shorter|last|minutes?|hours?)\b", low):
        duration, dspans = find_duration(low)
        if duration:
            rest = re.sub(RESIZE, "", _cut(low, dspans), count=1)
            rest = re.sub(r"\b(last|long|longer|shorter|to|be)\b", " ", rest)
            target, event_id = _target(rest)
            return Intent("resize", target=target, event_id=event_id, duration=duration)

    if re.search(FIND_SLOT, low):
        return _schedule_intent(raw, now)

    if re.search(SEARCH, low):
        query = re.sub(SEARCH, "", low, count=1)
        query = re.sub(
            r"\b(for|events?|about|with|my|the|me|calendar|matching|anything)\b", " ", query
        )
        query = re.sub(r"[?!.]", " ", query)
        if query.split():
            return Intent("search", target=" ".join(query.split()))

    if re.search(CREATE, low):
        return _create_intent(raw, now)

    if re.search(LIST, low):
        return _list_intent(low, now)

    # "Dentist tomorrow at 3pm": a title with a date and time is a quick add.
    day, _ = find_date(low, today)
    at, _ = find_time(low)
    if day and at:
        return _create_intent(raw, now)
    return Intent("help")


def _create_intent(raw: str, now: datetime) -> Intent:
    low = raw.lower()
    day, dspans = find_date(low, now.date())
    start, end, rspans = find_range(low)
    at, tspans = (start, rspans) if start else find_time(low)
    duration, uspans = find_duration(low)
    part = re.search(r"\b(?:in the\s+|this\s+)?(morning|afternoon|evening)\b", low)
    spans = dspans + rspans + tspans + uspans + ([part.span()] if part else [])
    if at is None and part:
        at = PARTS_OF_DAY[part[1]][0]
    rest = re.sub(CREATE, "", _cut(raw, spans), count=1, flags=re.I)
    rest = re.sub(r"\b(at|on|for|from)\s*$", "", rest.strip(), flags=re.I)
    title = _tidy_title(re.sub(r"\s+(?:at|on|for)\s+(?=$|\s)", " ", rest)) or "Event"
    return Intent(
        "create", title=title, day=day or now.date(), at=at, duration=duration, end_at=end
    )


def _list_intent(low: str, now: datetime) -> Intent:
    tz = now.tzinfo
    today = datetime.combine(now.date(), time(0), tzinfo=tz)
    if re.search(r"\bnext week\b", low):
        start = today + timedelta(days=7 - now.weekday())
        return Intent("list", range_start=start, range_end=start + timedelta(days=7))
    if re.search(r"\b(this week|my week|the week|week)\b", low):
        return Intent(
            "list", range_start=today, range_end=today + timedelta(days=7 - now.weekday())
        )
    day, _ = find_date(low, now.date())
    start = datetime.combine(day, time(0), tzinfo=tz) if day else today
    return Intent("list", range_start=start, range_end=start + timedelta(days=1))


def _schedule_intent(raw: str, now: datetime) -> Intent:
    low = raw.lower()
    duration, uspans = find_duration(low)
    day, dspans = find_date(low, now.date())
    start, end, rspans = find_range(low)
    part = re.search(r"\b(morning|afternoon|evening|tonight)\b", low)
    if start and end:
        lo, hi = start, end
    elif part:
        lo, hi = PARTS_OF_DAY[part[1]]
    else:
        lo, hi = time(9), time(18)
    if day is None:
        day = now.date() if now.time() < hi else now.date() + timedelta(days=1)
    tz = now.tzinfo
    window_start = max(datetime.combine(day, lo, tzinfo=tz), now.replace(second=0, microsecond=0))
    window_end = datetime.combine(day, hi, tzinfo=tz)
    m = re.search(
        r"\bfor (?:an? |the |my )?(?!\d)([a-z][\w' -]*?)(?=\s+(?:today|tomorrow|on|next|this|in|at|between|from|\d)|[?.!]?$)",
        low,
    )
    title = _tidy_title(m[1]) if m and not re.match(r"(an? )?(hour|half)", m[1]) else ""
    if not title:
        rest = _cut(low, uspans + dspans + rspans + ([part.span()] if part else []))
        rest = re.sub(
            r"\b(find|me|a|an|free|slot|time|some|get|need|i|to|of|for|somewhere|in the|this)\b",
            " ",
            rest,
        )
        title = _tidy_title(re.sub(r"[?!.]", " ", rest)) or "Busy"
    return Intent(
        "schedule", title=title, duration=duration or 30, day=day,
        range_start=window_start, range_end=window_end,
    )  # fmt: skip


def parse_habit(raw: str) -> dict[str, Any] | None:
    """A habit/preference statement -> the seed's insight body, or None."""
    low = raw.lower()
    if re.search(r"\b(no|don'?t|never|avoid)\b.*\bmeetings?\b", low):
        at, _ = find_time(low)
        if at is None:
            return None
        direction = "after" if re.search(r"\bafter\b", low) else "before"
        return {
            "insight_type": "constraint", "category": "meetings",
            "key": f"no_meetings_{direction}", "value": {"time": at.strftime("%H:%M")},
            "confidence": 0.9,
        }  # fmt: skip
    for keywords, _ptype, category, key, default_minutes, default_time in HABITS:
        if not any(k in low + " " for k in keywords):
            continue
        at, _ = find_time(low)
        start, end, _ = find_range(low)
        duration, _ = find_duration(low)
        m = re.search(r"\b(" + _NUM + r")\s*hours? of\b", low)
        if m:
            duration = int(_num(m[1]) * 60)
        if start and end:
            at = start
            duration = duration or _minutes_between(start, end)
        if at is None:
            part = re.search(r"\b(morning|afternoon|evening)\b", low)
            if part is None and key not in ("focus_time", "sleep_time"):
                at = time.fromisoformat(default_time)
            else:
                at = PARTS_OF_DAY[part[1]][0] if part else time.fromisoformat(default_time)
                if part and key == "focus_time":
                    at = time(9) if part[1] == "morning" else at
        days, _regular = find_days(low)
        value: dict[str, Any] = {
            "time": at.strftime("%H:%M"),
            "duration_minutes": duration or default_minutes,
        }
        if days:
            value["days"] = days
        wants = re.search(r"\b(want|would like|need|plan|try to|trying to|aim)\b", low)
        prefers = re.search(r"\b(prefer|like to|rather)\b", low)
        insight_type = "goal" if wants else "preference" if prefers else "habit"
        hedged = re.search(r"\b(usually|mostly|often|try|sometimes)\b", low)
        return {
            "insight_type": insight_type, "category": category, "key": key, "value": value,
            "confidence": 0.7 if hedged else 0.9,
        }  # fmt: skip
    return None


def _minutes_between(a: time, b: time) -> int:
    minutes = (b.hour * 60 + b.minute) - (a.hour * 60 + a.minute)
    return minutes if minutes > 0 else minutes + 24 * 60


def local_now(tz: str, now: datetime | None = None) -> datetime:
    from datetime import UTC

    return (now or datetime.now(UTC)).astimezone(ZoneInfo(tz))
