"""What each job kind does. Handlers are idempotent: a job may run again after a crash.

A handler returns a JSON-able result (stored on the job) or raises:
`PermanentJobError` or `agentcal.errors.ValidationError` (a bad payload) -> dead at once, with
the message as the job's error; anything else -> retried with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentcal.errors import ValidationError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from agentcal.calendars.base import CalendarBackend
    from agentcal.queue.jobs import ClaimedJob


class PermanentJobError(Exception):
    """Retrying will not help: the job goes to dead."""


class RetryableJobError(Exception):
    """A temporary failure (rate limit, network): retry with backoff."""


class BackendOutage(RetryableJobError):
    """What the job needs is down as a whole (the calendar server unreachable, its quota used
    up, the sign-in refused): the job waits `retry_after` seconds and runs again, without using
    up its attempts, so queued syncs resume by themselves when the backend is back."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class JobContext:
    """What handlers share within one worker: each user's calendar backend, made on first use.

    A backend is kept while its user's profile and secret files stay the same, and rebuilt
    when they change (a `users edit` or a new sign-in reaches a running daemon at its next
    job). `backend_factory(user_id)` replaces the profile-based factory (tests)."""

    backend_factory: Callable[[str], CalendarBackend] | None = None
    _backends: dict[str, tuple[Any, CalendarBackend]] = field(default_factory=dict, repr=False)

    def backend_for(self, user_id: str) -> CalendarBackend:
        """The user's own calendar backend (never another user's)."""
        if self.backend_factory is not None:
            key: Any = None
            make: Callable[[], CalendarBackend] = lambda: self.backend_factory(user_id)  # type: ignore[misc]  # noqa: E731
        else:
            from agentcal.calendars import get_backend
            from agentcal.users.profiles import settings_for

            settings = settings_for(user_id)
            key = _fingerprint(settings)
            make = lambda: get_backend(settings)  # noqa: E731
        cached = self._backends.get(user_id)
        if cached is None or cached[0] != key:
            self._backends[user_id] = (key, make())
        return self._backends[user_id][1]


def _fingerprint(settings: Any) -> tuple[Any, ...]:
    """What a user's backend is built from, secret files' change times included."""

    def mtime(path: Any) -> float | None:
        try:
            return float(path.stat().st_mtime_ns) if path is not None else None
        except OSError:
            return None

    return (
        settings.calendar, settings.timezone, settings.google_calendar_id, settings.caldav_url,
        settings.caldav_username, settings.caldav_calendar, settings.ics_file,
        settings.google_token_path, mtime(settings.google_token_path),
        settings.caldav_password_file, mtime(settings.caldav_password_file),
    )  # fmt: skip


Handler = Callable[["ClaimedJob", JobContext], Any]


def _payload(job: ClaimedJob) -> dict[str, Any]:
    if not isinstance(job.payload, dict):
        raise ValidationError(f"{job.kind} payload must be a JSON object")
    return dict(job.payload)


def _int_field(payload: dict[str, Any], name: str, kind: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{kind} payload needs an integer {name} (got {value!r})")
    return value


def update_insight(job: ClaimedJob, ctx: JobContext) -> dict[str, Any]:
    """The seed's /user-insights/update, run in the background; then re-plan the user's events."""
    from agentcal import validation as v
    from agentcal.insights.user_insights import InsightBody, user_insights_service
    from agentcal.queue.jobs import job_queue

    payload = _payload(job)
    user = payload.pop("user_id", None)
    if user is None:
        raise ValidationError("update_insight payload needs a user_id")
    user = v.user_id(user)
    run_id = payload.pop("agent_run_id", None)
    request_id = payload.pop("source_request_id", None)
    body = InsightBody.parse(payload)
    if request_id is None and run_id is not None:
        request_id = _observability_id(str(run_id))
    from agentcal.db import session_scope

    # One transaction: a worker killed between the two would leave the insight updated (the
    # retry then only reinforces it) and its habit off for good.
    with session_scope() as s:
        change = user_insights_service.upsert_insight(
            user_id=user, source="agent", source_request_id=request_id, session=s,
            **body.as_dict(),
        )  # fmt: skip
        if change.restarted:  # "I go to the gym again": its habit, off since it stopped, is on
            _restart_habit(user, change.insight.id, s)
    if change.outcome in ("created", "updated"):
        job_queue.enqueue(
            "emit_preference_events", {"user_id": user}, unique_key=f"emit:{user}", user_id=user
        )
    return {"insight_id": change.insight.id, "outcome": change.outcome}


def _restart_habit(user: str, insight_id: int | None, s: Any) -> None:
    """Turn back on the habit a stopped insight made (stop_habit turned it off)."""
    from agentcal.planning.preferences import calendar_preferences_service as prefs

    for pref in prefs.list_preferences(user, session=s):
        if pref.source_insight_id == insight_id and not pref.is_active and pref.id is not None:
            prefs.set_active(user, pref.id, True, session=s)


def _observability_id(agent_run_id: str) -> int | None:
    from sqlmodel import col, select

    from agentcal.db import session_scope
    from agentcal.models import AgentObservability

    with session_scope() as s:
        return s.exec(
            select(AgentObservability.id)
            .where(AgentObservability.agent_run_id == agent_run_id)
            .order_by(col(AgentObservability.id))
        ).first()


def emit_preference_events(job: ClaimedJob, ctx: JobContext) -> dict[str, Any]:
    """Run the emitter for one user (insights -> preferences -> events)."""
    from agentcal import validation as v
    from agentcal.planning.emitter import calendar_event_emitter
    from agentcal.settings import get_settings

    payload = _payload(job)
    user = v.user_id(payload.get("user_id"))
    days = payload.get("days_ahead", get_settings().emit_days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 90:
        raise ValidationError(f"emit_preference_events days_ahead must be 1..90 (got {days!r})")
    result = calendar_event_emitter.process_user_preferences(
        user, days, backend=_optional_backend(ctx, user)
    )
    return {"counts": result.counts, "warnings": result.warnings}


def _optional_backend(ctx: JobContext, user_id: str) -> CalendarBackend | None:
    if ctx.backend_factory is None:
        return None  # the emitter asks the user's own calendar, and reports it if unavailable
    try:
        return ctx.backend_for(user_id)
    except Exception:
        return None


SYNC_BATCH = 50  # events pushed per calendar_sync job (Google's advised batch size)


def calendar_sync(job: ClaimedJob, ctx: JobContext) -> dict[str, Any]:
    """Push the job's event (create, update or delete) to the calendar backend, together with
    up to SYNC_BATCH - 1 other unsynced events of the same user, in one batched call, to that
    user's own calendar with that user's own credentials.

    The other events' own jobs then find their revision synced and finish at once. Only the
    job's own event decides the job's outcome; another event that fails stays unsynced and is
    retried by its own job.
    """
    from agentcal.calendars.base import EventData
    from agentcal.db import session_scope
    from agentcal.health.sync_health import sync_health
    from agentcal.models import CalendarEvent
    from agentcal.planning.push import calendar_push_service, divergence_note

    payload = _payload(job)
    event_id = _int_field(payload, "event_id", "calendar_sync")
    revision = _int_field(payload, "revision", "calendar_sync")
    with session_scope() as s:
        event = s.get(CalendarEvent, event_id)
        if event is None:
            return {"skipped": "the event no longer exists"}
        if event.synced_revision is not None and event.synced_revision >= revision:
            return {"skipped": f"revision {event.synced_revision} already synced"}
        batch = [EventData.from_event(event)]
        batch += [EventData.from_event(e) for e in _other_unsynced(s, event, SYNC_BATCH - 1)]
    user = batch[0].user_id
    name: str | None = None
    try:
        backend = ctx.backend_for(user)  # the event's owner's calendar, nobody else's
        name = backend.name
        # An event that never reached the calendar and is now cancelled needs no call.
        to_push = [d for d in batch if not (d.cancelled and d.backend_event_id is None)]
        results = {r.event_id: r for r in backend.sync_many(to_push)} if to_push else {}
    except Exception as exc:  # no calendar for this user right now: their status says so
        sync_health.record(user, name, error=f"{type(exc).__name__}: {exc}")
        raise
    own = results.get(event_id)
    with session_scope() as s:
        # Rows in id order: two workers recording overlapping batches of one user's events then
        # lock them in the same order (PostgreSQL reported deadlocks otherwise).
        for data in sorted(batch, key=lambda d: d.id):
            result = results.get(data.id)
            if result is not None and not result.ok:
                continue
            row = s.get(CalendarEvent, data.id)
            if row is None or (row.synced_revision or 0) >= data.revision:
                continue
            row.backend = backend.name
            row.backend_event_id = (
                None if data.cancelled or result is None else result.backend_event_id
            )
            note = None if result is None else divergence_note(backend.name, result)
            if note is not None and note != row.sync_note:  # said once, not at every sync
                log.warning(
                    "“%s” of %s (event %s, %s): %s; agentcal left it so (agentcal events list)",
                    " ".join(row.title.split()), row.user_id, row.id, _when(row), note,
                )  # fmt: skip
            row.sync_note = note
            row.backend_etag = None if result is None else result.etag
            row.synced_revision = data.revision
            s.add(row)  # updated_at stays: it dates the event's content, not its sync
        if own is not None:
            error = None if own.ok else (own.error or "sync failed")
            sync_health.record(user, backend.name, error=error, session=s)
    if own is None:
        outcome = "nothing to delete"  # never reached the calendar
    elif not own.ok:
        message = f"{backend.name} calendar: {own.error or 'sync failed'}"
        if own.outage:
            calendar_push_service.note_outage(backend.name, batch[0].user_id, own.error or "")
            raise BackendOutage(message, own.retry_after or 60.0)
        if own.retryable:
            raise RetryableJobError(message)
        raise PermanentJobError(message)
    else:
        calendar_push_service.note_recovered(backend.name, batch[0].user_id)
        outcome = "skipped by the calendar" if own.skipped else "synced"
    return {
        "outcome": outcome,
        "revision": batch[0].revision,
        "backend": backend.name,
        "batched": len(to_push),
    }


def _when(event: Any) -> str:
    from zoneinfo import ZoneInfo

    if event.start_at is None:
        return "unplaced"
    return f"{event.start_at.astimezone(ZoneInfo(event.timezone)):%a %d %b %H:%M}"


def _other_unsynced(s: Any, event: Any, limit: int) -> list[Any]:
    """The user's other events whose current revision the backend has not seen yet."""
    from sqlmodel import col, or_, select

    from agentcal.models import CalendarEvent

    if limit <= 0:
        return []
    stmt = (
        select(CalendarEvent)
        .where(CalendarEvent.user_id == event.user_id, CalendarEvent.id != event.id)
        .where(
            or_(
                col(CalendarEvent.synced_revision).is_(None),
                col(CalendarEvent.synced_revision) < col(CalendarEvent.revision),
            )
        )
        .order_by(col(CalendarEvent.id))
        .limit(limit)
    )
    return list(s.exec(stmt))


HANDLERS: dict[str, Handler] = {
    "update_insight": update_insight,
    "emit_preference_events": emit_preference_events,
    "calendar_sync": calendar_sync,
}
