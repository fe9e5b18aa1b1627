"""Local backend (store + ICS file), `agentcal calendar` and `agentcal auth` commands."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from agentcal.calendars import get_backend
from agentcal.calendars.base import EventData
from agentcal.calendars.ics import atomic_write
from agentcal.calendars.local import LocalCalendar
from agentcal.planning.events import calendar_events_service as events
from agentcal.planning.preferences import calendar_preferences_service as prefs
from agentcal.settings import get_settings, reset_settings
from tests.google_server import token_json

NY = ZoneInfo("America/New_York")
# Two working weeks either side of the end of US daylight saving time (Sunday 2026-11-01).
WEEKDAYS = [date(2026, 10, 26) + timedelta(days=d) for d in range(5)] + [
    date(2026, 11, 2) + timedelta(days=d) for d in range(5)
]
TRICKY = "<b>Gym</b> [bold]x[/bold]'; DROP TABLE calendar_events;-- ü"


@pytest.fixture
def ny(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AGENTCAL_TIMEZONE", "America/New_York")
    reset_settings()
    return get_settings()


def gym_weeks(user: str = "alice") -> list[int]:
    """The seed's gym habit: weekdays at 06:00 for 60 minutes, as the emitter would insert it."""
    pref = prefs.create_preference(
        user_id=user,
        preference_type="gym",
        title="Morning Gym",
        start_time="06:00",
        duration_minutes=60,
        day_of_week=[1, 2, 3, 4, 5],
    )
    ids = []
    for day in WEEKDAYS:
        e = events.create_event(
            user_id=user,
            title="Morning Gym",
            start=datetime.combine(day, time(6, 0), tzinfo=NY),
            duration_minutes=60,
            timezone="America/New_York",
            origin="emitter",
            preference_id=pref.id,
            local_date=day,
        )
        ids.append(e.id)
    return ids


def sync_all(user: str = "alice") -> list:  # type: ignore[type-arg]
    snapshots = [EventData.from_event(e) for e in events.list_events(user, include_cancelled=True)]
    return LocalCalendar(get_settings()).sync_many(snapshots)


def read_ics(path) -> Calendar:  # type: ignore[no-untyped-def]
    return Calendar.from_ical(path.read_bytes())


def test_default_backend_is_local():
    assert isinstance(get_backend(), LocalCalendar)


def test_gym_weeks_appear_at_six_local_time_on_weekdays(ny):
    gym_weeks()

    results = sync_all()

    assert all(r.ok for r in results)
    cal = read_ics(ny.ics_file)
    vevents = cal.walk("VEVENT")
    assert len(vevents) == 10
    starts = [v.decoded("DTSTART") for v in vevents]
    assert [s.date() for s in starts] == WEEKDAYS
    assert all((s.hour, s.minute) == (6, 0) and s.isoweekday() <= 5 for s in starts)
    assert {str(s.tzinfo) for s in starts} == {"America/New_York"}
    assert {v["DTSTART"].params["TZID"] for v in vevents} == {"America/New_York"}
    # The same wall time is a different UTC instant on either side of the DST change.
    assert {s.astimezone(UTC).hour for s in starts} == {10, 11}
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/New_York"]
    assert b"DTSTART;TZID=America/New_York:20261026T060000" in ny.ics_file.read_bytes()


def test_file_matches_the_store_and_keeps_text_verbatim():
    e1 = events.create_event(
        user_id="alice",
        title=TRICKY,
        start=datetime(2026, 12, 1, 9, tzinfo=UTC),
        duration_minutes=30,
        description="line one\nline two; with, punctuation",
        location="Room <1>",
    )
    e2 = events.create_event(
        user_id="alice",
        title="Lunch",
        start=datetime(2026, 12, 1, 12, tzinfo=UTC),
        duration_minutes=45,
    )
    events.create_event(  # someone else's event stays out of alice's file
        user_id="bob",
        title="Bob's",
        start=datetime(2026, 12, 1, 12, tzinfo=UTC),
        duration_minutes=45,
    )

    sync_all()

    vevents = {str(v["UID"]): v for v in read_ics(get_settings().ics_file).walk("VEVENT")}
    assert set(vevents) == {e1.uid, e2.uid}
    v1 = vevents[e1.uid]
    assert str(v1["SUMMARY"]) == TRICKY
    assert str(v1["DESCRIPTION"]) == "line one\nline two; with, punctuation"
    assert str(v1["LOCATION"]) == "Room <1>"
    assert v1.decoded("DTSTART").astimezone(UTC) == e1.start_at
    assert v1.decoded("DTEND").astimezone(UTC) == e1.end_at
    assert str(vevents[e2.uid]["SUMMARY"]) == "Lunch"


def test_the_placement_reason_is_in_the_description():
    events.create_event(
        user_id="alice", title="Gym", start=datetime(2026, 12, 1, 6, tzinfo=UTC),
        duration_minutes=60, description="Leg day",
        placement_note="moved -0:30 h to 05:30 to avoid “Standup” at 06:00",
    )  # fmt: skip

    sync_all()

    [vevent] = read_ics(get_settings().ics_file).walk("VEVENT")
    assert str(vevent["DESCRIPTION"]) == (
        "Leg day\nWhy here: moved -0:30 h to 05:30 to avoid “Standup” at 06:00"
    )


def test_cancelled_events_are_removed_from_the_file():
    ids = gym_weeks()
    sync_all()
    cancelled = events.cancel_event("alice", ids[0])

    [result] = LocalCalendar(get_settings()).sync_many([EventData.from_event(cancelled)])

    assert result.ok and result.backend_event_id is None
    uids = [str(v["UID"]) for v in read_ics(get_settings().ics_file).walk("VEVENT")]
    assert len(uids) == 9 and cancelled.uid not in uids


def test_output_is_stable_private_and_leaves_no_temp_files():
    gym_weeks()
    path = get_settings().ics_file
    sync_all()
    first = path.read_bytes()

    sync_all()

    assert path.read_bytes() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".calendar")) == []


def test_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out" / "cal.ics"
    old = b"BEGIN:VCALENDAR\r\nPRODID:-//agentcal//old\r\n"
    atomic_write(target, old)

    def boom(src, dst):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == old
    assert [p.name for p in target.parent.iterdir()] == ["cal.ics"]


def test_other_users_get_their_own_file():
    bob = events.create_event(
        user_id="bob",
        title="Bob's run",
        start=datetime(2026, 12, 1, 7, tzinfo=UTC),
        duration_minutes=30,
    )
    backend = LocalCalendar(get_settings())

    [result] = backend.sync_many([EventData.from_event(bob)])

    assert result.ok
    path = backend.ics_path("bob")
    assert path != get_settings().ics_file and path.parent == get_settings().ics_file.parent
    assert [str(v["SUMMARY"]) for v in read_ics(path).walk("VEVENT")] == ["Bob's run"]
    assert not get_settings().ics_file.exists()


def test_busy_times_count_only_events_the_user_entered():
    gym_weeks()
    dentist = events.create_event(
        user_id="alice",
        title="Dentist",
        start=datetime(2026, 10, 27, 14, tzinfo=UTC),
        duration_minutes=60,
        origin="user",
    )

    busy = LocalCalendar(get_settings()).busy_times(
        datetime(2026, 10, 26, tzinfo=UTC), datetime(2026, 11, 7, tzinfo=UTC)
    )

    assert busy == [(dentist.start_at, dentist.end_at)]


# -- agentcal calendar ----------------------------------------------------------------------


def test_calendar_export_writes_an_ics_file(cli, tmp_path, ny):
    gym_weeks()
    target = tmp_path / "out" / "gym.ics"

    result = cli("calendar", "export", str(target))

    assert result.exit_code == 0, result.output
    assert "wrote 10 events" in result.output
    starts = [v.decoded("DTSTART") for v in read_ics(target).walk("VEVENT")]
    assert len(starts) == 10 and all(s.hour == 6 for s in starts)


def test_calendar_export_to_a_directory_is_a_clean_error(cli, tmp_path, snapshot):
    gym_weeks()
    before = snapshot()

    result = cli("calendar", "export", str(tmp_path))

    assert result.exit_code == 1
    assert "is a directory" in result.output and "Traceback" not in result.output
    assert snapshot() == before


def test_calendar_sync_pushes_pending_events_once(cli):
    ids = gym_weeks()

    first = cli("calendar", "sync", "--json")
    second = cli("calendar", "sync")

    assert first.exit_code == 0, first.output
    pushed = json.loads(first.output)
    assert sorted(o["event_id"] for o in pushed) == sorted(ids)
    assert all(o["ok"] and o["action"] == "upsert" for o in pushed)
    assert "nothing to sync" in second.output
    stored = events.get_event("alice", ids[0])
    assert stored.backend == "local" and stored.synced_revision == stored.revision
    assert stored.backend_event_id == stored.uid
    assert len(read_ics(get_settings().ics_file).walk("VEVENT")) == 10


def test_calendar_busy_lists_user_entered_time_as_json(cli):
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    events.create_event(
        user_id="alice", title="Dentist", start=start, duration_minutes=30, origin="user"
    )
    events.create_event(
        user_id="alice", title="Gym", start=start + timedelta(hours=2), duration_minutes=30
    )

    result = cli("calendar", "busy", "--json")

    assert result.exit_code == 0, result.output
    spans = json.loads(result.output)
    assert spans == [
        {"start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()}
    ]


# -- agentcal auth --------------------------------------------------------------------------


def test_auth_status_logout_cycle(cli):
    settings = get_settings()
    assert "not signed in" in cli("auth", "status").output

    settings.google_token_path.write_text(token_json("secret-access-token"))
    os.chmod(settings.google_token_path, 0o644)
    status = json.loads(cli("auth", "status", "--json").output)

    assert status["signed_in"] and status["has_refresh_token"] and status["access_token_valid"]
    assert status["scopes"] == ["https://www.googleapis.com/auth/calendar.events"]
    assert status["file_mode"] == "0o600"  # tightened on load
    text = cli("auth", "status").output
    assert "secret-access-token" not in text and "refresh-1" not in text

    assert "signed out" in cli("auth", "logout").output
    assert not settings.google_token_path.exists()
    assert "nothing to delete" in cli("auth", "logout").output


def test_auth_google_without_client_secrets_is_a_clear_error(cli, monkeypatch, tmp_path):
    result = cli("auth", "google", "--no-browser")
    assert result.exit_code == 1 and "AGENTCAL_GOOGLE_CLIENT_SECRETS" in result.output

    monkeypatch.setenv("AGENTCAL_GOOGLE_CLIENT_SECRETS", str(tmp_path / "missing.json"))
    result = cli("auth", "google", "--no-browser")
    assert result.exit_code == 1 and "does not exist" in result.output

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"web-ish": {}}))
    monkeypatch.setenv("AGENTCAL_GOOGLE_CLIENT_SECRETS", str(bad))
    result = cli("auth", "google", "--no-browser")
    assert result.exit_code == 1 and "not an OAuth client secrets file" in result.output
