"""ICS rendering and atomic file writes, shared by the local backend and `calendar export`.

The output is a pure function of the events: fixed calendar UID, each event's own UID, DTSTAMP
from the event's last change, events in start order. Writing the same calendar twice gives the
same bytes, so calendar apps that poll the file see no spurious changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from agentcal.calendars.owned import block_text
from agentcal.files import is_agentcal_ics, write_file

if TYPE_CHECKING:
    from agentcal.models import CalendarEvent
    from agentcal.records import EventRow

PRODID = "-//agentcal//agentcal calendar//EN"
ACTIVE_STATUSES = ("planned", "confirmed")
OWNER_PROPERTY = "X-AGENTCAL-USER"


def ical_time(moment: datetime, tz: ZoneInfo) -> datetime:
    """`moment` as an iCalendar DTSTART/DTEND should carry it: the local time in `tz` (written
    with TZID, resolved by the VTIMEZONE) when that names exactly this instant, else UTC.

    RFC 5545 reads a local time that occurs twice (the repeated hour of a DST change) as its
    first occurrence, so an instant in the second occurrence cannot be written with a TZID:
    it is written in UTC ("...Z"), which every client reads as the same instant.
    """
    local = moment.astimezone(tz)
    first = local.replace(fold=0)
    if first.astimezone(UTC) == moment.astimezone(UTC):
        return first
    return moment.astimezone(UTC)


def render_calendar(
    events: Iterable[CalendarEvent | EventRow], *, name: str = "agentcal", user: str | None = None
) -> bytes:
    """An iCalendar document of the active events (cancelled/unplaced ones are left out).
    With `user`, the calendar says whose it is (X-AGENTCAL-USER: `ics_owner` reads it back)."""
    from icalendar import Calendar, Event

    rows = sorted(
        (
            e
            for e in events
            if e.status in ACTIVE_STATUSES and e.start_at is not None and e.end_at is not None
        ),
        key=lambda e: (e.start_at, e.id or 0),
    )
    components = []
    for e in rows:
        assert e.start_at is not None and e.end_at is not None
        tz = ZoneInfo(e.timezone)
        event = Event.new(
            uid=e.uid,
            start=ical_time(e.start_at, tz),
            end=ical_time(e.end_at, tz),
            stamp=e.updated_at,
            last_modified=e.updated_at,
            created=e.created_at,
            sequence=max(e.revision - 1, 0),
            summary=e.title,
            # The file is agentcal's alone: its description is agentcal's text, no markers.
            description=block_text(e.description, e.placement_note) or None,
            location=e.location or None,
        )
        event.add("x-agentcal-origin", e.origin)
        if e.placement_note:
            event.add("x-agentcal-placement", e.placement_note)
        components.append(event)
    cal = Calendar.new(prodid=PRODID, name=name, uid=f"{name}-calendar@agentcal")
    if user is not None:
        cal.add(OWNER_PROPERTY, user)
    for component in components:
        cal.add_component(component)
    if rows:
        assert rows[0].start_at is not None and rows[-1].start_at is not None
        cal.add_missing_timezones(
            first_date=date(rows[0].start_at.year - 1, 1, 1),
            last_date=date(rows[-1].start_at.year + 2, 1, 1),
        )
    return bytes(cal.to_ical())


def ics_owner(path: Path) -> str | None:
    """Whose calendar the ICS file at `path` is (its X-AGENTCAL-USER), or None: no such file,
    not agentcal's, or written before files said whose they were. Reads the first 4 KiB (the
    property comes before any event), never through a link."""
    from icalendar.prop import vText

    from agentcal.files import read_head

    try:
        head = read_head(path)
    except OSError:
        return None
    if not is_agentcal_ics(head):
        return None
    text = head.decode("utf-8", errors="replace").replace("\r\n ", "").replace("\r\n\t", "")
    for line in text.split("\r\n"):
        if line.startswith("BEGIN:VEVENT"):
            break
        name, _, value = line.partition(":")
        if name.upper() == OWNER_PROPERTY:
            return str(vText.from_ical(value))
    return None


def atomic_write(
    path: Path,
    data: bytes,
    *,
    mode: int = 0o600,
    may_replace: Callable[[bytes], bool] = is_agentcal_ics,
) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never half of one.

    An existing file is replaced only if `may_replace` accepts its first bytes (by default: an
    ICS file agentcal wrote) and it is a regular file, not a link (`agentcal.files`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_file(
        path,
        data,
        mode=mode,
        may_replace=may_replace,
        what="a calendar file agentcal wrote",
        fix="point AGENTCAL_ICS_PATH at a new file, or move this one away",
    )
