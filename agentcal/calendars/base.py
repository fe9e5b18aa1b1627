"""The calendar backend interface. `calendar_sync` jobs push events through it.

A backend only ever touches events agentcal created. Implementations: local (ICS file,
default), google, caldav; tests use an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agentcal.models import CalendarEvent

Interval = tuple[datetime, datetime]


def clip(
    spans: Iterable[tuple[datetime | None, datetime | None]], start: datetime, end: datetime
) -> list[Interval]:
    """The parts of `spans` inside [start, end), unmerged; spans missing an end are skipped."""
    out: list[Interval] = []
    for a, b in spans:
        if a is None or b is None:
            continue
        a, b = max(a, start), min(b, end)
        if a < b:
            out.append((a, b))
    return out


@dataclass(frozen=True)
class EventData:
    """What a backend needs to know about one event (a snapshot, no database session)."""

    id: int
    uid: str
    user_id: str
    title: str
    start: datetime  # aware
    end: datetime  # aware
    timezone: str  # IANA name; write local wall time plus this zone
    revision: int
    description: str | None = None
    location: str | None = None
    backend_event_id: str | None = None  # what the backend returned last time, if any
    cancelled: bool = False
    note: str | None = None  # why the event sits where it does (goes into agentcal's block)
    backend_etag: str | None = None  # CalDAV: the object's ETag when agentcal wrote it whole

    @classmethod
    def from_event(cls, event: CalendarEvent) -> EventData:
        """Snapshot a stored event (cancelled and unplaced ones are to be removed)."""
        if event.id is None or event.start_at is None or event.end_at is None:
            raise ValueError("an event needs an id, a start and an end to be synced")
        return cls(
            id=event.id,
            uid=event.uid,
            user_id=event.user_id,
            title=event.title,
            start=event.start_at,
            end=event.end_at,
            timezone=event.timezone,
            revision=event.revision,
            description=event.description,
            location=event.location,
            backend_event_id=event.backend_event_id,
            cancelled=event.status in ("cancelled", "unplaced"),
            note=event.placement_note,
            backend_etag=event.backend_etag,
        )


@dataclass(frozen=True)
class SyncResult:
    """Outcome of pushing one event: the backend's id for it, or why it failed."""

    event_id: int
    backend_event_id: str | None
    ok: bool
    error: str | None = None
    retryable: bool = False
    skipped: bool = False  # e.g. the user deleted it in the calendar app: not fought over
    retry_after: float | None = None  # seconds to wait before trying again (retryable only)
    # The backend as a whole is unusable now (unreachable, quota used up, sign-in refused): the
    # job waits `retry_after` without using up its attempts, and one alert says so.
    outage: bool = False
    # CalDAV: the ETag of the object just written, when it holds only what agentcal wrote (the
    # next update can then be one PUT If-Match); None otherwise.
    etag: str | None = None


class CalendarBackend(Protocol):
    name: str

    def upsert(self, event: EventData) -> SyncResult:
        """Create or update the event (idempotent: a retry never duplicates)."""
        ...

    def delete(self, event: EventData) -> SyncResult:
        """Remove the event; already gone counts as done."""
        ...

    def sync_many(self, events: list[EventData]) -> list[SyncResult]:
        """Upsert or delete (per `cancelled`) several events, batched where the backend can."""
        ...

    def busy_times(self, start: datetime, end: datetime) -> list[Interval]:
        """Busy intervals in [start, end), excluding agentcal's own events."""
        ...


def merge_intervals(spans: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def first_free_slot(
    busy: list[Interval], start: datetime, end: datetime, length: timedelta
) -> Interval | None:
    """Earliest [s, s+length) within [start, end) that overlaps no busy interval."""
    cursor = start
    for b_start, b_end in busy:
        if b_end <= cursor:
            continue
        if cursor + length <= b_start:
            break
        cursor = max(cursor, b_end)
    if cursor + length <= end:
        return cursor, cursor + length
    return None


def free_slots(
    busy: list[Interval], start: datetime, end: datetime, length: timedelta, limit: int
) -> list[Interval]:
    """Up to `limit` free stretches of at least `length` within [start, end), earliest first
    (each the whole gap between busy intervals, clipped to the window)."""
    out: list[Interval] = []
    cursor = start
    for b_start, b_end in [*busy, (end, end)]:
        gap_end = min(b_start, end)
        if gap_end - cursor >= length:
            out.append((cursor, gap_end))
            if len(out) >= limit:
                break
        cursor = max(cursor, b_end)
        if cursor >= end:
            break
    return out
