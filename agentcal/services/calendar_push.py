"""Push a user's unsynced events to their own calendar backend now (`agentcal calendar sync`).

The queued `calendar_sync` jobs do the same one event at a time; both record the result on the
event (backend, backend_event_id, synced_revision), and a job for a revision already synced
does nothing. No transaction is held while the backend talks to the outside.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from agentcal.services import validation as v
from agentcal.services.base import Service

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.calendars.base import CalendarBackend, EventData, Interval, SyncResult
    from agentcal.models import CalendarEvent


@dataclass(frozen=True)
class PushOutcome:
    event_id: int
    title: str
    action: str  # upsert | delete
    ok: bool
    skipped: bool
    backend_event_id: str | None
    error: str | None


class CalendarPushService(Service):
    """Find what the backend has not seen yet, push it in one batch, record the results."""

    def pending(self, user_id: str, session: Session | None = None) -> list[CalendarEvent]:
        """Events whose current revision has not reached the backend."""
        from sqlmodel import col, or_, select

        from agentcal.models import CalendarEvent

        stmt = (
            select(CalendarEvent)
            .where(CalendarEvent.user_id == v.user_id(user_id))
            .where(
                or_(
                    col(CalendarEvent.synced_revision).is_(None),
                    col(CalendarEvent.synced_revision) < col(CalendarEvent.revision),
                )
            )
            .order_by(col(CalendarEvent.start_at), col(CalendarEvent.id))
        )
        with self.transaction(session) as s:
            rows = list(s.exec(stmt))
        # A cancelled event the backend never saw needs nothing; unplaced ones never go out.
        return [
            e
            for e in rows
            if e.status in ("planned", "confirmed")
            or (e.status == "cancelled" and e.backend_event_id is not None)
        ]

    def record(self, snapshot: EventData, result: SyncResult, backend_name: str) -> None:
        """Store a successful result on the event (failures leave it pending)."""
        from agentcal.models import CalendarEvent

        if not result.ok:
            return
        with self.transaction() as s:
            event = s.get(CalendarEvent, snapshot.id)
            if event is None:
                return
            event.backend = backend_name
            event.backend_event_id = result.backend_event_id
            if event.synced_revision is None or event.synced_revision < snapshot.revision:
                event.synced_revision = snapshot.revision
            s.add(event)

    def push_pending(
        self, user_id: str, backend: CalendarBackend | None = None
    ) -> list[PushOutcome]:
        from agentcal.calendars.base import EventData
        from agentcal.masking import mask
        from agentcal.services.user_profiles import user_profiles_service

        user_id = v.user_id(user_id)
        backend = backend or user_profiles_service.backend_for(user_id)
        snapshots = [EventData.from_event(e) for e in self.pending(user_id)]
        if not snapshots:
            return []
        results = backend.sync_many(snapshots)
        out = []
        for snap, result in zip(snapshots, results, strict=True):
            self.record(snap, result, backend.name)
            out.append(
                PushOutcome(
                    event_id=snap.id,
                    title=snap.title,
                    action="delete" if snap.cancelled else "upsert",
                    ok=result.ok,
                    skipped=result.skipped,
                    backend_event_id=result.backend_event_id,
                    error=None if result.error is None else mask(result.error),
                )
            )
        return out

    def busy(
        self, user_id: str, start: datetime, end: datetime, backend: CalendarBackend | None = None
    ) -> list[Interval]:
        """Busy time the user's calendar reports (agentcal's own events left out)."""
        from agentcal.services.user_profiles import user_profiles_service

        backend = backend or user_profiles_service.backend_for(v.user_id(user_id))
        return backend.busy_times(start, end)

    def export(self, user_id: str, path: str) -> int:
        """Write the user's active events to an ICS file the user named; returns how many.

        The file is new, or an ICS file that is not the store; it is written private (0600).
        """
        from pathlib import Path

        from agentcal.errors import ValidationError
        from agentcal.files import is_ics, os_error_message, write_file

        data, count = self.render(user_id)
        target = Path(path).expanduser()
        try:
            if target.is_dir():
                raise ValidationError(
                    f"{target} is a directory: give a file name such as calendar.ics"
                )
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_file(
                target,
                data,
                may_replace=is_ics,
                what="an ICS calendar file",
                fix="choose another file name",
            )
        except OSError as exc:
            raise ValidationError(os_error_message(exc, target)) from None
        return count

    def render(self, user_id: str) -> tuple[bytes, int]:
        """The user's calendar as ICS bytes, and how many active events it holds."""
        from agentcal.calendars.ics import ACTIVE_STATUSES, render_calendar
        from agentcal.services.calendar_events import calendar_events_service

        events = calendar_events_service.list_events(v.user_id(user_id))
        return render_calendar(events), sum(1 for e in events if e.status in ACTIVE_STATUSES)


calendar_push_service = CalendarPushService()
