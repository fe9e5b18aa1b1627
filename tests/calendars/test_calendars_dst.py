"""Clock changes, end to end: the emitter plans 90 days across DST transitions and every event
reaches all three backends (the ICS file, the fake Google Calendar, a real Radicale server)
lasting exactly its preference's duration, at the instant agentcal planned.

The preferences sit in the hours that a transition repeats or skips in each zone: New York and
Paris (one hour), Casablanca (one hour, twice a year around Ramadan), Lord Howe Island (thirty
minutes), and Kolkata (no DST) as a control.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from agentcal.calendars.base import EventData
from agentcal.calendars.caldav import CalDAVCalendar
from agentcal.calendars.google import GoogleCalendar
from agentcal.calendars.local import LocalCalendar
from agentcal.planning.emitter import calendar_event_emitter as emitter
from agentcal.planning.events import calendar_events_service as events
from agentcal.planning.preferences import calendar_preferences_service as prefs
from agentcal.settings import get_settings, reset_settings
from tests.google_server import FakeGoogleCalendar, token_json

DAYS = 90
# (zone, first day of the 90-day window, [(start time, minutes)]); each window holds at least
# one transition, and the times fall in its repeated or skipped hour.
WINDOWS = [
    (
        "America/New_York",
        date(2026, 10, 10),
        [("01:30", 60), ("02:30", 30)],
    ),  # Nov 1: 01:00-02:00 twice
    (
        "America/New_York",
        date(2027, 2, 1),
        [("01:30", 60), ("02:30", 30)],
    ),  # Mar 14: 02:00-03:00 skipped
    (
        "Europe/Paris",
        date(2026, 10, 1),
        [("02:30", 30), ("01:45", 90)],
    ),  # Oct 25: 02:00-03:00 twice
    ("Europe/Paris", date(2027, 3, 1), [("02:30", 30), ("01:45", 90)]),  # Mar 28: skipped
    ("Africa/Casablanca", date(2027, 1, 20), [("02:30", 30), ("01:45", 90)]),  # Feb 7 and Mar 14
    (
        "Australia/Lord_Howe",
        date(2026, 9, 20),
        [("02:15", 30), ("01:45", 45)],
    ),  # Oct 4: 30 min skipped
    (
        "Australia/Lord_Howe",
        date(2027, 3, 10),
        [("02:15", 30), ("01:45", 45)],
    ),  # Apr 4: 30 min twice
    ("Asia/Kolkata", date(2026, 10, 1), [("02:30", 30), ("01:45", 90)]),  # no DST
]


class NoBusy:
    name = "none"

    def busy_times(self, start, end):  # type: ignore[no-untyped-def]
        return []


def transitions(zone: str, first: date) -> int:
    """How many UTC-offset changes the window holds (so the test cannot silently miss them)."""
    tz = ZoneInfo(zone)
    t = datetime.combine(first, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    end = t + timedelta(days=DAYS)
    count, offset = 0, t.astimezone(tz).utcoffset()
    while t < end:
        t += timedelta(minutes=15)
        if t.astimezone(tz).utcoffset() != offset:
            count, offset = count + 1, t.astimezone(tz).utcoffset()
    return count


def instants(vevent) -> tuple[datetime, datetime]:  # type: ignore[no-untyped-def]
    return vevent.decoded("DTSTART").astimezone(UTC), vevent.decoded("DTEND").astimezone(UTC)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("zone", "first", "blocks"), WINDOWS, ids=[f"{z}-{d}" for z, d, _ in WINDOWS]
)
def test_every_event_keeps_its_duration_on_every_backend(
    monkeypatch, radicale, zone, first, blocks
):
    monkeypatch.setenv("AGENTCAL_TIMEZONE", zone)
    reset_settings()
    tz = ZoneInfo(zone)
    assert transitions(zone, first) >= (0 if zone == "Asia/Kolkata" else 1)
    minutes = {}
    for hhmm, length in blocks:
        p = prefs.create_preference(
            user_id="alice", preference_type="focus", title=f"Block {hhmm}",
            start_time=hhmm, duration_minutes=length, is_flexible=False,
        )  # fmt: skip
        minutes[p.id] = length
    now = datetime.combine(first, datetime.min.time(), tzinfo=tz).astimezone(UTC)

    result = emitter.process_user_preferences("alice", DAYS, now=now, backend=NoBusy())

    stored = events.list_events("alice")
    assert len(stored) == DAYS * len(blocks)
    expected = {e.uid: (e.start_at, e.end_at) for e in stored}
    for e in stored:
        assert e.end_at - e.start_at == timedelta(minutes=minutes[e.preference_id])
        local = e.start_at.astimezone(tz)
        pref_time = e.title.removeprefix("Block ")
        note = e.placement_note or ""
        if local.strftime("%H:%M") != pref_time:
            assert "does not exist" in note  # a skipped hour moves forward, and says so
        if local.replace(fold=1).utcoffset() != local.replace(fold=0).utcoffset():
            assert "happens twice" in note and local.fold == 0  # the first occurrence
    notes = [p.reason for p in result.placements]
    if zone != "Asia/Kolkata":
        assert any("happens twice" in n or "does not exist" in n for n in notes)
    snapshots = [EventData.from_event(e) for e in stored]

    # The ICS file: TZID times resolved by its VTIMEZONE, UTC where a TZID cannot say it.
    settings = get_settings()
    assert all(r.ok for r in LocalCalendar(settings).sync_many(snapshots))
    cal = Calendar.from_ical(settings.ics_file.read_bytes())
    got = {str(v["UID"]): instants(v) for v in cal.walk("VEVENT")}
    assert got == expected
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == [zone]

    # Google: instants with their offset; the fake answers in another zone (its calendar's).
    with FakeGoogleCalendar(zone="UTC") as fake:
        monkeypatch.setenv("AGENTCAL_GOOGLE_API_ENDPOINT", fake.url)
        reset_settings()
        settings = get_settings()
        settings.google_token_path.write_text(token_json())
        os.chmod(settings.google_token_path, 0o600)
        results = GoogleCalendar(settings, transport=fake.transport()).sync_many(snapshots)
        assert [r.error for r in results if not r.ok] == []
        google = {
            ev["extendedProperties"]["private"]["agentcalUid"]: (
                datetime.fromisoformat(ev["start"]["dateTime"]),
                datetime.fromisoformat(ev["end"]["dateTime"]),
            )
            for ev in fake.events()
        }
        assert google == expected
        assert {ev["start"]["timeZone"] for ev in fake.events()} == {zone}

    # CalDAV: a real Radicale server, read back object by object.
    monkeypatch.setenv("AGENTCAL_CALDAV_URL", radicale)
    monkeypatch.setenv("AGENTCAL_CALDAV_USERNAME", f"dst{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("AGENTCAL_CALDAV_PASSWORD", "anything")
    reset_settings()
    backend = CalDAVCalendar(get_settings())
    results = backend.sync_many(snapshots)
    assert [r.error for r in results if not r.ok] == []
    caldav = {
        str(v["UID"]): instants(v)
        for obj in backend.calendar.events()
        for v in obj.icalendar_instance.walk("VEVENT")
    }
    assert caldav == expected
