"""Google Calendar backend (google-api-python-client, batched, retried, idempotent).

Idempotence: an event is inserted with an id derived from (event UID, revision) in Google's id
alphabet, so a retried insert hits 409 instead of creating a duplicate. A Google event deleted
once keeps its id (as `cancelled`), which is why the revision is part of the id: an event
agentcal re-creates after deleting it gets a new one.

The user's edits win (docs/calendars.md): an agentcal event the user deleted in Google is
skipped, one they moved is left where they put it. agentcal remembers in the event's
`extendedProperties.private` where it put the event, which is how a user move is told apart.
An update patches only the fields agentcal owns (calendars/owned.py): the location, attendees,
reminders, colour and description text the user added stay.

Batching: up to 50 calls per HTTP request. Calls that fail with 429, 5xx or 403 rate limits
are re-batched and retried with randomised exponential backoff (at least the server's
Retry-After). Outages stop the sync at once, for this command and (calendars/outages.py) for a
while for the whole process: Google unreachable (refused, no answer within
AGENTCAL_CALENDAR_TIMEOUT: never retried in a loop), 403 quotaExceeded, the sign-in refused,
or 429/5xx still failing after the retries. Their results carry `outage`: the job layer defers
the syncs without using up their attempts, raises one alert, and resumes by itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from agentcal.calendars import outages, owned
from agentcal.calendars.base import EventData, Interval, SyncResult
from agentcal.errors import ConfigError, ExternalServiceError

if TYPE_CHECKING:
    from agentcal.settings import Settings

DEFAULT_ROOT = "https://www.googleapis.com/"
BATCH_SIZE = 50
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"}
QUOTA_MESSAGE = (
    "Google Calendar API quota exhausted ({reason}); syncs wait and resume by themselves "
    "(quotas refill over hours; or raise the quota in the Google Cloud console)"
)
AUTH_MESSAGE = (
    "Google refused the saved sign-in ({detail}): run `agentcal auth google` again "
    "(apps in Testing status get refresh tokens that expire after 7 days)"
)
TAG = "agentcal"


def google_event_id(uid: str, revision: int) -> str:
    """A stable Google event id for this (event, revision): characters a-v and 0-9 only."""
    digest = hashlib.sha256(f"{uid}\x00{revision}".encode()).digest()[:20]
    return TAG + base64.b32hexencode(digest).decode().lower().rstrip("=")


def _instant(moment: datetime, tz: str) -> str:
    """RFC 3339 with the UTC offset in force in `tz` at that instant: unambiguous, also in the
    repeated hour of a DST change (a wall time without offset is not)."""
    return moment.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _private_props(event: EventData) -> dict[str, str]:
    return {
        TAG: "1",
        "agentcalUid": event.uid,
        "agentcalRevision": str(event.revision),
        # Where agentcal put it: a different start in Google means the user moved it.
        "agentcalStart": _utc(event.start),
        "agentcalEnd": _utc(event.end),
        # What agentcal last wrote in the fields it shares with the user (owned.py).
        "agentcalBlock": owned.fingerprint(owned.block(event)),
        "agentcalLocation": owned.fingerprint(event.location),
    }


def _times(event: EventData) -> dict[str, Any]:
    return {
        "start": {"dateTime": _instant(event.start, event.timezone), "timeZone": event.timezone},
        "end": {"dateTime": _instant(event.end, event.timezone), "timeZone": event.timezone},
    }


def event_body(event: EventData) -> dict[str, Any]:
    """The Google event resource agentcal inserts: only the fields it owns (instants with their
    offset plus the IANA zone, which Google uses to show the event and for recurrences)."""
    body: dict[str, Any] = {"summary": event.title, **_times(event)}
    text = owned.block(event)
    if text:
        body["description"] = text
    if event.location:
        body["location"] = event.location
    body["extendedProperties"] = {"private": _private_props(event)}
    return body


def patch_body(existing: dict[str, Any], event: EventData, default_tz: str) -> dict[str, Any]:
    """The `events.patch` body that brings the fields agentcal owns up to date, and nothing
    else (empty: nothing to change). Google merges objects and replaces arrays, so the user's
    attendees, reminders, colour and own private properties are never sent, never touched."""
    body: dict[str, Any] = {}
    if (existing.get("summary") or "") != event.title:
        body["summary"] = event.title
    wanted = _times(event)
    for name in ("start", "end"):
        mine = _parse_time(wanted[name], default_tz)
        theirs = _parse_time(existing.get(name), default_tz)
        if mine != theirs or (existing.get(name) or {}).get("timeZone") != event.timezone:
            body[name] = wanted[name]
    mark = _private(existing)
    description = owned.description_update(
        existing.get("description"), event, mark.get("agentcalBlock")
    )
    if description is not None:
        body["description"] = description
    location = owned.location_update(existing.get("location"), event, mark.get("agentcalLocation"))
    if location is not None:
        body["location"] = location
    if body:
        body["extendedProperties"] = {"private": _private_props(event)}
    return body


def _parse_time(value: dict[str, Any] | None, default_tz: str) -> datetime | None:
    """A Google start/end (dateTime with or without offset, or an all-day date) as an instant."""
    if not value:
        return None
    if "dateTime" in value:
        moment = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(value.get("timeZone") or default_tz))
        return moment
    if "date" in value:
        day = datetime.fromisoformat(value["date"])
        return day.replace(tzinfo=ZoneInfo(value.get("timeZone") or default_tz))
    return None


def _private(resource: dict[str, Any]) -> dict[str, str]:
    return dict((resource.get("extendedProperties") or {}).get("private") or {})


def _same(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and a == b


def user_changed(existing: dict[str, Any], default_tz: str) -> str | None:
    """Why an agentcal event in Google must be left alone (deleted or moved by the user)."""
    if existing.get("status") == "cancelled":
        return "deleted in Google Calendar by the user; left deleted"
    mark = _private(existing)
    if mark.get(TAG) != "1":
        return "the Google event with this id is not agentcal's; left alone"
    placed_start = mark.get("agentcalStart")
    placed_end = mark.get("agentcalEnd")
    if placed_start and placed_end:
        now_start = _parse_time(existing.get("start"), default_tz)
        now_end = _parse_time(existing.get("end"), default_tz)
        if not (
            _same(now_start, datetime.fromisoformat(placed_start))
            and _same(now_end, datetime.fromisoformat(placed_end))
        ):
            return "moved in Google Calendar by the user; left where they put it"
    return None


@dataclass
class _Call:
    key: str
    make: Callable[[], Any]  # builds a fresh googleapiclient HttpRequest (one per attempt)


@dataclass
class _Outcome:
    response: Any = None
    status: int | None = None  # HTTP status of a failure; None for success or network errors
    reason: str = ""
    message: str = ""
    retryable: bool = False
    retry_after: float | None = None
    outage: bool = False  # Google as a whole is unusable now (unreachable, quota, sign-in)

    @property
    def ok(self) -> bool:
        return not self.message


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _from_http_error(exc: Any) -> _Outcome:
    status = int(exc.resp.status)
    reason, detail = "", ""
    try:
        err = json.loads(exc.content.decode("utf-8", "replace"))["error"]
        detail = str(err.get("message") or "")
        reason = str((err.get("errors") or [{}])[0].get("reason") or err.get("status") or "")
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        pass
    quota = status in (403, 429) and reason in QUOTA_REASONS
    retryable = not quota and (
        status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMIT_REASONS)
    )
    if quota:
        message = QUOTA_MESSAGE.format(reason=reason)
    else:
        message = f"Google Calendar answered {status}" + (f" {reason}" if reason else "")
        if detail:
            message += f": {detail}"
    return _Outcome(
        status=status,
        reason=reason,
        message=message,
        retryable=retryable,
        retry_after=(
            outages.QUOTA_RETRY_SECONDS
            if quota
            else _retry_after(exc.resp.get("retry-after"))
            if retryable
            else None
        ),
        outage=quota,
    )


def _resolve_endpoints(endpoint: str | None) -> tuple[str, str]:
    """(service base URL, batch URL) for a root URL such as http://127.0.0.1:8080/."""
    root = endpoint or DEFAULT_ROOT
    root = root.rstrip("/") + "/"
    if root.endswith("calendar/v3/"):
        root = root[: -len("calendar/v3/")]
    return root + "calendar/v3/", root + "batch/calendar/v3"


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
        self._transport = transport
        self._sleep = sleep
        self._rand = rand
        self.batch_size = max(1, min(batch_size, 1000))
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._service: Any = None
        self._credentials: Any = None
        self._token_seen: str | None = None
        self._stopped: _Outcome | None = None  # an outage: send nothing more
        self.base_url, self.batch_uri = _resolve_endpoints(settings.google_api_endpoint)
        # The key of this server's outages, per sign-in (one user's refused token or used-up
        # quota is not another's).
        self.server = f"google {self.base_url} {settings.google_token_path}"
        self.timeout = settings.calendar_timeout
        self.http_requests = 0  # HTTP requests sent for calendar calls (the benchmark reads it)

    # -- client -------------------------------------------------------------------------------

    @property
    def service(self) -> Any:
        if self._service is None:
            import httplib2
            from google_auth_httplib2 import AuthorizedHttp
            from googleapiclient.discovery import build

            from agentcal.calendars.google_auth import load_credentials

            self._credentials = load_credentials(self.settings)
            self._token_seen = self._credentials.token
            http = AuthorizedHttp(
                self._credentials, http=self._transport or httplib2.Http(timeout=self.timeout)
            )
            self._service = build(
                "calendar",
                "v3",
                http=http,
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": self.base_url},
            )
        return self._service

    def _save_refreshed_token(self) -> None:
        creds = self._credentials
        if creds is not None and creds.token and creds.token != self._token_seen:
            from agentcal.calendars.google_auth import save_credentials

            save_credentials(self.settings, creds)
            self._token_seen = creds.token

    # -- sending calls with batching and retries ----------------------------------------------

    def _outage(self, message: str, retry_after: float) -> _Outcome:
        """Stop sending: this command's remaining calls, and (for `retry_after` seconds) every
        backend in this process talking to the same server, fail at once with `message`."""
        outages.record(self.server, message, retry_after)
        self._stopped = _Outcome(message=message, retry_after=retry_after, outage=True)
        return self._stopped

    def _check_server(self) -> None:
        """Stop while an outage of this server is recorded (by this backend or another in this
        process); once it expired or was cleared, send again."""
        known = outages.current(self.server)
        self._stopped = (
            None
            if known is None
            else _Outcome(message=known.message, retry_after=known.retry_after, outage=True)
        )

    def _send(self, calls: list[_Call]) -> dict[str, _Outcome]:
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import BatchError, HttpError
        from googleapiclient.http import BatchHttpRequest
        from httplib2 import HttpLib2Error

        out: dict[str, _Outcome] = {}

        def collect(key: str, response: Any, exc: Exception | None) -> None:
            if exc is None:
                out[key] = _Outcome(response=response)
            elif isinstance(exc, HttpError):
                out[key] = _from_http_error(exc)
            else:
                out[key] = _Outcome(message=f"Google Calendar call failed: {exc}", retryable=True)

        try:
            self.http_requests += 1
            if len(calls) == 1:
                call = calls[0]
                try:
                    collect(call.key, call.make().execute(num_retries=0), None)
                except HttpError as exc:
                    collect(call.key, None, exc)
            else:
                batch = BatchHttpRequest(callback=collect, batch_uri=self.batch_uri)
                for call in calls:
                    batch.add(call.make(), request_id=call.key)
                batch.execute(http=self.service._http)
        except HttpError as exc:  # the batch request itself failed: every call shares it
            whole = _from_http_error(exc)
            out = {c.key: whole for c in calls}
        except RefreshError as exc:
            detail = exc.args[0] if exc.args else exc
            failure = self._outage(AUTH_MESSAGE.format(detail=detail), outages.AUTH_RETRY_SECONDS)
            out = {c.key: failure for c in calls}
        except (HttpLib2Error, OSError, TransportError) as exc:
            # Refused, timed out, no route: no retry loop here (each try would cost a timeout);
            # the job layer tries again later.
            problem = outages.network_problem(exc, self.timeout)
            failure = self._outage(
                f"cannot reach Google Calendar ({problem})", outages.UNREACHABLE_RETRY_SECONDS
            )
            out = {c.key: failure for c in calls}
        except (BatchError, ValueError, IndexError) as exc:  # a garbled batch answer
            failure = _Outcome(message=f"unreadable answer from Google: {exc}", retryable=True)
            out = {c.key: failure for c in calls}
        for call in calls:  # a batch answer missing a part: treat as a transient failure
            out.setdefault(
                call.key, _Outcome(message="no answer for this call in the batch", retryable=True)
            )
        if any(o.ok for o in out.values()):
            outages.clear(self.server)
        return out

    def _run(self, calls: list[_Call]) -> dict[str, _Outcome]:
        """Send the calls in batches; re-batch the retryable failures with backoff."""
        results: dict[str, _Outcome] = {}
        pending = calls
        attempt = 0
        while pending:
            self._check_server()
            round_out: dict[str, _Outcome] = {}
            for i in range(0, len(pending), self.batch_size):
                chunk = pending[i : i + self.batch_size]
                if self._stopped is not None:
                    round_out.update({c.key: self._stopped for c in chunk})
                    continue
                sent = self._send(chunk)
                round_out.update(sent)
                quota = next((o for o in sent.values() if o.outage), None)
                if quota is not None and self._stopped is None:
                    self._outage(quota.message, quota.retry_after or 0.0)
            retry = [c for c in pending if round_out[c.key].retryable and self._stopped is None]
            results.update({c.key: round_out[c.key] for c in pending})
            if not retry:
                break
            asked = max((round_out[c.key].retry_after or 0.0) for c in retry)
            delay = max(self.base_delay * 2**attempt * (0.5 + self._rand() / 2), asked)
            if attempt >= self.max_retries or delay > self.max_delay:
                # Google keeps failing: an outage (one alert; the syncs wait and resume).
                last = round_out[retry[0].key]
                failure = self._outage(
                    f"{last.message} (still failing after {attempt + 1} tries)",
                    max(asked, outages.UNREACHABLE_RETRY_SECONDS),
                )
                results.update({c.key: failure for c in retry})
                break
            self._sleep(delay)
            attempt += 1
            pending = retry
        return results

    # -- the backend interface ----------------------------------------------------------------

    def upsert(self, event: EventData) -> SyncResult:
        return self.sync_many([event])[0]

    def delete(self, event: EventData) -> SyncResult:
        return self.sync_many([event])[0]

    def sync_many(self, events: list[EventData]) -> list[SyncResult]:
        """Insert, patch or delete each event; one batch per phase (<= 50 calls each)."""
        try:
            return self._sync(events)
        except ConfigError as exc:  # not signed in, unreadable token: wait for `auth google`
            failure = _Outcome(
                message=str(exc), retry_after=outages.AUTH_RETRY_SECONDS, outage=True
            )
            return [self._fail(e, failure) for e in events]
        finally:
            self._save_refreshed_token()

    def _fail(self, event: EventData, outcome: _Outcome) -> SyncResult:
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
        self._check_server()
        if self._stopped is not None:  # known to be down: not even a connection attempt
            return [self._fail(e, self._stopped) for e in events]
        events_api = self.service.events()
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

        def insert(i: int) -> _Call:
            body = {"id": google_event_id(events[i].uid, events[i].revision)}
            body.update(event_body(events[i]))
            return _Call(str(i), lambda: events_api.insert(calendarId=cal, body=body))

        def get(i: int, event_id: str) -> _Call:
            return _Call(str(i), lambda: events_api.get(calendarId=cal, eventId=event_id))

        def remove(i: int) -> _Call:
            event_id = events[i].backend_event_id
            return _Call(
                str(i),
                lambda: events_api.delete(calendarId=cal, eventId=event_id, sendUpdates="none"),
            )

        first = self._run(
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
            second = self._run([get(i, existing[i][0]) for i in refetch])
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

            def patch(i: int, gid: str, body: dict[str, Any]) -> _Call:
                return _Call(
                    str(i), lambda: events_api.patch(calendarId=cal, eventId=gid, body=body)
                )

            third = self._run([patch(i, gid, body) for i, gid, body in patches])
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
            self._check_server()
            if self._stopped is not None:
                raise ExternalServiceError(self._stopped.message)
            events_api = self.service.events()
            spans: list[Interval] = []
            page: str | None = None
            while True:
                call = _Call(
                    "list",
                    lambda token=page: events_api.list(  # type: ignore[misc]
                        calendarId=self.calendar_id,
                        timeMin=_utc(start),
                        timeMax=_utc(end),
                        singleEvents=True,
                        orderBy="startTime",
                        maxResults=2500,
                        pageToken=token,
                    ),
                )
                o = self._run([call])["list"]
                if not o.ok:
                    raise ExternalServiceError(f"cannot read busy times: {o.message}")
                for item in o.response.get("items", []):
                    if (
                        item.get("status") == "cancelled"
                        or item.get("transparency") == "transparent"
                    ):
                        continue
                    if _private(item).get(TAG) == "1":
                        continue
                    a = _parse_time(item.get("start"), self.default_tz)
                    b = _parse_time(item.get("end"), self.default_tz)
                    if a is None or b is None:
                        continue
                    a, b = max(a, start), min(b, end)
                    if a < b:
                        spans.append((a, b))
                page = o.response.get("nextPageToken")
                if not page:
                    break
            return merge_intervals(spans)
        finally:
            self._save_refreshed_token()
