"""Placement rules: where one occurrence of a preference goes on its day, and why.

* DST: a wall-clock time that does not exist on its day (02:30 when clocks jump to 03:00) moves
  forward by the jump; one that happens twice (clocks go back) takes its first occurrence; both
  are noted (`local_start`). An occurrence lasts exactly its duration in elapsed time.
* An inflexible preference keeps its time, even over other events; the overlap is noted.
* A flexible one that collides with busy time moves to the nearest free slot within +/- the
  flex window (`nearest_free`, earlier wins a tie); with none it is `unplaced`, with the reason.

Pure functions of times and busy spans: no store, no calendar.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.vocab import USUAL_TIME_NOTE


@dataclass(frozen=True)
class Busy:
    """A busy span. With `tz`, `text` is an event's title and the label ("“Gym” at 06:30") is
    built only when something collides with it (most spans never do)."""

    start: datetime
    end: datetime
    text: str
    tz: ZoneInfo | None = None

    @property
    def label(self) -> str:
        return self.text if self.tz is None else label(self.text, self.start, self.tz)


@dataclass
class Placement:
    """One decision of the emitter, with its reason."""

    outcome: str  # planned | moved | unplaced | updated | cancelled | unchanged | skipped
    preference_id: int | None
    title: str
    local_date: date | None
    start: datetime | None
    end: datetime | None
    reason: str = ""
    event_id: int | None = None
    moved_minutes: int = 0
    avoided: str | None = None


def local_start(day: date, hhmm: str, tz: ZoneInfo) -> tuple[datetime, str]:
    """The aware start of HH:MM on `day` in `tz`, and a note when DST moved it."""
    hours, minutes = (int(x) for x in hhmm.split(":"))
    naive = datetime.combine(day, time(hours, minutes))
    aware = naive.replace(tzinfo=tz)  # fold=0: the first of two ambiguous times
    utc = aware.astimezone(UTC)
    actual = utc.astimezone(tz)
    if actual.replace(tzinfo=None) != naive:
        return utc, f"{hhmm} does not exist on {day} (DST): starts at {actual:%H:%M}"
    if aware.replace(fold=1).utcoffset() != aware.utcoffset():
        return utc, f"{hhmm} happens twice on {day} (DST): placed at the first {hhmm}"
    return utc, ""


@lru_cache(maxsize=4096)
def local_start_cached(day: date, hhmm: str, tz: ZoneInfo) -> tuple[datetime, str]:
    # Every preference at 06:30 shares one computation per day (tens of thousands per run).
    return local_start(day, hhmm, tz)


def nearest_free(
    busy: list[Busy], start: datetime, length: timedelta, window: timedelta
) -> datetime | None:
    """The free start closest to `start` within +/- window (earlier wins a tie), or None."""
    lo, hi = start - window, start + window + length
    spans = sorted((b.start, b.end) for b in busy if b.end > lo and b.start < hi)
    best: datetime | None = None
    cursor = lo
    for b_start, b_end in [*spans, (hi, hi)]:
        gap_end = min(b_start, hi)
        if gap_end - cursor >= length:
            candidate = min(max(start, cursor), gap_end - length)
            if best is None or abs(candidate - start) < abs(best - start):
                best = candidate
        cursor = max(cursor, b_end)
    return best


def overlaps(busy: Iterable[Busy], start: datetime, end: datetime) -> list[Busy]:
    return [b for b in busy if b.start < end and b.end > start]


def place(
    pref: dict[str, Any],
    day: date,
    start: datetime,
    end: datetime,
    dst_note: str,
    busy: list[Busy],
    flex: timedelta,
    tz: ZoneInfo,
) -> Placement:
    """Where `pref`'s occurrence [start, end) on `day` goes among `busy`, and why."""
    notes = [dst_note] if dst_note else []
    clashes = overlaps(busy, start, end)
    base = Placement("planned", pref["id"], pref["title"], day, start, end)
    if not clashes:
        base.reason = "; ".join([*notes, USUAL_TIME_NOTE])
        return base
    avoided = clashes[0].label
    if not pref["is_flexible"]:
        base.reason = "; ".join([*notes, f"fixed time, overlaps {avoided}"])
        base.avoided = avoided
        return base
    length = end - start
    slot = nearest_free(busy, start, length, flex)
    if slot is None:
        base.outcome = "unplaced"
        base.avoided = avoided
        hours = flex.total_seconds() / 3600
        base.reason = "; ".join(
            [*notes, f"no free {int(length.total_seconds() // 60)} min within ±{hours:g} h "
             f"of {start.astimezone(tz):%H:%M}: {avoided} is in the way"]
        )  # fmt: skip
        return base
    minutes = int((slot - start).total_seconds() // 60)
    base.outcome = "moved"
    base.start, base.end = slot, slot + length
    base.moved_minutes = minutes
    base.avoided = avoided
    sign = "+" if minutes > 0 else "-"
    hhmm = f"{abs(minutes) // 60}:{abs(minutes) % 60:02d}"
    base.reason = "; ".join(
        [*notes, f"moved {sign}{hhmm} h to {slot.astimezone(tz):%H:%M} to avoid {avoided}"]
    )
    return base


def label(title: str, start: datetime, tz: ZoneInfo) -> str:
    return f"“{title}” at {start.astimezone(tz):%H:%M}"
