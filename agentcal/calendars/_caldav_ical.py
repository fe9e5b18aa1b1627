"""The iCalendar side of the CalDAV backend: the VEVENT agentcal writes, the fields it owns in
one the user may have edited, and how it tells that the user moved it.

agentcal marks what it writes with `X-AGENTCAL: 1` and records where it put the event in
`X-AGENTCAL-START`/`X-AGENTCAL-END`; an update changes only the fields agentcal owns inside
the stored VEVENT (calendars/owned.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.calendars import owned
from agentcal.calendars.base import EventData, Interval, clip

TAG = "X-AGENTCAL"


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
    start = instant(vevent.decoded("DTSTART"), tz) if "DTSTART" in vevent else None
    end = instant(vevent.decoded("DTEND"), tz) if "DTEND" in vevent else None
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


def instant(value: Any, tz: ZoneInfo) -> datetime | None:
    """A DTSTART/DTEND value as an aware datetime (a floating time or a date in `tz`)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=tz)
    return None


def user_changed(vevent: Any) -> str | None:
    """Why an agentcal event on the server must be left alone (moved by the user), if so."""
    if str(vevent.get(TAG, "")) != "1":
        return "the calendar object with this UID is not agentcal's; left alone"
    placed_start, placed_end = vevent.get(TAG + "-START"), vevent.get(TAG + "-END")
    if placed_start is None or placed_end is None:
        return None
    start = instant(vevent.decoded("DTSTART"), ZoneInfo("UTC"))
    end = instant(vevent.decoded("DTEND"), ZoneInfo("UTC")) if "DTEND" in vevent else None

    def parse(text: Any) -> datetime:
        return datetime.strptime(str(text), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)

    if start != parse(placed_start) or end != parse(placed_end):
        return "moved in the calendar by the user; left where they put it"
    return None


def busy_spans(vevents: Any, start: datetime, end: datetime, tz: ZoneInfo) -> list[Interval]:
    """The parts of [start, end) the user's own events (not agentcal's, not transparent, not
    cancelled) keep busy, unmerged."""

    def own() -> Iterator[tuple[datetime | None, datetime | None]]:
        for vevent in vevents:
            if str(vevent.get(TAG, "")) == "1":
                continue
            if str(vevent.get("TRANSP", "")).upper() == "TRANSPARENT":
                continue
            if str(vevent.get("STATUS", "")).upper() == "CANCELLED":
                continue
            a = instant(vevent.decoded("DTSTART"), tz)
            if "DTEND" in vevent:
                yield a, instant(vevent.decoded("DTEND"), tz)
            elif "DURATION" in vevent and a is not None:
                yield a, a + vevent.decoded("DURATION")

    return clip(own(), start, end)
