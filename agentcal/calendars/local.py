"""The local calendar: events live in agentcal's store and nowhere else.

A minimal stand-in; the calendar work replaces it with one that also writes an ICS file.
Its "backend id" of an event is the event's uid, so re-syncing is idempotent.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from agentcal.calendars.base import EventData, Interval, SyncResult

if TYPE_CHECKING:
    from agentcal.settings import Settings


class LocalCalendar:
    name = "local"

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    def upsert(self, event: EventData) -> SyncResult:
        return SyncResult(event_id=event.id, backend_event_id=event.uid, ok=True)

    def delete(self, event: EventData) -> SyncResult:
        return SyncResult(event_id=event.id, backend_event_id=event.backend_event_id, ok=True)

    def sync_many(self, events: list[EventData]) -> list[SyncResult]:
        return [self.delete(e) if e.cancelled else self.upsert(e) for e in events]

    def busy_times(self, start: datetime, end: datetime) -> list[Interval]:
        # Nothing outside agentcal lives here; the store's events are already busy time.
        return []
