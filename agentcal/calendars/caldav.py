"""CalDAV backend (Nextcloud, iCloud, Fastmail, Radicale...) with the `caldav` package.

Each event is one calendar object named after its UID. agentcal marks what it writes with
`X-AGENTCAL: 1` and records where it put the event in `X-AGENTCAL-START`/`X-AGENTCAL-END`; as
with Google, an event the user deleted is skipped and one they moved is left where they put
it. An update changes only the fields agentcal owns inside the stored VEVENT (calendars/owned.py):
the alarms, attendees, location and description text the user added stay.

The password comes from AGENTCAL_CALDAV_PASSWORD or from AGENTCAL_CALDAV_PASSWORD_FILE (which
must not be readable by group or others). It is never printed.
"""

from __future__ import annotations

import random
import stat
import time as time_module
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin, urlsplit
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from agentcal.calendars import outages, owned
from agentcal.calendars.base import EventData, Interval, SyncResult
from agentcal.errors import ConfigError, ExternalServiceError

if TYPE_CHECKING:
    from agentcal.settings import Settings

TAG = "X-AGENTCAL"
DEFAULT_CALENDAR_NAME = "agentcal"
RETRIES = 3  # 429/5xx: tries after the first, with randomised exponential backoff
RETRY_BASE_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 30.0


DAV = "{DAV:}"
CAL = "{urn:ietf:params:xml:ns:caldav}"
PROPFIND = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:prop>'
    "<d:resourcetype/><d:displayname/><d:current-user-principal/>"
    "<c:calendar-home-set/><c:supported-calendar-component-set/>"
    "</d:prop></d:propfind>"
)
MKCALENDAR = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:set><d:prop>'
    "<d:displayname>{name}</d:displayname>"
    '<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>'
    "</d:prop></d:set></c:mkcalendar>"
)


class _Failure(Exception):
    """A CalDAV call that did not work, as one line for the user."""

    def __init__(
        self,
        message: str,
        *,
        outage: bool = False,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.outage = outage
        self.retryable = retryable or outage
        self.retry_after = retry_after


@dataclass(frozen=True)
class Collection:
    """A calendar collection on the server, as a PROPFIND describes it."""

    url: str
    name: str
    components: frozenset[str]  # empty: the server did not say, which means all (RFC 4791)

    @property
    def holds_events(self) -> bool:
        return not self.components or "VEVENT" in self.components


def read_password(settings: Settings) -> str | None:
    """The CalDAV password from the environment or a private file (None: no password)."""
    if settings.caldav_password is not None:
        return settings.caldav_password.get_secret_value()
    path = settings.caldav_password_file
    if path is None:
        return None
    path = path.expanduser()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"cannot read the CalDAV password file {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise ConfigError(
            f"the CalDAV password file {path} has mode {mode:04o}, readable by others: "
            f"run `chmod 600 {path}`"
        )
    try:
        return path.read_text(encoding="utf-8").strip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the CalDAV password file {path}: {exc}") from None


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _set(vevent: Any, name: str, value: Any) -> None:
    vevent.pop(name, None)
    if value is not None:
        vevent.add(name, value)


def _mark(vevent: Any, event: EventData) -> None:
    """agentcal's X- properties: its tag, where it put the event, what it wrote last."""
    _set(vevent, TAG, "1")
    _set(vevent, TAG + "-START", _utc_text(event.start))
    _set(vevent, TAG + "-END", _utc_text(event.end))
    _set(vevent, TAG + "-BLOCK", owned.fingerprint(owned.block(event)) or None)
    _set(vevent, TAG + "-LOCATION", owned.fingerprint(event.location) or None)


def _with_timezones(cal: Any, event: EventData) -> None:
    cal.add_missing_timezones(
        first_date=date(event.start.year - 1, 1, 1), last_date=date(event.end.year + 2, 1, 1)
    )


def to_ical(event: EventData) -> bytes:
    """One VCALENDAR holding the event, in its own zone (VTIMEZONE + TZID)."""
    from icalendar import Calendar, Event

    from agentcal.calendars.ics import ical_time

    tz = ZoneInfo(event.timezone)
    vevent = Event.new(
        uid=event.uid,
        start=ical_time(event.start, tz),
        end=ical_time(event.end, tz),
        stamp=datetime.now(UTC).replace(microsecond=0),
        sequence=max(event.revision - 1, 0),
        summary=event.title,
        description=owned.block(event) or None,
        location=event.location or None,
    )
    _mark(vevent, event)
    cal = Calendar.new(prodid="-//agentcal//agentcal calendar//EN", subcomponents=[vevent])
    _with_timezones(cal, event)
    return bytes(cal.to_ical())


def merge_owned(cal: Any, vevent: Any, event: EventData) -> bool:
    """Bring the fields agentcal owns in `vevent` (inside `cal`) up to date, keeping everything
    the user added (alarms, attendees, location, their description text...). False: nothing
    to change."""
    from agentcal.calendars.ics import ical_time

    tz = ZoneInfo(event.timezone)
    changed = False
    if str(vevent.get("SUMMARY", "")) != event.title:
        _set(vevent, "SUMMARY", event.title)
        changed = True
    start = _instant(vevent.decoded("DTSTART"), tz) if "DTSTART" in vevent else None
    end = _instant(vevent.decoded("DTEND"), tz) if "DTEND" in vevent else None
    zone = vevent["DTSTART"].params.get("TZID") if "DTSTART" in vevent else None
    if start != event.start or end != event.end or "DURATION" in vevent or zone != event.timezone:
        vevent.pop("DURATION", None)
        _set(vevent, "DTSTART", ical_time(event.start, tz))
        _set(vevent, "DTEND", ical_time(event.end, tz))
        changed = True
    written = vevent.get(TAG + "-BLOCK")
    description = owned.description_update(
        str(vevent.get("DESCRIPTION", "")) or None, event, None if written is None else str(written)
    )
    if description is not None:
        _set(vevent, "DESCRIPTION", description or None)
        changed = True
    written = vevent.get(TAG + "-LOCATION")
    location = owned.location_update(
        str(vevent.get("LOCATION", "")) or None, event, None if written is None else str(written)
    )
    if location is not None:
        _set(vevent, "LOCATION", location)
        changed = True
    if not changed:
        return False
    now = datetime.now(UTC).replace(microsecond=0)
    _set(vevent, "SEQUENCE", int(vevent.get("SEQUENCE", 0)) + 1)
    _set(vevent, "DTSTAMP", now)
    _set(vevent, "LAST-MODIFIED", now)
    _mark(vevent, event)
    _with_timezones(cal, event)
    return True


def _instant(value: Any, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=tz)
    return None


def _vevents(obj: Any) -> list[Any]:
    return [c for c in obj.icalendar_instance.walk("VEVENT")]


def user_changed(vevent: Any) -> str | None:
    """Why an agentcal event on the server must be left alone (moved by the user), if so."""
    if str(vevent.get(TAG, "")) != "1":
        return "the calendar object with this UID is not agentcal's; left alone"
    placed_start, placed_end = vevent.get(TAG + "-START"), vevent.get(TAG + "-END")
    if placed_start is None or placed_end is None:
        return None
    start = _instant(vevent.decoded("DTSTART"), ZoneInfo("UTC"))
    end = _instant(vevent.decoded("DTEND"), ZoneInfo("UTC")) if "DTEND" in vevent else None

    def parse(text: Any) -> datetime:
        return datetime.strptime(str(text), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

    if start != parse(placed_start) or end != parse(placed_end):
        return "moved in the calendar by the user; left where they put it"
    return None


class CalDAVCalendar:
    """Pushes agentcal's events to one CalDAV calendar collection.

    Discovery (three PROPFINDs, once per backend object): the URL itself if it is a calendar
    that holds events, else the user's calendar home, then the calendar named by
    AGENTCAL_CALDAV_CALENDAR or the first one that supports VEVENT (a tasks-only list is never
    picked), else a new one. Each event is then one request when nothing conflicts: a create is
    `PUT If-None-Match: *`, a delete a `DELETE`, an update of an object nobody touched since
    agentcal wrote it whole a `PUT If-Match` on the ETag stored then. Otherwise (a 412, or the
    object holds something of the user's) an update reads the object (GET), merges the fields
    agentcal owns and writes it back with `If-Match` on the ETag it read.
    """

    name = "caldav"
    sync_chunk = 10  # events per sync_many call when a bar shows progress (one at a time)

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time_module.sleep):
        self.settings = settings
        self._sleep = sleep
        self.url = settings.caldav_url or ""
        # The key of this server's outages, per account (one refused password is not another's)
        self.server = f"caldav {self.url} {settings.caldav_username or ''}"
        self.timeout = settings.calendar_timeout
        self._client: Any = None
        self._collection: Collection | None = None
        self._calendar: Any = None
        self.http_requests = 0  # requests sent (the benchmark reads it)

    # -- talking to the server ----------------------------------------------------------------

    @property
    def client(self) -> Any:
        if self._client is None:
            import caldav

            if not self.url:
                raise _Failure(
                    "set AGENTCAL_CALDAV_URL to your CalDAV server or calendar URL",
                    outage=True,
                    retry_after=outages.AUTH_RETRY_SECONDS,
                )
            try:
                password = read_password(self.settings)
            except ConfigError as exc:
                raise _Failure(
                    str(exc), outage=True, retry_after=outages.AUTH_RETRY_SECONDS
                ) from None
            self._client = caldav.DAVClient(  # type: ignore[operator]
                url=self.url,
                username=self.settings.caldav_username,
                password=password,
                timeout=self.timeout,
                enable_rfc6764=False,
            )
        return self._client

    def _stop(self, failure: _Failure) -> _Failure:
        """An outage: this backend, and for a while every one talking to this server, stops."""
        if failure.outage:
            outages.record(self.server, str(failure), failure.retry_after or 60.0)
        return failure

    def _check_server(self) -> None:
        """Fail at once while an outage of this server is recorded (by this backend or another
        in this process); once it expired or was cleared, try again."""
        known = outages.current(self.server)
        if known is not None:
            raise _Failure(known.message, outage=True, retry_after=known.retry_after)

    def _request(
        self, url: str, method: str, body: str = "", headers: dict[str, str] | None = None
    ) -> Any:
        """One HTTP request, retried with backoff on 429/5xx (at least the server's
        Retry-After); still failing after RETRIES, or unreachable, or credentials refused:
        an outage."""
        for attempt in range(RETRIES + 1):
            try:
                answer = self._request_once(url, method, body, headers)
            except _Failure as exc:
                if not exc.retryable or exc.outage:
                    raise
                status, wait = str(exc), exc.retry_after or 0.0
            else:
                if answer.status < 500:
                    return answer
                status, wait = f"the CalDAV server answered {answer.status}", 0.0
            delay = max(RETRY_BASE_SECONDS * 2**attempt * (0.5 + random.random() / 2), wait)
            if attempt == RETRIES or delay > MAX_RETRY_DELAY_SECONDS:
                break
            self._sleep(delay)
        raise self._stop(
            _Failure(
                f"{status} (still failing after {attempt + 1} tries)",
                outage=True,
                retry_after=max(wait, outages.UNREACHABLE_RETRY_SECONDS),
            )
        )

    def _request_once(
        self, url: str, method: str, body: str = "", headers: dict[str, str] | None = None
    ) -> Any:
        from caldav.lib import error as dav_error

        self._check_server()
        self.http_requests += 1
        try:
            return self.client.request(url, method, body, headers or {})
        except dav_error.AuthorizationError as exc:
            if exc.status == 403:
                raise self._stop(
                    _Failure(
                        f"the CalDAV server refused access to {_path(url)} (403 Forbidden): "
                        "check that AGENTCAL_CALDAV_URL points at your own account or calendar",
                        outage=True,
                        retry_after=outages.AUTH_RETRY_SECONDS,
                    )
                ) from None
            raise self._stop(
                _Failure(
                    f"the CalDAV server at {self.url} refused the user name or password",
                    outage=True,
                    retry_after=outages.AUTH_RETRY_SECONDS,
                )
            ) from None
        except dav_error.RateLimitError as exc:
            raise _Failure(
                f"the CalDAV server answered {exc.status or 429} (slow down)",
                retryable=True,
                retry_after=exc.retry_after_seconds,
            ) from None
        except (dav_error.DAVError, OSError) as exc:
            problem = outages.network_problem(exc, self.timeout)
            raise self._stop(
                _Failure(
                    f"cannot reach the CalDAV server at {self.url} ({problem})",
                    outage=True,
                    retry_after=outages.UNREACHABLE_RETRY_SECONDS,
                )
            ) from None

    def _propfind(self, url: str, depth: str) -> list[tuple[str, dict[str, Any]]]:
        """(href, {property tag: element}) per resource; a clear failure if the server does
        not speak WebDAV/CalDAV there."""
        answer = self._request(
            url, "PROPFIND", PROPFIND, {"Depth": depth, "Content-Type": "application/xml"}
        )
        if answer.status == 404:
            raise self._stop(
                _Failure(
                    f"nothing at {url} (404 Not Found): check AGENTCAL_CALDAV_URL",
                    outage=True,
                    retry_after=outages.AUTH_RETRY_SECONDS,
                )
            )
        tree = getattr(answer, "tree", None)
        if answer.status != 207 or tree is None or tree.tag != DAV + "multistatus":
            kind = str(answer.headers.get("Content-Type", "")).split(";")[0] or "no content type"
            raise self._stop(
                _Failure(
                    f"{url} is not a CalDAV server (it answered {answer.status} {kind} to "
                    "a calendar query): check AGENTCAL_CALDAV_URL",
                    outage=True,
                    retry_after=outages.AUTH_RETRY_SECONDS,
                )
            )
        out = []
        for response in tree.findall(DAV + "response"):
            href = response.findtext(DAV + "href") or ""
            props: dict[str, Any] = {}
            for propstat in response.findall(DAV + "propstat"):
                if " 200 " in (propstat.findtext(DAV + "status") or " 200 "):
                    for prop in propstat.findall(DAV + "prop"):
                        props.update({child.tag: child for child in prop})
            out.append((urljoin(url, href), props))
        return out

    # -- which calendar -----------------------------------------------------------------------

    @staticmethod
    def _as_collection(url: str, props: dict[str, Any]) -> Collection | None:
        kind = props.get(DAV + "resourcetype")
        if kind is None or kind.find(CAL + "calendar") is None:
            return None
        comps = props.get(CAL + "supported-calendar-component-set")
        names = frozenset(
            str(c.get("name", "")).upper() for c in (comps if comps is not None else [])
        )
        name = (
            props.get(DAV + "displayname") is not None and props[DAV + "displayname"].text
        ) or ""
        return Collection(url if url.endswith("/") else url + "/", name, names)

    def collection(self) -> Collection:
        """The calendar collection events go to (found once, then remembered)."""
        if self._collection is None:
            self._collection = self._discover()
        return self._collection

    def _discover(self) -> Collection:
        wanted = self.settings.caldav_calendar
        [(url, props)] = self._propfind(self.url, "0")[:1] or [(self.url, {})]
        here = self._as_collection(url, props)
        if here is not None and here.holds_events and not wanted:
            return here
        home = self._home(url, props)
        calendars = [
            c
            for u, p in self._propfind(home, "1")
            if (c := self._as_collection(u, p)) is not None and u.rstrip("/") != home.rstrip("/")
        ]
        if here is not None and here.holds_events and wanted in (here.name, _slug(here.url)):
            return here
        if wanted:
            named = [c for c in calendars if wanted in (c.name, _slug(c.url))]
            if named and not named[0].holds_events:
                raise self._stop(
                    _Failure(
                        f"the CalDAV calendar {wanted!r} holds only "
                        f"{', '.join(sorted(named[0].components))} (no events): set "
                        "AGENTCAL_CALDAV_CALENDAR to a calendar for events, or to a new name",
                        outage=True,
                        retry_after=outages.AUTH_RETRY_SECONDS,
                    )
                )
            return named[0] if named else self._make(home, wanted)
        for c in calendars:
            if c.holds_events:
                return c
        return self._make(home, DEFAULT_CALENDAR_NAME)

    def _home(self, url: str, props: dict[str, Any]) -> str:
        """The user's calendar home: from the URL's properties, else via the principal."""
        for tag in (CAL + "calendar-home-set", DAV + "current-user-principal"):
            element = props.get(tag)
            href = element.findtext(DAV + "href") if element is not None else None
            if href and tag == CAL + "calendar-home-set":
                return urljoin(url, href)
            if href:
                [(_, principal)] = self._propfind(urljoin(url, href), "0")[:1] or [("", {})]
                return self._home(urljoin(url, href), {
                    k: v for k, v in principal.items() if k == CAL + "calendar-home-set"
                })  # fmt: skip
        raise self._stop(
            _Failure(
                f"{self.url} did not say where your calendars are (no calendar-home-set): "
                "set AGENTCAL_CALDAV_URL to the calendar's own URL",
                outage=True,
                retry_after=outages.AUTH_RETRY_SECONDS,
            )
        )

    def _make(self, home: str, name: str) -> Collection:
        url = urljoin(home if home.endswith("/") else home + "/", quote(_slugify(name)) + "/")
        answer = self._request(
            url,
            "MKCALENDAR",
            MKCALENDAR.format(name=escape(name)),
            {"Content-Type": "application/xml"},
        )
        if answer.status in (405, 409):
            # Another agentcal process (a second daemon) made it meanwhile: use theirs.
            for u, p in self._propfind(home, "1"):
                made = self._as_collection(u, p)
                if made is not None and made.url == url and made.holds_events:
                    return made
        if answer.status not in (200, 201):
            raise self._stop(
                _Failure(
                    f"cannot create the CalDAV calendar {name!r} at {url} ({answer.status})",
                    outage=True,
                    retry_after=outages.AUTH_RETRY_SECONDS,
                )
            )
        return Collection(url, name, frozenset({"VEVENT"}))

    @property
    def calendar(self) -> Any:
        """The collection as a `caldav.Calendar` (time-range searches; tests read through it)."""
        if self._calendar is None:
            import caldav

            self._calendar = caldav.Calendar(  # type: ignore[operator]
                client=self.client, url=self.collection().url
            )
        return self._calendar

    # -- events -------------------------------------------------------------------------------

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
        except _Failure as exc:
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
                return SyncResult(event.id, url, ok=True, etag=_etag(answer))
            # 412: it is there already (an earlier attempt got through): update it instead.
        elif event.backend_etag and url == event.backend_event_id:
            # Unchanged since agentcal wrote it whole: nothing of the user's to keep, so one
            # PUT of the whole object. 412: the user (or anyone) changed it: read, merge.
            body = to_ical(event).decode()
            answer = self._put(url, body, {"If-Match": event.backend_etag})
            if answer.status != 412:
                return SyncResult(event.id, url, ok=True, etag=_etag(answer))
        for _ in range(3):  # an ETag race with the user's app: read again, merge again
            answer = self._request(url, "GET")
            if answer.status == 404:
                return SyncResult(
                    event.id, url, ok=True, skipped=True,
                    error="deleted in the calendar by the user; left deleted",
                )  # fmt: skip
            _check(answer, url, "GET")
            from icalendar import Calendar

            try:
                cal = Calendar.from_ical(answer.raw)
            except ValueError:
                raise _Failure(f"{_path(url)} is not an iCalendar object") from None
            vevents = cal.walk("VEVENT")
            why = user_changed(vevents[0]) if vevents else "not an event; left alone"
            if why is not None:
                return SyncResult(event.id, url, ok=True, skipped=True, error=why)
            if not merge_owned(cal, vevents[0], event):
                return SyncResult(event.id, url, ok=True)
            etag = answer.headers.get("ETag")
            put = self._put(url, cal.to_ical().decode(), {"If-Match": etag} if etag else {})
            if put.status != 412:
                return SyncResult(event.id, url, ok=True)
        raise _Failure(f"{_path(url)} keeps changing on the server", retryable=True)

    def _put(self, url: str, body: str, headers: dict[str, str]) -> Any:
        answer = self._request(
            url, "PUT", body, {"Content-Type": "text/calendar; charset=utf-8", **headers}
        )
        if answer.status != 412:
            _check(answer, url, "PUT")
        return answer

    def _delete(self, event: EventData) -> SyncResult:
        url = self.object_url(event)
        answer = self._request(url, "DELETE")
        if answer.status not in (404, 410):  # gone already: fine
            _check(answer, url, "DELETE")
        return SyncResult(event.id, None, ok=True)

    def busy_times(self, start: datetime, end: datetime) -> list[Interval]:
        """Busy time in [start, end) from a time-range search, without agentcal's events."""
        from caldav.lib import error as dav_error

        from agentcal.calendars.base import merge_intervals

        tz = ZoneInfo(self.settings.timezone)
        try:
            self._check_server()
            found = self.calendar.search(start=start, end=end, event=True, expand=True)
        except _Failure as exc:
            raise ExternalServiceError(str(exc)) from None
        except (dav_error.DAVError, OSError) as exc:
            problem = outages.network_problem(exc, self.timeout)
            raise ExternalServiceError(f"cannot read busy times over CalDAV ({problem})") from None
        spans: list[Interval] = []
        for obj in found:
            for vevent in _vevents(obj):
                if str(vevent.get(TAG, "")) == "1":
                    continue
                if str(vevent.get("TRANSP", "")).upper() == "TRANSPARENT":
                    continue
                if str(vevent.get("STATUS", "")).upper() == "CANCELLED":
                    continue
                a = _instant(vevent.decoded("DTSTART"), tz)
                if "DTEND" in vevent:
                    b = _instant(vevent.decoded("DTEND"), tz)
                elif "DURATION" in vevent and a is not None:
                    b = a + vevent.decoded("DURATION")
                else:
                    b = None
                if a is None or b is None:
                    continue
                a, b = max(a, start), min(b, end)
                if a < b:
                    spans.append((a, b))
        return merge_intervals(spans)


def _etag(answer: Any) -> str | None:
    """The ETag a PUT answered: the server stored exactly the body sent (RFC 4791 5.3.4: no
    ETag when it changed it)."""
    value = answer.headers.get("ETag")
    return str(value)[:200] if value else None


def _check(answer: Any, url: str, method: str) -> None:
    """A failed request on one object: 5xx is worth retrying, 4xx is not."""
    if 200 <= answer.status < 300:
        return
    reason = getattr(answer, "reason", "") or ""
    raise _Failure(
        f"the CalDAV server answered {answer.status} {reason} to {method} {_path(url)}".rstrip(),
        retryable=answer.status >= 500,
    )


def _path(url: str) -> str:
    return urlsplit(url).path or url


def _slug(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def _slugify(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-").lower() or DEFAULT_CALENDAR_NAME
