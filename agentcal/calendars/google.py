"""Google Calendar backend (google-api-python-client, batched, retried, idempotent).

The user's edits win (docs/calendars.md): an agentcal event the user deleted in Google is
skipped, one they moved is left where they put it. An update patches only the fields agentcal
owns: the location, attendees, reminders, colour and description text the user added stay.
The parts, each in its own private module: the event resources and patches, and how a user
move is told apart (`_google_body`); the client, batches, retries and outages
(`_google_http`). This module decides, per event, which calls to send: insert, delete, or get
then patch.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcal.calendars import outages
from agentcal.calendars._google_body import (
    busy_spans,
    event_body,
    google_event_id,
    patch_body,
    user_changed,
    utc_text,
)
from agentcal.calendars._google_http import BATCH_SIZE, Call, Outcome, Sender
from agentcal.calendars.base import EventData, Interval, SyncResult
from agentcal.errors import ConfigError, ExternalServiceError

if TYPE_CHECKING:
    from agentcal.settings import Settings

__all__ = ["GoogleCalendar", "google_event_id"]


class GoogleCalendar:
    """Pushes agentcal's events to one Google calendar."""

    name = "google"
    sync_chunk = 50  # events per sync_many call when a bar shows progress: one batch

    def __init__(
        self,
        settings: Settings,
        *,
        transport: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        batch_size: int = BATCH_SIZE,
        max_retries: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
    ) -> None:
        """`transport` is an httplib2.Http-like object (tests pass HttpMockSequence)."""
        self.settings = settings
        self.calendar_id = settings.google_calendar_id
        self.default_tz = settings.timezone
        self._sender = Sender(
            settings,
            transport=transport,
            sleep=sleep,
            rand=rand,
            batch_size=batch_size,
            max_retries=max_retries,
            base_delay=base_delay,
            max_delay=max_delay,
        )

    @property
    def http_requests(self) -> int:
        """HTTP requests sent for calendar calls (the benchmark reads it)."""
        return self._sender.http_requests

    def upsert(self, event: EventData) -> SyncResult:
        return self.sync_many([event])[0]

    def delete(self, event: EventData) -> SyncResult:
        return self.sync_many([event])[0]

    def sync_many(self, events: list[EventData]) -> list[SyncResult]:
        """Insert, patch or delete each event; one batch per phase (<= 50 calls each)."""
        try:
            return self._sync(events)
        except ConfigError as exc:  # not signed in, unreadable token: wait for `auth google`
            failure = Outcome(message=str(exc), retry_after=outages.AUTH_RETRY_SECONDS, outage=True)
            return [self._fail(e, failure) for e in events]
        finally:
            self._sender.save_refreshed_token()

    def _fail(self, event: EventData, outcome: Outcome) -> SyncResult:
        return SyncResult(
            event.id,
            event.backend_event_id,
            ok=False,
            error=outcome.message,
            retryable=outcome.retryable or outcome.outage,
            retry_after=outcome.retry_after,
            outage=outcome.outage,
        )

    def _sync(self, events: list[EventData]) -> list[SyncResult]:
        self._sender.check_server()
        if self._sender.stopped is not None:  # known to be down: not even a connection attempt
            return [self._fail(e, self._sender.stopped) for e in events]
        events_api = self._sender.service.events()
        cal = self.calendar_id
        results: dict[int, SyncResult] = {}
        inserts: list[int] = []
        updates: list[int] = []
        deletes: list[int] = []
        for i, e in enumerate(events):
            if e.cancelled:
                if e.backend_event_id is None:  # never reached Google
                    results[i] = SyncResult(e.id, None, ok=True)
                else:
                    deletes.append(i)
            elif e.backend_event_id is None:
                inserts.append(i)
            else:
                updates.append(i)

        def insert(i: int) -> Call:
            body = {"id": google_event_id(events[i].uid, events[i].revision)}
            body.update(event_body(events[i]))
            return Call(str(i), lambda: events_api.insert(calendarId=cal, body=body))

        def get(i: int, event_id: str) -> Call:
            return Call(str(i), lambda: events_api.get(calendarId=cal, eventId=event_id))

        def remove(i: int) -> Call:
            event_id = events[i].backend_event_id
            return Call(
                str(i),
                lambda: events_api.delete(calendarId=cal, eventId=event_id, sendUpdates="none"),
            )

        first = self._sender.run(
            [insert(i) for i in inserts]
            + [remove(i) for i in deletes]
            + [get(i, events[i].backend_event_id or "") for i in updates]
        )
        existing: dict[int, tuple[str, dict[str, Any]]] = {}
        for i in inserts:
            o = first[str(i)]
            if o.ok:
                results[i] = SyncResult(events[i].id, o.response["id"], ok=True)
            elif o.status == 409:  # already there: an earlier attempt got through
                existing[i] = (google_event_id(events[i].uid, events[i].revision), {})
            else:
                results[i] = self._fail(events[i], o)
        for i in deletes:
            o = first[str(i)]
            if o.ok or o.status in (404, 410):
                results[i] = SyncResult(events[i].id, None, ok=True)
            else:
                results[i] = self._fail(events[i], o)
        for i in updates:
            o = first[str(i)]
            gid = events[i].backend_event_id or ""
            if o.ok:
                existing[i] = (gid, o.response)
            elif o.status in (404, 410):
                results[i] = self._skipped(events[i], gid, "deleted in Google Calendar by the user")
            else:
                results[i] = self._fail(events[i], o)

        refetch = [i for i, (_, res) in existing.items() if not res]
        if refetch:
            second = self._sender.run([get(i, existing[i][0]) for i in refetch])
            for i in refetch:
                o = second[str(i)]
                if o.ok:
                    existing[i] = (existing[i][0], o.response)
                else:
                    del existing[i]
                    results[i] = self._fail(events[i], o)

        patches: list[tuple[int, str, dict[str, Any]]] = []
        for i, (gid, resource) in existing.items():
            why = user_changed(resource, self.default_tz)
            if why is not None:
                results[i] = self._skipped(events[i], gid, why)
                continue
            body = patch_body(resource, events[i], self.default_tz)
            if body:
                patches.append((i, gid, body))
            else:
                results[i] = SyncResult(events[i].id, gid, ok=True)

        if patches:

            def patch(i: int, gid: str, body: dict[str, Any]) -> Call:
                return Call(
                    str(i), lambda: events_api.patch(calendarId=cal, eventId=gid, body=body)
                )

            third = self._sender.run([patch(i, gid, body) for i, gid, body in patches])
            for i, gid, _ in patches:
                o = third[str(i)]
                if o.ok:
                    results[i] = SyncResult(events[i].id, gid, ok=True)
                elif o.status in (404, 410):
                    results[i] = self._skipped(
                        events[i], gid, "deleted in Google Calendar by the user"
                    )
                else:
                    results[i] = self._fail(events[i], o)
        return [results[i] for i in range(len(events))]

    @staticmethod
    def _skipped(event: EventData, gid: str, why: str) -> SyncResult:
        return SyncResult(event.id, gid, ok=True, skipped=True, error=why)

    def busy_times(self, start: datetime, end: datetime) -> list[Interval]:
        """Busy time from the calendar's events, leaving out agentcal's own and free ones."""
        from agentcal.calendars.base import merge_intervals

        try:
            self._sender.check_server()
            if self._sender.stopped is not None:
                raise ExternalServiceError(self._sender.stopped.message)
            events_api = self._sender.service.events()
            spans: list[Interval] = []
            page: str | None = None
            while True:
                call = Call(
                    "list",
                    lambda token=page: events_api.list(  # type: ignore[misc]
                        calendarId=self.calendar_id,
                        timeMin=utc_text(start),
                        timeMax=utc_text(end),
                        singleEvents=True,
                        orderBy="startTime",
                        maxResults=2500,
                        pageToken=token,
                    ),
                )
                o = self._sender.run([call])["list"]
                if not o.ok:
                    raise ExternalServiceError(f"cannot read busy times: {o.message}")
                spans += busy_spans(o.response.get("items", []), start, end, self.default_tz)
                page = o.response.get("nextPageToken")
                if not page:
                    break
            return merge_intervals(spans)
        finally:
            self._sender.save_refreshed_token()
