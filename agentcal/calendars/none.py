"""The `none` backend: a user who wants agentcal's events only in agentcal (no file, no server).

Syncs succeed without going anywhere, so nothing stays pending; there is no outside busy time.
"""

from __future__ import annotations

from datetime import datetime

from agentcal.calendars.base import EventData, Interval, SyncResult


class NoCalendar:
    name = "none"

    def upsert(self, event: EventData) -> SyncResult:
        return SyncResult(event.id, None, ok=True)

    def delete(self, event: EventData) -> SyncResult:
        return SyncResult(event.id, None, ok=True)

    def sync_many(self, events: list[EventData]) -> list[SyncResult]:
        return [SyncResult(e.id, None, ok=True) for e in events]

    def busy_times(self, start: datetime, end: datetime) -> list[Interval]:
        return []
