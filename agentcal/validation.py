"""Validation shared by the services, the CLI and the agent's tools.

Each function returns the normalised value or raises `ValidationError` with a message a user
can act on.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date, datetime
from typing import Any

from agentcal.errors import ValidationError

# ASCII digits only: `\d` would take "06:0٥" (an Arabic-Indic five) and int() would read it.
_HHMM = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_DAY_NAMES = {
    "mon": 1, "monday": 1, "tue": 2, "tues": 2, "tuesday": 2, "wed": 3, "wednesday": 3,
    "thu": 4, "thur": 4, "thurs": 4, "thursday": 4, "fri": 5, "friday": 5,
    "sat": 6, "saturday": 6, "sun": 7, "sunday": 7,
}  # fmt: skip
_DAY_GROUPS = {
    "weekdays": [1, 2, 3, 4, 5],
    "weekday": [1, 2, 3, 4, 5],
    "weekends": [6, 7],
    "weekend": [6, 7],
}
MAX_KEY_LENGTH = 200
MAX_TITLE_LENGTH = 200
MAX_VALUE_BYTES = 64 * 1024
MAX_USER_ID_LENGTH = 128  # leaves room in file names (agentcal.user_files)
MAX_INTERVAL_WEEKS = 52
MAX_JSON_DEPTH = 20


def one_of(value: Any, allowed: tuple[str, ...], field: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(f"{field} must be one of {', '.join(allowed)} (got {value!r})")
    return value


def non_empty(value: Any, field: str, max_length: int = MAX_KEY_LENGTH) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be a non-empty string")
    value = value.strip()
    if len(value) > max_length:
        raise ValidationError(f"{field} is longer than {max_length} characters")
    if any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
        raise ValidationError(f"{field} must not contain control characters")
    if not is_text(value):
        raise ValidationError(f"{field} is not valid text (it holds a lone surrogate)")
    return value


def is_text(value: str) -> bool:
    """Whether `value` can be written out as UTF-8 (no lone surrogate: what Python makes of
    bytes that were not UTF-8 in argv or a file)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_row_id(value: Any) -> bool:
    """A whole number a stored row's id can be: 1 to 2**31 - 1 (ids are int32 on PostgreSQL, and
    a larger one would fail there with DataError instead of finding nothing)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def user_id(value: Any) -> str:
    """A user id: 1 to 128 characters, no control characters."""
    return non_empty(value, "user", MAX_USER_ID_LENGTH)


def confidence(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"confidence must be a number between 0 and 1 (got {value!r})")
    value = float(value)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValidationError(f"confidence must be between 0 and 1 (got {value})")
    return value


def json_value(value: Any, field: str = "value") -> Any:
    """A JSON-serialisable value, normalised through a JSON round trip."""
    return json.loads(json_text(value, field))


def json_text(value: Any, field: str = "value") -> str:
    """The JSON text (sorted keys) of a value `json_value` accepts, for writing it raw: JSON
    types only, finite numbers, at most MAX_JSON_DEPTH levels, text that is valid UTF-8."""
    _check_json(value, field, 0)
    try:
        text = json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(f"{field} must be JSON: {str(exc)[:100]}") from None
    if len(text.encode()) > MAX_VALUE_BYTES:
        raise ValidationError(f"{field} is larger than {MAX_VALUE_BYTES // 1024} KiB")
    return text


def _check_json(value: Any, field: str, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(f"{field} is nested deeper than {MAX_JSON_DEPTH} levels")
    if isinstance(value, str):
        if not is_text(value):
            raise ValidationError(f"{field} holds text that is not valid text (a lone surrogate)")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not is_text(key):
                raise ValidationError(f"{field} has a key that is not valid text")
            _check_json(item, field, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json(item, field, depth + 1)


def parse_json_text(text: str, field: str = "value") -> Any:
    """Parse JSON typed by a user (the CLI's --value); bare words become strings."""
    try:
        return json_value(load_json(text, field), field)
    except json.JSONDecodeError as exc:
        stripped = text.strip()
        if stripped and stripped[0] not in '{["' and not stripped[0].isdigit():
            return json_value(stripped, field)
        raise ValidationError(
            f"{field} is not valid JSON: {exc.msg} at column {exc.colno}"
        ) from None


def load_json(text: str, field: str) -> Any:
    """`json.loads`, with nesting too deep for the parser as a ValidationError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValidationError(f"{field} is nested deeper than {MAX_JSON_DEPTH} levels") from None


def insight_value(value: Any) -> Any:
    """An insight's value: any JSON value, whose scheduling fields, when present, are what the
    emitter needs (the same rules as `insight_preferences.spec_from_insight` applies later):
    time and end HH:MM, duration or duration_minutes 1..1440, days 1..7 or a phrase, title,
    priority 1..10, flexible/is_flexible true or false, a known preference_type."""
    from agentcal.vocab import PREFERENCE_TYPES

    value = json_value(value)
    if not isinstance(value, dict):
        return value
    checks: dict[str, Any] = {
        "time": lambda x: hhmm(x, "time"),
        "end": lambda x: hhmm(x, "end"),
        "duration": lambda x: duration_minutes(x, "duration"),
        "duration_minutes": lambda x: duration_minutes(x, "duration_minutes"),
        "days": days,
        "title": lambda x: non_empty(x, "title", MAX_TITLE_LENGTH),
        "priority": priority,
        "preference_type": lambda x: one_of(x, (*PREFERENCE_TYPES, "none"), "preference_type"),
    }
    for name, check in checks.items():
        if name in value:
            check(value[name])
    for name in ("flexible", "is_flexible"):
        if name in value and not isinstance(value[name], bool):
            raise ValidationError(f"{name} must be true or false (got {value[name]!r})")
    return value


def hhmm(value: Any, field: str = "start_time") -> str:
    if not isinstance(value, str) or not _HHMM.match(value.strip()):
        raise ValidationError(f"{field} must be a time as HH:MM, 00:00 to 23:59 (got {value!r})")
    hours, minutes = value.strip().split(":")
    return f"{int(hours):02d}:{minutes}"


def duration_minutes(value: Any, field: str = "duration_minutes") -> int:
    whole = isinstance(value, int) or (
        isinstance(value, float) and math.isfinite(value) and value.is_integer()
    )
    if isinstance(value, bool) or not whole:
        raise ValidationError(f"{field} must be a whole number of minutes (got {value!r})")
    value = int(value)  # an int of any size compares fine below; a float is whole
    if not 1 <= value <= 1440:
        raise ValidationError(f"{field} must be between 1 and 1440 minutes (got {value})")
    return value


def priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise ValidationError(
            f"priority must be a whole number from 1 (highest) to 10 (got {value!r})"
        )
    return value


def interval_weeks(value: Any, field: str = "interval_weeks") -> int:
    """Every how many weeks a preference repeats: 1 (every week) to 52."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be a whole number of weeks (got {value!r})")
    if not 1 <= value <= MAX_INTERVAL_WEEKS:
        raise ValidationError(
            f"{field} must be between 1 (every week) and {MAX_INTERVAL_WEEKS} (got {value})"
        )
    return value


def a_date(value: Any, field: str = "anchor_date") -> date | None:
    """A calendar date, given as a date or as YYYY-MM-DD text; None stays None."""
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(f"{field} must be a date as YYYY-MM-DD (got {value!r})")


def days(value: Any) -> list[int] | None:
    """Days of the week as a sorted list of 1 (Mon)..7 (Sun); None means every day."""
    if value is None:
        return None
    if isinstance(value, str):
        return parse_days(value)
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError(
            "days must be a non-empty list of 1 (Mon) to 7 (Sun), or null for daily"
        )
    out = set()
    for day in value:
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 7:
            raise ValidationError(f"days must be numbers from 1 (Mon) to 7 (Sun) (got {day!r})")
        out.add(day)
    return None if len(out) == 7 else sorted(out)


def parse_days(text: str) -> list[int] | None:
    """'mon-fri', 'weekdays', '1,3,5', 'sat,sun', 'daily' -> days list (None = daily)."""
    spec = text.strip().lower()
    if spec in ("", "daily", "every day", "everyday", "all", "null", "none"):
        return None
    if spec in _DAY_GROUPS:
        return list(_DAY_GROUPS[spec])
    out: set[int] = set()
    for part in re.split(r"[,\s]+", spec):
        if not part:
            continue
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day_number(first), _day_number(last)
            out.update(range(a, b + 1) if a <= b else [*range(a, 8), *range(1, b + 1)])
        else:
            out.add(_day_number(part))
    return None if len(out) == 7 else sorted(out)


def _day_number(word: str) -> int:
    if word.isascii() and word.isdigit() and 1 <= int(word) <= 7:
        return int(word)
    if word in _DAY_NAMES:
        return _DAY_NAMES[word]
    raise ValidationError(f"unknown day {word!r}: use mon..sun, 1..7, weekdays, weekends or daily")


def format_schedule(
    days: list[int] | None, every_weeks: int = 1, anchor: date | None = None
) -> str:
    """'weekdays', 'Wed every 2 weeks from 2027-05-05': a preference's days as one phrase."""
    text = format_days(days)
    if every_weeks > 1:
        text += f" every {every_weeks} weeks"
    if anchor is not None:
        text += f" from {anchor.isoformat()}"
    return text


def format_days(value: list[int] | None) -> str:
    if not value:
        return "daily"
    if value == [1, 2, 3, 4, 5]:
        return "weekdays"
    if value == [6, 7]:
        return "weekends"
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    return ",".join(names[d - 1] for d in value)
