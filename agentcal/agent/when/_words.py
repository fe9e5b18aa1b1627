"""The words the date and time finders share: weekday, month and number names, the parts of
the day, and `Span` (where in the message a finder matched)."""

from __future__ import annotations

from datetime import time

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
WD = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
MON = "|".join(sorted(MONTHS, key=len, reverse=True))
NUM = r"\d+(?:\.\d+)?|" + "|".join(sorted(NUMBERS, key=len, reverse=True))
TOMORROW = r"tomorrow|tmrw|tmw|tmr|tomoz|2morrow"


def num(word: str) -> float:
    word = " ".join(word.strip().lower().split())
    return float(NUMBERS[word]) if word in NUMBERS else float(word)


def lower(text: str) -> str:
    """Lower-case without changing the length (so spans stay valid on the original)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
