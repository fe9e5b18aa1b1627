"""Lengths of time: durations ('for 45 minutes', 'an hour and a half'), offsets from now ('in 2
hours') and shifts of an event ('back 30 minutes', '2 days later')."""

from __future__ import annotations

import re
from datetime import timedelta

from agentcal.agent.when._words import NUM, Span, num

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
