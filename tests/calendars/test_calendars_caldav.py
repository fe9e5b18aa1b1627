"""CalDAV backend against a real Radicale server on 127.0.0.1 (auth off, storage in a tmp dir)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest

from agentcal.calendars import _caldav_discovery as discovery
from agentcal.calendars import get_backend
from agentcal.calendars._caldav_http import read_password
from agentcal.calendars.caldav import CalDAVCalendar
from agentcal.errors import ConfigError
from agentcal.settings import get_settings, reset_settings
from tests.event_snapshots import T0, make_event


@pytest.fixture
def settings(radicale, monkeypatch):  # type: ignore[no-untyped-def]
    """Settings pointing at a fresh calendar (a new Radicale user per test)."""
    monkeypatch.setenv("AGENTCAL_CALENDAR", "caldav")
    monkeypatch.setenv("AGENTCAL_TIMEZONE", "America/New_York")
    monkeypatch.setenv("AGENTCAL_CALDAV_URL", radicale)
    monkeypatch.setenv("AGENTCAL_CALDAV_USERNAME", f"u{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("AGENTCAL_CALDAV_PASSWORD", "anything")
    reset_settings()
    return get_settings()


def server_events(backend: CalDAVCalendar) -> dict[str, object]:
    """UID -> VEVENT as stored on the server."""
    out = {}
    for obj in backend.calendar.events():
        for vevent in obj.icalendar_instance.walk("VEVENT"):
            out[str(vevent["UID"])] = vevent
    return out


def test_get_backend_returns_caldav(settings):
    assert isinstance(get_backend(settings), CalDAVCalendar)


def test_create_writes_the_event_with_its_zone(settings):
    backend = CalDAVCalendar(settings)
    event = make_event(title="<b>Gym</b>'; DROP TABLE calendar_events;--")

    result = backend.upsert(event)

    assert result.ok and result.backend_event_id and not result.skipped
    stored = server_events(CalDAVCalendar(settings))
    vevent = stored[event.uid]
    assert str(vevent["SUMMARY"]) == event.title
    start = vevent.decoded("DTSTART")
    assert (start.hour, start.minute, str(start.tzinfo)) == (6, 0, "America/New_York")
    assert vevent["DTSTART"].params["TZID"] == "America/New_York"


def test_update_replaces_the_same_object(settings):
    backend = CalDAVCalendar(settings)
    first = backend.upsert(make_event())
    moved = make_event(
        revision=2,
        title="Gym (later)",
        start=T0 + timedelta(hours=1),
        end=T0 + timedelta(hours=2),
        backend_event_id=first.backend_event_id,
    )

    second = backend.upsert(moved)

    assert second.ok and not second.skipped and second.backend_event_id == first.backend_event_id
    stored = server_events(backend)
    assert list(stored) == [moved.uid]
    assert str(stored[moved.uid]["SUMMARY"]) == "Gym (later)"
    assert stored[moved.uid].decoded("DTSTART").hour == 7


def test_delete_removes_it_and_a_second_delete_is_fine(settings):
    backend = CalDAVCalendar(settings)
    created = backend.upsert(make_event())
    gone = make_event(revision=2, cancelled=True, backend_event_id=created.backend_event_id)

    assert backend.delete(gone).ok
    assert server_events(backend) == {}
    again = backend.delete(gone)
    assert again.ok and again.backend_event_id is None


def test_resync_is_idempotent(settings):
    backend = CalDAVCalendar(settings)
    events = [make_event(n) for n in (1, 2, 3)]

    first = backend.sync_many(events)
    synced = [
        make_event(n, backend_event_id=r.backend_event_id)
        for n, r in zip((1, 2, 3), first, strict=True)
    ]
    second = backend.sync_many(synced)
    third = backend.sync_many(events)  # as if the results of the first run were lost

    assert all(r.ok and not r.skipped for r in first + second + third)
    assert [r.backend_event_id for r in second] == [r.backend_event_id for r in first]
    assert sorted(server_events(backend)) == sorted(e.uid for e in events)


def test_event_the_user_deleted_or_moved_is_left_alone(settings):
    backend = CalDAVCalendar(settings)
    kept = backend.upsert(make_event(1))
    deleted = backend.upsert(make_event(2))
    # The user deletes event 2 and moves event 1 to 08:00 in their calendar app.
    backend.calendar.get_event_by_uid(make_event(2).uid).delete()
    obj = backend.calendar.get_event_by_uid(make_event(1).uid)
    vevent = obj.icalendar_instance.walk("VEVENT")[0]
    vevent["DTSTART"].dt = vevent.decoded("DTSTART") + timedelta(hours=2)
    vevent["DTEND"].dt = vevent.decoded("DTEND") + timedelta(hours=2)
    obj.save()

    # With the ETags stored at creation (If-Match: 412, then read) and without (read first).
    for etags in (True, False):
        r1 = backend.upsert(
            make_event(1, revision=2, title="x", backend_event_id=kept.backend_event_id,
                       backend_etag=kept.etag if etags else None)
        )  # fmt: skip
        r2 = backend.upsert(
            make_event(2, revision=2, backend_event_id=deleted.backend_event_id,
                       backend_etag=deleted.etag if etags else None)
        )  # fmt: skip
        assert r1.ok and r1.skipped and "moved" in r1.error and r1.etag is None
        assert r2.ok and r2.skipped and "deleted" in r2.error and r2.etag is None

    stored = server_events(backend)
    assert list(stored) == [make_event(1).uid]
    assert stored[make_event(1).uid].decoded("DTSTART").hour == 8
    assert str(stored[make_event(1).uid]["SUMMARY"]) == "Morning Gym 1"


def test_busy_times_come_from_a_time_range_search_without_our_events(settings):
    backend = CalDAVCalendar(settings)
    backend.upsert(make_event(1))  # ours: 11:00-12:00 UTC, not busy for placement
    cal = backend.calendar
    cal.add_event(
        dtstart=T0 - timedelta(hours=2), dtend=T0 - timedelta(hours=1), summary="Dentist", uid="u1"
    )
    cal.add_event(
        dtstart=T0 + timedelta(hours=3), dtend=T0 + timedelta(hours=5), summary="Offsite", uid="u2"
    )
    cal.add_event(
        dtstart=T0 + timedelta(days=3),
        dtend=T0 + timedelta(days=3, hours=1),
        summary="Later",
        uid="u3",
    )

    busy = backend.busy_times(T0 - timedelta(hours=6), T0 + timedelta(hours=4))

    assert busy == [
        (T0 - timedelta(hours=2), T0 - timedelta(hours=1)),
        (T0 + timedelta(hours=3), T0 + timedelta(hours=4)),  # clipped to the range
    ]


def test_password_file_must_be_private(tmp_path, monkeypatch):
    secret = tmp_path / "caldav-password"
    secret.write_text("s3cret-value\n")
    os.chmod(secret, 0o644)
    monkeypatch.setenv("AGENTCAL_CALDAV_PASSWORD_FILE", str(secret))
    reset_settings()

    with pytest.raises(ConfigError) as err:
        read_password(get_settings())
    assert "chmod 600" in str(err.value) and "s3cret" not in str(err.value)

    os.chmod(secret, 0o600)
    assert read_password(get_settings()) == "s3cret-value"


def test_missing_url_is_a_clear_failure_not_a_crash(monkeypatch):
    monkeypatch.setenv("AGENTCAL_CALENDAR", "caldav")
    reset_settings()

    [result] = CalDAVCalendar(get_settings()).sync_many([make_event()])

    assert not result.ok and result.outage and "AGENTCAL_CALDAV_URL" in result.error


def test_password_never_printed_by_config_show(cli, monkeypatch):
    monkeypatch.setenv("AGENTCAL_CALDAV_PASSWORD", "hunter2-very-secret")
    result = cli("config", "show")
    assert "hunter2" not in result.output


def user_edits(backend: CalDAVCalendar, uid: str, change) -> None:  # type: ignore[no-untyped-def]
    """Change the stored event as the user's calendar app would, and save it."""
    obj = backend.calendar.get_event_by_uid(uid)
    cal = obj.icalendar_instance
    change(cal.walk("VEVENT")[0])
    obj.data = cal.to_ical().decode()
    obj.save()


def test_an_agentcal_change_keeps_everything_the_user_added(settings):
    from icalendar import Alarm

    backend = CalDAVCalendar(settings)
    first = backend.upsert(make_event(note="at its usual time"))
    event = make_event()

    def add_things(vevent):  # type: ignore[no-untyped-def]
        alarm = Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", "Gym soon")
        alarm.add("TRIGGER", timedelta(minutes=-15))
        vevent.add_component(alarm)
        vevent.add("LOCATION", "Gym on 5th")
        vevent.add("ATTENDEE", "mailto:friend@example.com")
        vevent.add("COLOR", "red")
        vevent["DESCRIPTION"] = "Bring a towel.\n\n" + str(vevent["DESCRIPTION"])

    user_edits(backend, event.uid, add_things)
    later = T0 + timedelta(hours=1)

    result = backend.upsert(
        make_event(revision=2, title="Gym (later)", start=later, end=later + timedelta(hours=1),
                   backend_event_id=first.backend_event_id, backend_etag=first.etag,
                   note="moved +1:00 h to avoid “Standup”")
    )  # fmt: skip

    # The stored ETag no longer matches (412): read, merge, write; the user's things are in it
    # now, so no ETag is kept for a whole-object write next time.
    assert result.ok and not result.skipped and first.etag and result.etag is None
    vevent = server_events(backend)[event.uid]
    assert str(vevent["SUMMARY"]) == "Gym (later)"
    assert vevent.decoded("DTSTART").hour == 7
    assert str(vevent["LOCATION"]) == "Gym on 5th"
    assert str(vevent["ATTENDEE"]) == "mailto:friend@example.com"
    assert str(vevent["COLOR"]) == "red"
    [alarm] = vevent.walk("VALARM")
    assert str(alarm["DESCRIPTION"]) == "Gym soon"
    description = str(vevent["DESCRIPTION"])
    assert description.startswith("Bring a towel.\n\n--- agentcal ---")
    assert "Why here: moved +1:00 h to avoid “Standup”" in description
    assert "usual time" not in description


def test_a_change_with_nothing_of_agentcals_to_update_writes_nothing(settings):
    backend = CalDAVCalendar(settings)
    first = backend.upsert(make_event())
    user_edits(backend, make_event().uid, lambda v: v.add("LOCATION", "Gym on 5th"))
    before = backend.calendar.get_event_by_uid(make_event().uid).data

    backend.upsert(
        make_event(revision=2, backend_event_id=first.backend_event_id, backend_etag=first.etag)
    )

    assert backend.calendar.get_event_by_uid(make_event().uid).data == before


# -- which calendar, and failing clearly ----------------------------------------------------


def test_a_tasks_only_list_is_never_where_events_go(settings):
    import caldav

    client = caldav.DAVClient(
        url=settings.caldav_url, username=settings.caldav_username, password="x"
    )
    client.principal().make_calendar(name="Tasks", supported_calendar_component_set=["VTODO"])
    backend = CalDAVCalendar(settings)

    result = backend.upsert(make_event())

    assert result.ok, result.error
    chosen = backend.collection()
    assert chosen.name == "agentcal" and "VEVENT" in chosen.components
    assert "/agentcal/" in result.backend_event_id


def test_a_named_calendar_that_holds_only_tasks_is_refused_clearly(settings, monkeypatch):
    import caldav

    client = caldav.DAVClient(
        url=settings.caldav_url, username=settings.caldav_username, password="x"
    )
    client.principal().make_calendar(name="Tasks", supported_calendar_component_set=["VTODO"])
    monkeypatch.setenv("AGENTCAL_CALDAV_CALENDAR", "Tasks")
    reset_settings()

    [result] = CalDAVCalendar(get_settings()).sync_many([make_event()])

    assert not result.ok and result.outage
    assert "'Tasks' holds only VTODO" in result.error


def test_a_wrong_path_is_a_403_and_a_wrong_password_says_so(tmp_path, monkeypatch):
    import caldav

    from tests.radicale_server import radicale_server

    (tmp_path / "users").write_text("me:my-pass\nsomeone-else:their-pass\n")
    with radicale_server(
        tmp_path, "--auth-type", "htpasswd", "--auth-htpasswd-filename", str(tmp_path / "users"),
        "--auth-htpasswd-encryption", "plain", "--rights-type", "owner_only",
    ) as url:  # fmt: skip
        caldav.DAVClient(url=url, username="someone-else", password="their-pass").principal()
        monkeypatch.setenv("AGENTCAL_CALDAV_URL", url + "someone-else/")
        monkeypatch.setenv("AGENTCAL_CALDAV_USERNAME", "me")
        monkeypatch.setenv("AGENTCAL_CALDAV_PASSWORD", "my-pass")
        reset_settings()
        [forbidden] = CalDAVCalendar(get_settings()).sync_many([make_event()])
        monkeypatch.setenv("AGENTCAL_CALDAV_URL", url)
        monkeypatch.setenv("AGENTCAL_CALDAV_PASSWORD", "not-my-pass")
        reset_settings()
        [refused] = CalDAVCalendar(get_settings()).sync_many([make_event()])

    assert not forbidden.ok and forbidden.outage
    assert forbidden.error == (
        "the CalDAV server refused access to /someone-else/ (403 Forbidden): check that "
        "AGENTCAL_CALDAV_URL points at your own account or calendar"
    )
    assert not refused.ok and refused.outage
    assert refused.error == f"the CalDAV server at {url} refused the user name or password"


@pytest.mark.parametrize("server", ["closed", "html"])
def test_an_unreachable_or_non_caldav_server_gets_one_clear_line(monkeypatch, server):
    from tests.dead_servers import HtmlServer, closed_port

    html = HtmlServer()
    url = html.__enter__() if server == "html" else closed_port()
    try:
        monkeypatch.setenv("AGENTCAL_CALDAV_URL", url)
        reset_settings()
        backend = CalDAVCalendar(get_settings())

        results = backend.sync_many([make_event(1), make_event(2), make_event(3)])
    finally:
        if server == "html":
            html.__exit__()

    assert [r.error for r in results] == [results[0].error] * 3
    error = results[0].error
    assert all(r.outage for r in results) and "\n" not in error
    assert "HTTPConnection" not in error and "0x" not in error and "<html" not in error
    if server == "closed":
        assert error == f"cannot reach the CalDAV server at {url} (connection refused)"
    else:
        assert error == (
            f"{url} is not a CalDAV server (it answered 200 text/html to a calendar query): "
            "check AGENTCAL_CALDAV_URL"
        )
    assert backend.http_requests == 1  # the first failure stopped the other events' requests


def test_a_create_is_one_put_and_a_lost_result_does_not_duplicate(settings):
    backend = CalDAVCalendar(settings)
    backend.collection()
    before = backend.http_requests

    first = backend.sync_many([make_event(n) for n in (1, 2, 3)])
    assert backend.http_requests - before == 3

    again = backend.upsert(make_event(1))  # its first result was lost: If-None-Match says 412

    assert all(r.ok for r in [*first, again])
    assert again.backend_event_id == first[0].backend_event_id
    assert sorted(server_events(backend)) == sorted(make_event(n).uid for n in (1, 2, 3))


def test_two_processes_making_the_calendar_at_once_share_it(settings):
    """Two daemons found no calendar and both make "agentcal": the second's MKCALENDAR is
    refused (the name is taken) and it uses the one the first made, not an outage."""
    first, second = CalDAVCalendar(settings), CalDAVCalendar(settings)
    assert first.upsert(make_event(1)).ok  # no calendar yet: made it
    conn = second._conn
    [(url, props)] = discovery.propfind(conn, conn.url, "0")
    home = discovery.calendar_home(conn, url, props)

    made = discovery.make_calendar(conn, home, "agentcal")  # its discovery, a moment too late

    assert made == first.collection()
    result = second.upsert(make_event(2))
    assert result.ok, result.error
    assert sorted(server_events(first)) == sorted(make_event(n).uid for n in (1, 2))


def test_an_untouched_event_is_updated_with_one_conditional_put(settings):
    """Created with If-None-Match: *, updated with If-Match on the ETag stored then: one
    request per event; the ETag of each write is kept for the next."""
    backend = CalDAVCalendar(settings)
    backend.collection()
    created = backend.sync_many([make_event(n) for n in (1, 2, 3)])
    assert all(r.ok and r.etag for r in created)
    before = backend.http_requests

    moved = backend.sync_many(
        [
            make_event(n, revision=2, title=f"Gym {n} (later)", start=T0 + timedelta(days=n),
                       end=T0 + timedelta(days=n, hours=1), backend_event_id=r.backend_event_id,
                       backend_etag=r.etag)
            for n, r in zip((1, 2, 3), created, strict=True)
        ]
    )  # fmt: skip

    assert backend.http_requests - before == 3
    assert all(r.ok and not r.skipped and r.etag for r in moved)
    assert {r.etag for r in moved}.isdisjoint(r.etag for r in created)
    stored = server_events(backend)
    assert str(stored[make_event(2).uid]["SUMMARY"]) == "Gym 2 (later)"
    assert stored[make_event(2).uid].decoded("DTSTART").date() == (T0 + timedelta(days=2)).date()
    # A stale ETag (the write was lost, say) is a 412: read, then write.
    before = backend.http_requests
    again = backend.upsert(
        make_event(1, revision=3, title="Gym 1 (again)", backend_event_id=created[0].backend_event_id,
                   backend_etag=created[0].etag)
    )  # fmt: skip
    assert again.ok and backend.http_requests - before == 3  # PUT 412, GET, PUT
    assert str(server_events(backend)[make_event(1).uid]["SUMMARY"]) == "Gym 1 (again)"


def test_a_sync_job_stores_the_etag_and_the_next_change_is_one_request(settings):
    from agentcal.calendars.base import EventData
    from agentcal.planning.events import calendar_events_service as events
    from agentcal.workers.runner import JobWorker

    event = events.create_event(user_id="alice", title="Dentist", start=T0, duration_minutes=30)
    JobWorker().run_once()
    stored = events.get_event("alice", event.id)
    assert stored.backend_etag and stored.synced_revision == 1
    changed = events.update_event("alice", event.id, title="Dentist checkup")
    backend = CalDAVCalendar(settings)
    backend.collection()
    before = backend.http_requests

    (result,) = backend.sync_many([EventData.from_event(changed)])

    assert result.ok and backend.http_requests - before == 1
    assert str(server_events(backend)[event.uid]["SUMMARY"]) == "Dentist checkup"
