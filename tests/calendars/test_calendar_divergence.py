"""Divergence is visible: an event the user deleted or moved in their calendar app is left so,
recorded on the event, shown by `events list` (and --json), and the next agentcal change to it
says so in the chat answer. Against the stateful fake Google Calendar and a real Radicale."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from agentcal.calendars.caldav import CalDAVCalendar
from agentcal.planning.events import calendar_events_service as events
from agentcal.settings import get_settings
from tests.calendars.test_calendar_failures import clean, use_caldav, use_google
from tests.google_server import FakeGoogleCalendar


def the_dentist():  # type: ignore[no-untyped-def]
    (event,) = events.list_events("alice", include_cancelled=True)
    return event


def listed(cli) -> tuple[str, dict]:  # type: ignore[no-untyped-def,type-arg]
    text = cli("events", "list", "--all")
    rows = cli("events", "list", "--all", "--json")
    assert text.exit_code == 0 and rows.exit_code == 0, text.output
    (row,) = json.loads(rows.stdout)
    return text.stdout, row


def test_an_event_deleted_in_google_is_shown_and_the_chat_says_so(cli, monkeypatch):
    with FakeGoogleCalendar() as fake:
        use_google(monkeypatch, fake.url)
        assert cli("chat", "-m", "Add dentist tomorrow at 3pm").exit_code == 0
        assert cli("daemon", "--once").exit_code == 0
        gid = the_dentist().backend_event_id
        assert gid and the_dentist().sync_note is None
        fake.user_delete(gid)

        moved = cli("chat", "-m", "Move the dentist to 5pm")
        daemon = cli("daemon", "--once")

        assert moved.exit_code == 0 and daemon.exit_code == 0, daemon.output
        assert the_dentist().sync_note == "deleted in Google"
        # The daemon says it once (cron mails it), not at every later sync.
        [line] = [x for x in daemon.stderr.splitlines() if "deleted in Google" in x]
        assert "“Dentist” of alice" in line and "agentcal left it so" in line
        assert [e["status"] for e in fake.events(deleted=True)] == ["cancelled"]  # left deleted
        text, row = listed(cli)
        assert "deleted in Google" in text and row["sync_note"] == "deleted in Google"

        again = cli("chat", "-m", "Move the dentist to 6pm")

        assert again.exit_code == 0, again.output
        assert "Moved" in again.stdout
        assert "“Dentist” is no longer in your Google calendar: I left it deleted there." in (
            again.stdout
        )
        clean(again)
        later = cli("daemon", "--once")  # skipped again: nothing new to say
        assert later.exit_code == 0 and "deleted in Google" not in later.stderr
        assert the_dentist().sync_note == "deleted in Google"
        assert [e["status"] for e in fake.events(deleted=True)] == ["cancelled"]


def test_an_event_moved_in_caldav_is_shown_and_cleared_once_it_syncs_again(
    cli, monkeypatch, radicale
):
    use_caldav(monkeypatch, radicale)
    monkeypatch.setenv("AGENTCAL_CALDAV_USERNAME", f"u{uuid.uuid4().hex[:10]}")  # a new calendar
    assert cli("chat", "-m", "Add dentist tomorrow at 3pm").exit_code == 0
    assert cli("daemon", "--once").exit_code == 0
    backend = CalDAVCalendar(get_settings())
    (obj,) = backend.calendar.events()
    placed = obj.icalendar_instance.walk("VEVENT")[0].decoded("DTSTART")

    def move_on_server(to) -> None:  # type: ignore[no-untyped-def]
        (obj,) = backend.calendar.events()
        vevent = obj.icalendar_instance.walk("VEVENT")[0]
        length = vevent.decoded("DTEND") - vevent.decoded("DTSTART")
        for name, value in (("DTSTART", to), ("DTEND", to + length)):
            vevent.pop(name)
            vevent.add(name, value)
        obj.save()

    move_on_server(placed + timedelta(hours=2))  # the user moved it in their CalDAV app
    assert cli("chat", "-m", "Rename the dentist to Dentist checkup").exit_code == 0
    assert cli("daemon", "--once").exit_code == 0

    assert the_dentist().sync_note == "moved in CalDAV"
    text, row = listed(cli)
    assert "moved in CalDAV" in text and row["sync_note"] == "moved in CalDAV"
    answer = cli("chat", "-m", "Move the dentist to 5pm")
    assert "was moved in your CalDAV calendar: I left it where you put it there" in answer.stdout

    move_on_server(placed)  # back where agentcal put it: agentcal's changes go through again
    assert cli("chat", "-m", "Move the dentist to 4pm").exit_code == 0
    assert cli("daemon", "--once").exit_code == 0

    assert the_dentist().sync_note is None
    assert "moved in CalDAV" not in listed(cli)[0]
    (obj,) = backend.calendar.events()
    assert obj.icalendar_instance.walk("VEVENT")[0].decoded("DTSTART").hour == 16
