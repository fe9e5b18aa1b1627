"""An in-memory calendar backend for tests (the seam the calendar_sync handler talks to)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from agentcal.calendars.base import EventData, Interval, SyncResult


@dataclass
class FakeCalendar:
    name: str = "fake"
    events: dict[str, EventData] = field(default_factory=dict)
    busy: list[Interval] = field(default_factory=list)
    fail_with: str | None = None  # an error every call returns
    retryable: bool = False
    busy_error: Exception | None = None
    calls: list[tuple[str, int, int]] = field(default_factory=list)

    def _result(self, event: EventData, backend_id: str | None) -> SyncResult:
        if self.fail_with:
            return SyncResult(
                event.id, None, ok=False, error=self.fail_with, retryable=self.retryable
            )
        return SyncResult(event.id, backend_id, ok=True)

    def upsert(self, event: EventData) -> SyncResult:
        self.calls.append(("upsert", event.id, event.revision))
        if not self.fail_with:
            self.events[event.uid] = event
        return self._result(event, f"fake-{event.id}")

    def delete(self, event: EventData) -> SyncResult:
        self.calls.append(("delete", event.id, event.revision))
        if not self.fail_with:
            self.events.pop(event.uid, None)
        return self._result(event, event.backend_event_id)

    def sync_many(self, events: list[EventData]) -> list[SyncResult]:
        return [self.delete(e) if e.cancelled else self.upsert(e) for e in events]

    def busy_times(self, start: datetime, end: datetime) -> list[Interval]:
        if self.busy_error is not None:
            raise self.busy_error
        return [(a, b) for a, b in self.busy if b > start and a < end]
