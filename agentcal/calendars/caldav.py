"""CalDAV backend (Nextcloud, iCloud, Fastmail, Radicale...) with the `caldav` package.

Each event is one calendar object named after its UID. As with Google, an event the user
deleted is skipped and one they moved is left where they put it; an update changes only the
fields agentcal owns inside the stored VEVENT: the alarms, attendees, location and description
text the user added stay. The parts, each in its own private module: the VEVENT agentcal
writes and merges (`_caldav_ical`), the HTTP requests with their retries, outages and the
password (`_caldav_http`), and which collection to write to (`_caldav_discovery`).
"""

from __future__ import annotations

import time as time_module
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from agentcal.calendars import outages
from agentcal.calendars._caldav_discovery import Collection, discover
from agentcal.calendars._caldav_http import Connection, Failure, check, etag, path
from agentcal.calendars._caldav_ical import busy_spans, merge_owned, to_ical, user_changed
from agentcal.calendars.base import EventData, Interval, SyncResult
from agentcal.errors import ExternalServiceError

if TYPE_CHECKING:
    from agentcal.settings import Settings


class CalDAVCalendar:
    """Pushes agentcal's events to one CalDAV calendar collection.

    Discovery (three PROPFINDs, once per backend object) is in `_caldav_discovery`. Each event
    is then one request when nothing conflicts: a create is `PUT If-None-Match: *`, a delete a
    `DELETE`, an update of an object nobody touched since agentcal wrote it whole a `PUT
    If-Match` on the ETag stored then. Otherwise (a 412, or the object holds something of the
    user's) an update reads the object (GET), merges the fields agentcal owns and writes it
    back with `If-Match` on the ETag it read.
    """

    name = "caldav"
    sync_chunk = 10  # events per sync_many call when a bar shows progress (one at a time)

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time_module.sleep):
        self.settings = settings
        self._conn = Connection(settings, sleep=sleep)
        self._collection: Collection | None = None
        self._calendar: Any = None

    @property
    def http_requests(self) -> int:
        """Requests sent (the benchmark reads it)."""
        return self._conn.http_requests

    def collection(self) -> Collection:
        """The calendar collection events go to (found once, then remembered)."""
        if self._collection is None:
            self._collection = discover(self._conn, self.settings.caldav_calendar)
        return self._collection

    @property
    def calendar(self) -> Any:
        """The collection as a `caldav.Calendar` (time-range searches; tests read through it)."""
        if self._calendar is None:
            import caldav

            self._calendar = caldav.Calendar(  # type: ignore[operator]
                client=self._conn.client, url=self.collection().url
            )
        return self._calendar

    def object_url(self, event: EventData) -> str:
        """Where the event's object lives: the URL the server gave (if in this collection),
        else the collection plus the UID (agentcal names each object after its UID)."""
        base = self.collection().url
        known = event.backend_event_id
        if known and known.startswith(base):
            return known
        return base + quote(event.uid, safe="") + ".ics"

    def upsert(self, event: EventData) -> SyncResult:
        return self._guarded(event, self._upsert)

    def delete(self, event: EventData) -> SyncResult:
        return self._guarded(event, self._delete)

    def sync_many(self, events: list[EventData]) -> list[SyncResult]:
        """One request per event when nothing conflicts (CalDAV has no batch)."""
        return [self.delete(e) if e.cancelled else self.upsert(e) for e in events]

    def _guarded(self, event: EventData, action: Any) -> SyncResult:
        try:
            result: SyncResult = action(event)
            return result
        except Failure as exc:
            return SyncResult(
                event.id,
                event.backend_event_id,
                ok=False,
                error=str(exc),
                retryable=exc.retryable,
                retry_after=exc.retry_after,
                outage=exc.outage,
            )

    def _upsert(self, event: EventData) -> SyncResult:
        url = self.object_url(event)
        if event.backend_event_id is None:
            body = to_ical(event).decode()
            answer = self._put(url, body, {"If-None-Match": "*"})
            if answer.status != 412:
                return SyncResult(event.id, url, ok=True, etag=etag(answer))
            # 412: it is there already (an earlier attempt got through): update it instead.
        elif event.backend_etag and url == event.backend_event_id:
            # Unchanged since agentcal wrote it whole: nothing of the user's to keep, so one
            # PUT of the whole object. 412: the user (or anyone) changed it: read, merge.
            body = to_ical(event).decode()
            answer = self._put(url, body, {"If-Match": event.backend_etag})
            if answer.status != 412:
                return SyncResult(event.id, url, ok=True, etag=etag(answer))
        for _ in range(3):  # an ETag race with the user's app: read again, merge again
            answer = self._conn.request(url, "GET")
            if answer.status == 404:
                return SyncResult(
                    event.id, url, ok=True, skipped=True,
                    error="deleted in the calendar by the user; left deleted",
                )  # fmt: skip
            check(answer, url, "GET")
            from icalendar import Calendar

            try:
                cal = Calendar.from_ical(answer.raw)
            except ValueError:
                raise Failure(f"{path(url)} is not an iCalendar object") from None
            vevents = cal.walk("VEVENT")
            why = user_changed(vevents[0]) if vevents else "not an event; left alone"
            if why is not None:
                return SyncResult(event.id, url, ok=True, skipped=True, error=why)
            if not merge_owned(cal, vevents[0], event):
                return SyncResult(event.id, url, ok=True)
            tag = answer.headers.get("ETag")
            put = self._put(url, cal.to_ical().decode(), {"If-Match": tag} if tag else {})
            if put.status != 412:
                return SyncResult(event.id, url, ok=True)
        raise Failure(f"{path(url)} keeps changing on the server", retryable=True)

    def _put(self, url: str, body: str, headers: dict[str, str]) -> Any:
        answer = self._conn.request(
            url, "PUT", body, {"Content-Type": "text/calendar; charset=utf-8", **headers}
        )
        if answer.status != 412:
            check(answer, url, "PUT")
        return answer

    def _delete(self, event: EventData) -> SyncResult:
        url = self.object_url(event)
        answer = self._conn.request(url, "DELETE")
        if answer.status not in (404, 410):  # gone already: fine
            check(answer, url, "DELETE")
        return SyncResult(event.id, None, ok=True)

    def busy_times(self, start: datetime, end: datetime) -> list[Interval]:
        """Busy time in [start, end) from a time-range search, without agentcal's events."""
        from caldav.lib import error as dav_error

        from agentcal.calendars.base import merge_intervals

        tz = ZoneInfo(self.settings.timezone)
        try:
            self._conn.check_server()
            found = self.calendar.search(start=start, end=end, event=True, expand=True)
        except Failure as exc:
            raise ExternalServiceError(str(exc)) from None
        except (dav_error.DAVError, OSError) as exc:
            problem = outages.network_problem(exc, self._conn.timeout)
            raise ExternalServiceError(f"cannot read busy times over CalDAV ({problem})") from None
        vevents = [v for obj in found for v in obj.icalendar_instance.walk("VEVENT")]
        return merge_intervals(busy_spans(vevents, start, end, tz))
