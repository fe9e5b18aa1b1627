"""Parse the times users type for `--since` / `--until`: 7d, 12h, 2w, today, 2026-11-01, ISO.

Relative forms count back from now in absolute time (`7d` is 7 x 24 hours). Dates and the words
`today`/`yesterday` mean local midnight in the user's time zone; as an upper bound (`end=True`)
they include the whole day, so `--since 2026-11-01 --until 2026-11-01` is that one day.
Everything is returned as an aware UTC datetime. Stdlib only: the CLI may import it cheaply.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agentcal.errors import ValidationError

_RELATIVE = re.compile(r"^(\d{1,6})\s*(m|min|h|d|w)$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
HINT = "use e.g. 7d, 12h, 2w, 30m, today, yesterday, 2026-11-01 or 2026-11-01T09:30"


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of `day` in `tz`, in UTC (a skipped midnight moves to the next valid time)."""
    naive = datetime.combine(day, time(0))
    aware = naive.replace(tzinfo=tz)
    # Round-trip through UTC normalises times that do not exist (a DST gap at midnight).
    return aware.astimezone(UTC)


def parse_when(
    text: str, *, tz: ZoneInfo, now: datetime | None = None, end: bool = False
) -> datetime:
    """`text` as an aware UTC datetime; `end=True` makes whole days inclusive upper bounds."""
    try:
        return _parse_when(text, tz=tz, now=now, end=end)
    except OverflowError:  # 999999w ago, the day after 9999-12-31, 0001-01-01 east of UTC
        raise ValidationError(f"{text!r} is outside the years 1 to 9999") from None


def _parse_when(text: str, *, tz: ZoneInfo, now: datetime | None, end: bool) -> datetime:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    raw = text.strip().lower()
    if not raw:
        raise ValidationError(f"empty time: {HINT}")
    if raw == "now":
        return now
    if raw in ("today", "yesterday"):
        day = now.astimezone(tz).date() - timedelta(days=1 if raw == "yesterday" else 0)
        return local_midnight(day + timedelta(days=1) if end else day, tz)
    match = _RELATIVE.match(raw)
    if match:
        amount, unit = int(match.group(1)), _UNITS[match.group(2)]
        return now - timedelta(**{unit: amount})
    if _DATE.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise ValidationError(f"{text!r} is not a valid date") from None
        return local_midnight(day + timedelta(days=1) if end else day, tz)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationError(f"cannot read {text!r} as a time: {HINT}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def parse_window(
    since: str | None,
    until: str | None,
    *,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> tuple[datetime | None, datetime | None]:
    """Both bounds of a `--since/--until` pair; `since` must come before `until`."""
    lo = parse_when(since, tz=tz, now=now) if since is not None else None
    hi = parse_when(until, tz=tz, now=now, end=True) if until is not None else None
    if lo is not None and hi is not None and lo >= hi:
        raise ValidationError(f"--since ({since}) must be before --until ({until})")
    return lo, hi
