"""Several people on one installation: every event lands only in its owner's calendar, at its
owner's local time, with its owner's credentials; a broken calendar stops no one else.

The calendars are real protocols: a Radicale server (one principal per person), two instances of
the stateful fake Google Calendar (tests/google_server.py), one per Google account, reached by
the OAuth token each request carries (tests/google_accounts.py), the local ICS files and the
`none` backend. The backends are built by the real per-user factory from
each person's profile and secret files.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from agentcal import user_files
from agentcal.db import session_scope
from agentcal.models import CalendarEvent, Job
from agentcal.planning.emitter import calendar_event_emitter
from agentcal.planning.preferences import calendar_preferences_service
from agentcal.settings import get_settings, reset_settings
from agentcal.users.profiles import user_profiles_service
from agentcal.workers.runner import JobWorker
from tests.google_accounts import AccountRouter
from tests.google_server import FakeGoogleCalendar, token_json
from tests.radicale_server import count_by_uid, free_port, radicale_server

ZONES = {
    "alice": "Europe/Paris",  # the configured user: environment settings, CalDAV
    "bob": "Pacific/Auckland",  # CalDAV, another principal
    "carol": "America/Los_Angeles",  # Google, her own account and calendar
    "dave": "Asia/Tokyo",  # Google, another account
    "erin": "Europe/Paris",  # no profile: local ICS
    "frank": "Asia/Kolkata",  # calendar none
    "gina": "Europe/Berlin",  # CalDAV server that is down
    "hank": "America/New_York",  # Google, never signed in
}


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):  # type: ignore[no-untyped-def]
    with radicale_server(tmp_path_factory.mktemp("radicale")) as url:
        yield url


def _events(user: str) -> list[CalendarEvent]:
    with session_scope() as s:
        return list(
            s.exec(
                select(CalendarEvent)
                .where(CalendarEvent.user_id == user, CalendarEvent.status == "planned")
                .order_by(CalendarEvent.start_at)
            )
        )


def _sync_jobs(user: str) -> list[Job]:
    with session_scope() as s:
        return list(s.exec(select(Job).where(Job.kind == "calendar_sync", Job.user_id == user)))


def _write_token(user: str, token: str) -> None:
    path = user_files.google_token_path(get_settings(), user)
    path.write_text(token_json(token))
    os.chmod(path, 0o600)


@pytest.fixture
def google():  # type: ignore[no-untyped-def]
    """Google accounts by access token: carol's, dave's, and the configured user's own."""
    fakes = {
        t: FakeGoogleCalendar(zone="UTC", tokens=(t,)).start()
        for t in ("carol-token", "dave-token", "alice-token")
    }
    yield fakes
    for fake in fakes.values():
        fake.stop()


@pytest.fixture
def household(radicale, google, monkeypatch):  # type: ignore[no-untyped-def]
    """Eight people, each with a 06:00 gym block every day, on seven kinds of calendar."""
    run = uuid.uuid4().hex[:8]
    principals = {"alice": f"alice{run}", "bob": f"bob{run}"}
    monkeypatch.setenv("AGENTCAL_CALENDAR", "caldav")
    monkeypatch.setenv("AGENTCAL_CALDAV_URL", radicale)
    monkeypatch.setenv("AGENTCAL_CALDAV_USERNAME", principals["alice"])
    monkeypatch.setenv("AGENTCAL_CALDAV_PASSWORD", "alice-secret")
    monkeypatch.setattr("agentcal.queue.leases.BACKOFF_BASE_SECONDS", 60.0)
    reset_settings()
    profiles = user_profiles_service
    profiles.add("bob", timezone=ZONES["bob"], calendar="caldav", caldav_url=radicale,
                 caldav_username=principals["bob"])  # fmt: skip
    profiles.edit("bob", caldav_password="bob-secret")
    profiles.add("carol", timezone=ZONES["carol"], calendar="google",
                 google_calendar_id="carol@group.calendar.google.com")  # fmt: skip
    profiles.add("dave", timezone=ZONES["dave"], calendar="google")
    profiles.add("frank", timezone=ZONES["frank"], calendar="none")
    profiles.add("gina", timezone=ZONES["gina"], calendar="caldav",
                 caldav_url=f"http://127.0.0.1:{free_port()}/", caldav_username="gina")  # fmt: skip
    profiles.add("hank", timezone=ZONES["hank"], calendar="google")
    # The configured user's own Google token exists: nobody else may ever use it.
    _write_token("alice", "alice-token")
    _write_token("carol", "carol-token")
    _write_token("dave", "dave-token")
    router = AccountRouter(google)
    monkeypatch.setattr("httplib2.Http", router.http)
    for user in ZONES:
        calendar_preferences_service.create_preference(
            user_id=user, preference_type="gym", start_time="06:00", duration_minutes=45
        )
    return principals, router


def test_every_event_lands_only_in_its_owners_calendar_at_its_owners_time(
    household, radicale, google, cli
):
    principals, router = household
    result = cli("emit", "--all-users", "--json")
    assert result.exit_code == 0, result.output
    # Each person's 06:00 is 06:00 where they live, and the event carries their zone.
    for user, zone in ZONES.items():
        events = _events(user)
        assert len(events) >= 6, user
        for e in events:
            assert e.timezone == zone
            assert e.start_at.astimezone(ZoneInfo(zone)).time() == time(6, 0), (user, e.start_at)
    uids = {user: {e.uid for e in _events(user)} for user in ZONES}

    JobWorker().run_once()

    # CalDAV: alice (from the environment) and bob (his profile) each in their own principal.
    for user in ("alice", "bob"):
        found = count_by_uid(radicale, principals[user])
        assert set(found) == uids[user] and set(found.values()) == {1}, user
    # Google: carol's and dave's events in their own accounts and calendars, at 06:00 local.
    carol = google["carol-token"].events("carol@group.calendar.google.com")
    dave = google["dave-token"].events("primary")
    for user, items in (("carol", carol), ("dave", dave)):
        assert {e["extendedProperties"]["private"]["agentcalUid"] for e in items} == uids[user]
        for e in items:
            assert e["start"]["timeZone"] == ZONES[user]
            start = datetime.fromisoformat(e["start"]["dateTime"])
            assert start.astimezone(ZoneInfo(ZONES[user])).time() == time(6, 0)
    assert google["carol-token"].events("primary") == []
    assert google["dave-token"].calendars.keys() == {"primary"}
    assert google["alice-token"].calendars == {}
    # Never alice's token, never a request without one (hank has no token file).
    assert set(router.tokens_seen) == {"carol-token", "dave-token"}
    # erin (no profile): her own ICS file, with her events only; alice's default file unused.
    settings = get_settings()
    erin_file = user_files.ics_path(settings, "erin")
    assert erin_file.name == "calendar.erin.ics"
    ics = erin_file.read_text()
    assert {u for u in uids["erin"] if u in ics} == uids["erin"]
    assert not any(u in ics for user in ZONES if user != "erin" for u in uids[user])
    assert not settings.ics_file.exists()
    # Everyone with a working calendar is fully synced. gina's server is down and hank never
    # signed in: their calendars are out (one alert each); their jobs wait, attempts unused,
    # and resume by themselves once the server answers or hank signs in. Nothing of theirs
    # went anywhere, and neither held anyone up.
    for user in ZONES:
        jobs = _sync_jobs(user)
        assert jobs, user
        if user == "gina":
            assert {j.state for j in jobs} == {"queued"}
            assert all(j.attempts == 0 and "127.0.0.1" in j.last_error for j in jobs)
        elif user == "hank":
            assert {j.state for j in jobs} == {"queued"}
            assert all(j.attempts == 0 and "not signed in" in j.last_error for j in jobs)
        else:
            assert {j.state for j in jobs} == {"done"}, (user, [j.last_error for j in jobs])
            assert all(e.synced_revision == e.revision for e in _events(user))
    assert {e.backend for e in _events("frank")} == {"none"}
    assert {e.backend for e in _events("bob")} == {"caldav"}


def test_a_users_busy_time_comes_from_their_own_calendar(household, google):
    """carol's flexible block moves around a meeting in carol's Google calendar; dave's, at the
    same hour in another account, does not see it."""
    la = ZoneInfo(ZONES["carol"])
    day = (datetime.now(la) + timedelta(days=2)).date()
    google["carol-token"].user_event(
        "carol@group.calendar.google.com",
        summary="Standup",
        start={"dateTime": f"{day}T06:00:00", "timeZone": ZONES["carol"]},
        end={"dateTime": f"{day}T07:00:00", "timeZone": ZONES["carol"]},
    )
    for user in ("carol", "dave"):
        pref = calendar_preferences_service.list_preferences(user)[0]
        calendar_preferences_service.update_preference(user, pref.id, is_flexible=True)
    results = calendar_event_emitter.process_users(["carol", "dave"], 7)
    carol = next(p for p in results[0].placements if p.local_date == day)
    assert carol.outcome == "moved" and "busy in your google calendar" in carol.reason
    assert carol.start.astimezone(la).time() == time(5, 15)  # the nearest free 45 minutes
    assert all(p.outcome == "planned" for p in results[1].placements)
    assert results[0].warnings == [] and results[1].warnings == []


def test_emit_all_users_puts_each_0600_at_0600_local_across_dst(cli):
    """Paris (clocks forward 29 March 2026), Auckland (back 5 April) and Los Angeles (forward
    8 March): nine days planned over both changes, every block at 06:00 on the wall clock."""
    zones = {"alice": "Europe/Paris", "kiri": "Pacific/Auckland", "lou": "America/Los_Angeles"}
    for user, zone in zones.items():
        if user != "alice":
            user_profiles_service.add(user, timezone=zone)
        calendar_preferences_service.create_preference(
            user_id=user, preference_type="gym", start_time="06:00", duration_minutes=60
        )
    now = datetime(2026, 3, 27, 20, 0, tzinfo=UTC)
    results = calendar_event_emitter.process_users(sorted(zones), 9, now=now)
    offsets: dict[str, set[timedelta | None]] = {}
    for r in results:
        zone = ZoneInfo(zones[r.user_id])
        assert r.timezone == zones[r.user_id]
        assert r.first_day == now.astimezone(zone).date()
        planned = r.of("planned")
        assert len(planned) == 8  # the first day's 06:00 has passed everywhere
        for p in planned:
            local = p.start.astimezone(zone)
            assert local.time() == time(6, 0) and local.date() == p.local_date
            offsets.setdefault(r.user_id, set()).add(local.utcoffset())
    assert len(offsets["alice"]) == 2 and len(offsets["kiri"]) == 2  # both crossed their DST
    assert len(offsets["lou"]) == 1
    with session_scope() as s:
        stored = {(e.user_id, e.timezone) for e in s.exec(select(CalendarEvent))}
    assert stored == set(zones.items())


def test_emit_all_users_cli_json_reports_each_users_zone(cli):
    user_profiles_service.add("kiri", timezone="Pacific/Auckland")
    for user in ("alice", "kiri"):
        calendar_preferences_service.create_preference(
            user_id=user, preference_type="gym", start_time="06:00", duration_minutes=60
        )
    result = cli("emit", "--all-users", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    zones = {"alice": ZoneInfo("Europe/Paris"), "kiri": ZoneInfo("Pacific/Auckland")}
    assert {r["user_id"] for r in rows} == set(zones)
    for r in rows:
        start = datetime.fromisoformat(r["start"])
        assert start.astimezone(zones[r["user_id"]]).time() == time(6, 0)


def test_status_shows_each_failing_persons_calendar_and_last_success(household, cli):
    """gina's CalDAV server is down and hank never signed in: `status` names them, their
    calendar, since when, and the last success; nobody else is listed."""
    from agentcal.health.sync_health import sync_health

    assert cli("emit", "--all-users").exit_code == 0
    JobWorker().run_once()
    result = cli("status", "--json")
    # Their syncs wait for the calendar (an outage is not a dead job): one alert each, shown.
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    subjects = {a["subject"] for a in report["alerts"]}
    assert {"calendar:caldav:gina", "calendar:google:hank"} <= subjects
    failing = {f["user_id"]: f for f in report["sync_failures"]}
    assert set(failing) == {"gina", "hank"}
    assert failing["gina"]["backend"] == "caldav" and failing["hank"]["backend"] == "google"
    assert failing["gina"]["last_success_at"] is None and failing["gina"]["failures"] >= 1
    assert "127.0.0.1" in failing["gina"]["last_error"]
    assert "not signed in" in failing["hank"]["last_error"]
    text = cli("status").output
    assert "calendar syncs failing" in text and "gina" in text and "never" in text
    for secret in ("alice-secret", "bob-secret", "carol-token", "dave-token"):
        assert secret not in result.stdout + text
    # Acknowledged, the alerts go; the failing calendars still show.
    assert cli("alerts", "ack", "--all").exit_code == 0
    result = cli("status", "--json")
    assert result.exit_code == 0
    assert {f["user_id"] for f in json.loads(result.stdout)["sync_failures"]} == {"gina", "hank"}
    # A success clears a person and dates their last good sync.
    sync_health.record("gina", "caldav")
    report = json.loads(cli("status", "--json").stdout)
    assert {f["user_id"] for f in report["sync_failures"]} == {"hank"}


def test_batches_mixing_zones_give_each_user_what_planning_them_alone_gives(monkeypatch):
    """Small batches mixing Honolulu with Auckland, Kolkata with St John's (a batch reads its
    events over the union of its users' windows): each user's result comes back in the
    caller's order and is what planning that user alone gives, in their own zone, around their
    own busy time (a 06:00-06:30 dentist moves the flexible gym on one local day only)."""
    from agentcal.planning import emitter as emitter_module
    from agentcal.planning.events import calendar_events_service

    zones = {
        "alice": "Europe/Paris",  # the configured user, no profile
        "zed": "Pacific/Honolulu",
        "yuki": "Asia/Tokyo",
        "xavi": "America/St_Johns",
        "wiremu": "Pacific/Auckland",
        "vik": "Asia/Kolkata",
        "uma": "America/Los_Angeles",
        "tom": "Pacific/Honolulu",
    }
    now = datetime(2026, 3, 27, 20, 0, tzinfo=UTC)
    for user, zone in zones.items():
        if user != "alice":
            user_profiles_service.add(user, timezone=zone)
        calendar_preferences_service.create_preference(
            user_id=user, preference_type="gym", start_time="06:00", duration_minutes=60,
            is_flexible=True,
        )  # fmt: skip
        dentist_day = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=2)
        start = datetime.combine(dentist_day, time(6, 0), ZoneInfo(zone))
        calendar_events_service.create_event(
            user_id=user, title="Dentist", start=start, duration_minutes=30, sync=False
        )
    alone = {
        u: calendar_event_emitter.process_user_preferences(u, 7, now=now, dry_run=True)
        for u in zones
    }
    callers_order = list(zones)  # neither alphabetical nor by offset
    monkeypatch.setattr(emitter_module, "USERS_PER_BATCH", 3)
    results = calendar_event_emitter.process_users(callers_order, 7, now=now)

    def decisions(r):  # type: ignore[no-untyped-def]
        return [(p.outcome, p.local_date, p.start, p.moved_minutes) for p in r.placements]

    assert [r.user_id for r in results] == callers_order
    for r in results:
        zone = ZoneInfo(zones[r.user_id])
        assert r.timezone == zones[r.user_id] and not r.dry_run
        assert decisions(r) == decisions(alone[r.user_id])
        placed = {p.local_date: p.start.astimezone(zone) for p in r.of("planned", "moved")}
        days = [r.first_day + timedelta(days=i) for i in range(7)]
        ahead = {d for d in days if datetime.combine(d, time(6, 0), zone) > now}
        assert set(placed) == ahead and len(ahead) >= 6  # Tokyo's 06:00 is still to come
        dentist_day = r.first_day + timedelta(days=2)
        for day, start in placed.items():
            assert start.date() == day
            assert start.time() == (time(6, 30) if day == dentist_day else time(6, 0))
    with session_scope() as s:
        gyms = s.exec(select(CalendarEvent).where(CalendarEvent.title != "Dentist")).all()
    assert {(e.user_id, e.timezone) for e in gyms} == set(zones.items())
    assert len(gyms) == sum(len(r.of("planned", "moved")) for r in results)
