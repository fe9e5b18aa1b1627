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

import contextlib
import stat
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from agentcal.calendars import owned
from agentcal.calendars.base import EventData, Interval, SyncResult
from agentcal.errors import ConfigError, ExternalServiceError

if TYPE_CHECKING:
    from agentcal.settings import Settings

TAG = "X-AGENTCAL"
DEFAULT_CALENDAR_NAME = "agentcal"


class CalDAVUnavailable(ExternalServiceError):
    """The server could not be used just now (rate limit, 5xx, network): worth retrying."""


def _one_line(exc: BaseException) -> str:
    # caldav's messages embed the server's response body, newlines included
    return " ".join(str(exc).split())


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
    """Pushes agentcal's events to one CalDAV calendar."""

    name = "caldav"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._calendar: Any = None

    @property
    def calendar(self) -> Any:
        if self._calendar is None:
            self._calendar = self._connect()
        return self._calendar

    def _connect(self) -> Any:
        import caldav
        from caldav.lib import error as dav_error
        from requests.exceptions import RequestException

        url = self.settings.caldav_url
        if not url:
            raise ConfigError("set AGENTCAL_CALDAV_URL to your CalDAV server or calendar URL")
        client = caldav.DAVClient(  # type: ignore[operator]
            url=url,
            username=self.settings.caldav_username,
            password=read_password(self.settings),
            timeout=30,
        )
        wanted = self.settings.caldav_calendar
        try:
            principal = client.principal()
            calendars = principal.calendars()
            for cal in calendars:
                if str(cal.url).rstrip("/") == url.rstrip("/"):
                    return cal
            if wanted:
                for cal in calendars:
                    if wanted in (cal.name, str(cal.url).rstrip("/").rsplit("/", 1)[-1]):
                        return cal
                return principal.make_calendar(name=wanted)
            if calendars:
                return calendars[0]
            return principal.make_calendar(name=DEFAULT_CALENDAR_NAME)
        except dav_error.AuthorizationError:
            raise ExternalServiceError(
                f"the CalDAV server at {url} refused the user name or password"
            ) from None
        except (dav_error.DAVError, RequestException, OSError) as exc:
            raise CalDAVUnavailable(
                f"cannot use the CalDAV server at {url}: {_one_line(exc)}"
            ) from None

    def _find(self, event: EventData) -> Any:
        """The event's calendar object, fetched by URL (None: not there).

        agentcal names each object after its UID, so one GET finds it: a search by UID (a
        REPORT) makes the server read the whole calendar, which made each sync slower as the
        calendar grew (Radicale: 0.1 s per event at 50 events, 0.5 s at 300). The URL the
        server gave last time (if in this calendar) is tried first.
        """
        from urllib.parse import quote

        from caldav.lib import error as dav_error

        base = str(self.calendar.url)
        own = str(self.calendar.url.join(quote(event.uid, safe="") + ".ics"))
        known = event.backend_event_id
        for url in dict.fromkeys((known, own) if known and known.startswith(base) else (own,)):
            try:
                return self.calendar.event_by_url(url)
            except dav_error.NotFoundError:
                continue
        return None

    def upsert(self, event: EventData) -> SyncResult:
        return self._guarded(event, self._upsert)

    def delete(self, event: EventData) -> SyncResult:
        return self._guarded(event, self._delete)

    def sync_many(self, events: list[EventData]) -> list[SyncResult]:
        """One event at a time (CalDAV has no batch); each result stands on its own."""
        return [self.delete(e) if e.cancelled else self.upsert(e) for e in events]

    def _guarded(self, event: EventData, action: Any) -> SyncResult:
        from caldav.lib import error as dav_error
        from requests.exceptions import RequestException

        try:
            result: SyncResult = action(event)
            return result
        except CalDAVUnavailable as exc:
            return SyncResult(
                event.id, event.backend_event_id, ok=False, error=str(exc), retryable=True
            )
        except (ConfigError, ExternalServiceError) as exc:
            return SyncResult(event.id, event.backend_event_id, ok=False, error=str(exc))
        except dav_error.AuthorizationError:
            return SyncResult(
                event.id,
                event.backend_event_id,
                ok=False,
                error="the CalDAV server refused the user name or password",
            )
        except (dav_error.DAVError, RequestException, OSError) as exc:
            return SyncResult(
                event.id,
                event.backend_event_id,
                ok=False,
                error=f"CalDAV call failed: {_one_line(exc)}",
                retryable=True,
            )

    def _upsert(self, event: EventData) -> SyncResult:
        existing = self._find(event)
        if existing is None and event.backend_event_id is not None:
            return SyncResult(
                event.id,
                event.backend_event_id,
                ok=True,
                skipped=True,
                error="deleted in the calendar by the user; left deleted",
            )
        if existing is not None:
            cal = existing.icalendar_instance
            vevents = cal.walk("VEVENT")
            why = user_changed(vevents[0]) if vevents else None
            if why is not None:
                return SyncResult(event.id, str(existing.url), ok=True, skipped=True, error=why)
            if merge_owned(cal, vevents[0], event):
                existing.data = cal.to_ical().decode()
                existing.save(increase_seqno=False)
            return SyncResult(event.id, str(existing.url), ok=True)
        saved = self.calendar.add_event(to_ical(event).decode(), increase_seqno=False)
        return SyncResult(event.id, str(saved.url), ok=True)

    def _delete(self, event: EventData) -> SyncResult:
        from caldav.lib import error as dav_error

        existing = self._find(event)
        if existing is not None:
            with contextlib.suppress(dav_error.NotFoundError):  # gone already: fine
                existing.delete()
        return SyncResult(event.id, None, ok=True)

    def busy_times(self, start: datetime, end: datetime) -> list[Interval]:
        """Busy time in [start, end) from a time-range search, without agentcal's events."""
        from caldav.lib import error as dav_error

        from agentcal.services.calendar_events import merge_intervals

        tz = ZoneInfo(self.settings.timezone)
        try:
            found = self.calendar.search(start=start, end=end, event=True, expand=True)
        except dav_error.DAVError as exc:
            raise ExternalServiceError(f"cannot read busy times over CalDAV: {exc}") from None
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
