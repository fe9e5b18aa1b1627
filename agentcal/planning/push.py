"""Push a user's unsynced events to their own calendar backend now (`agentcal calendar sync`).

The queued `calendar_sync` jobs do the same one event at a time; both record the result on the
event (backend, backend_event_id, synced_revision), and a job for a revision already synced
does nothing. No transaction is held while the backend talks to the outside.

Outages (the backend unreachable, its quota used up, the sign-in refused) raise one alert per
user's backend (source `calendar`, subject `calendar:<backend>:<user>`), however many events
wait; the first successful sync afterwards resolves it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from agentcal import validation as v
from agentcal.service import Service

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlmodel import Session

    from agentcal.calendars.base import CalendarBackend, EventData, Interval, SyncResult
    from agentcal.models import CalendarEvent


log = logging.getLogger(__name__)
RECHECK_SECONDS = 60.0  # how long "no open outage alert" is believed without asking the store


@dataclass(frozen=True)
class PushOutcome:
    event_id: int
    title: str
    action: str  # upsert | delete
    ok: bool
    skipped: bool
    backend_event_id: str | None
    error: str | None
    outage: bool = False


class _OutageAlerts:
    """Whether this process knows of an open outage alert per backend, so that a successful
    sync costs a query only now and then, not every time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[bool, float]] = {}  # backend -> (open?, when learned)

    def set(self, backend: str, is_open: bool) -> None:
        with self._lock:
            self._state[backend] = (is_open, time.monotonic())

    def maybe_open(self, backend: str) -> bool | None:
        """True/False when known recently; None: ask the store."""
        with self._lock:
            known = self._state.get(backend)
        if known is None or (not known[0] and time.monotonic() - known[1] > RECHECK_SECONDS):
            return None
        return known[0]


_alerts = _OutageAlerts()

# Users whose events changed in this process since the last write_local_calendars().
INLINE_USERS = 20  # more people than this in one command: their files are left to the jobs
_changed: set[str] = set()
_changed_lock = threading.Lock()


def note_changed(user_id: str, session: Session | None = None) -> None:
    """An event of `user_id` changed (its sync job is queued): write_local_calendars() brings
    the user's ICS file up to date before the command returns. Inside `session`, it counts once
    the transaction commits (a rolled-back one, such as emit --dry-run, changed nothing)."""
    if session is None:
        with _changed_lock:
            _changed.add(user_id)
        return
    if not session.info.get("agentcal_watched"):
        from sqlalchemy import event

        session.info["agentcal_watched"] = True
        event.listen(session, "after_commit", _committed)
        event.listen(session, "after_rollback", _rolled_back)
    session.info.setdefault("agentcal_changed", set()).add(user_id)


def _committed(session: Session) -> None:
    users = session.info.pop("agentcal_changed", set())
    with _changed_lock:
        _changed.update(users)


def _rolled_back(session: Session) -> None:
    session.info.pop("agentcal_changed", None)


def forget_changes() -> None:
    """Drop the changes noted so far (tests start from a clean process state)."""
    with _changed_lock:
        _changed.clear()


def write_local_calendars() -> list[str]:
    """Rewrite the ICS file of every user whose events changed in this process and whose
    calendar is the local one, now (the queued jobs then find their revisions synced).

    Called when a command, a chat turn or an MCP call ends; the changes are committed by then.
    Never raises: returns one line per user whose file could not be written (their queued jobs
    retry it)."""
    with _changed_lock:
        users = sorted(_changed)
        _changed.clear()
    problems: list[str] = []
    if len(users) > INLINE_USERS:
        # emit --all-users: about 40 ms a person (bench/bench_ics_flush.py), too long to wait
        # for; the queued jobs write them as before.
        return [
            f"the calendar files of {len(users)} people are written by the job processor "
            "(agentcal daemon), not before this command returns"
        ]
    for user in users:
        try:
            from agentcal.calendars import get_backend
            from agentcal.users.profiles import user_profiles_service

            settings = user_profiles_service.settings_for(user)
            if settings.calendar != "local":
                continue  # remote calendars are the job processor's: no network in a command
            outcomes = calendar_push_service.push_pending(user, get_backend(settings))
        except Exception as exc:
            from agentcal.masking import mask

            problems.append(f"the calendar file of {user} is not updated yet: {mask(exc)}")
            continue
        failed = next((o for o in outcomes if not o.ok), None)
        if failed is not None:
            problems.append(f"the calendar file of {user} is not updated yet: {failed.error}")
    return problems


BACKEND_LABELS = {"google": "Google", "caldav": "CalDAV", "local": "the ICS file"}


def divergence_note(backend_name: str, result: SyncResult) -> str | None:
    """What the calendar did with an event that agentcal therefore left alone ("deleted in
    Google", "moved in CalDAV"), for `events list` and the chat; None when the sync went
    through."""
    if not (result.ok and result.skipped):
        return None
    label = BACKEND_LABELS.get(backend_name, backend_name)
    why = (result.error or "").lower()
    if "deleted" in why:
        return f"deleted in {label}"
    if "moved" in why:
        return f"moved in {label}"
    return f"left alone in {label}: {result.error or 'changed there'}"[:200]


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
            event.sync_note = divergence_note(backend_name, result)
            event.backend_etag = result.etag
            if event.synced_revision is None or event.synced_revision < snapshot.revision:
                event.synced_revision = snapshot.revision
            s.add(event)

    def push_pending(
        self,
        user_id: str,
        backend: CalendarBackend | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> list[PushOutcome]:
        """Push the user's unsynced events. With `progress` (events done, total), a backend
        that has a `sync_chunk` (Google: one batch, CalDAV: a few events) is called that many
        events at a time, each chunk recorded before the next; the local file is written once."""
        from agentcal.calendars.base import EventData
        from agentcal.masking import mask
        from agentcal.users.profiles import user_profiles_service

        user_id = v.user_id(user_id)
        backend = backend or user_profiles_service.backend_for(user_id)
        snapshots = [EventData.from_event(e) for e in self.pending(user_id)]
        if not snapshots:
            claim = getattr(backend, "claim_file", None)  # the local backend's file
            if claim is not None:
                from agentcal.files import UnsafePathError

                try:
                    claim(user_id)
                except (UnsafePathError, OSError) as exc:  # the next change reports it
                    log.warning("could not rewrite %s's calendar file: %s", user_id, exc)
            return []
        chunk = (getattr(backend, "sync_chunk", 0) if progress else 0) or len(snapshots)
        results: list[SyncResult] = []
        for start in range(0, len(snapshots), chunk):
            part = snapshots[start : start + chunk]
            done = backend.sync_many(part)
            for snap, result in zip(part, done, strict=True):
                self.record(snap, result, backend.name)
            results += done
            if progress is not None:
                progress(len(results), len(snapshots))
        out = []
        for snap, result in zip(snapshots, results, strict=True):
            out.append(
                PushOutcome(
                    event_id=snap.id,
                    title=snap.title,
                    action="delete" if snap.cancelled else "upsert",
                    ok=result.ok,
                    skipped=result.skipped,
                    backend_event_id=result.backend_event_id,
                    error=None if result.error is None else mask(result.error),
                    outage=result.outage,
                )
            )
        down = next((r for r in results if r.outage), None)
        if down is not None:
            self.note_outage(backend.name, user_id, down.error or "unusable")
        elif any(r.ok for r in results):
            self.note_recovered(backend.name, user_id)
        return out

    # -- outages: one alert per backend, resolved by the next success ---------------------------

    def note_outage(self, backend_name: str, user_id: str, message: str) -> None:
        """Raise the outage alert of the user's backend unless one is open already."""
        from agentcal.health.monitoring import monitoring_service

        subject = f"calendar:{backend_name}:{user_id}"
        monitoring_service.raise_alert(
            f"the {backend_name} calendar of {user_id} is unusable: {message}. Waiting syncs "
            "resume by themselves once it answers again.",
            source="calendar",
            subject=subject,
        )
        _alerts.set(subject, True)

    def note_recovered(self, backend_name: str, user_id: str) -> None:
        """A sync went through: resolve the outage alert of the user's backend, if open."""
        from agentcal.health.monitoring import monitoring_service

        subject = f"calendar:{backend_name}:{user_id}"
        is_open = _alerts.maybe_open(subject)
        if is_open is None:
            is_open = subject in monitoring_service.open_subjects(subject)
        if is_open and monitoring_service.resolve_subject(subject):
            log.info("the %s calendar of %s answers again: alert resolved", backend_name, user_id)
        _alerts.set(subject, False)

    def busy(
        self, user_id: str, start: datetime, end: datetime, backend: CalendarBackend | None = None
    ) -> list[Interval]:
        """Busy time the user's calendar reports (agentcal's own events left out)."""
        from agentcal.users.profiles import user_profiles_service

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
        from agentcal.calendars.stored import StoredEvents

        events = StoredEvents().list_events(v.user_id(user_id))
        return render_calendar(events), sum(1 for e in events if e.status in ACTIVE_STATUSES)


calendar_push_service = CalendarPushService()
