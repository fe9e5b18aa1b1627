"""The local calendar file is current when the command that changed an event returns (chat,
events add, prefs add, emit), without the job processor; remote calendars are left to it."""

from __future__ import annotations

import os

from icalendar import Calendar
from sqlmodel import select

from agentcal.db import session_scope
from agentcal.models import CalendarEvent, Job
from agentcal.settings import get_settings
from agentcal.workers.runner import JobWorker


def titles() -> list[str]:
    path = get_settings().ics_file
    if not path.exists():
        return []
    return sorted(str(v["SUMMARY"]) for v in Calendar.from_ical(path.read_bytes()).walk("VEVENT"))


def all_synced() -> bool:
    with session_scope() as s:
        rows = list(s.exec(select(CalendarEvent)))
    return bool(rows) and all(e.synced_revision == e.revision for e in rows)


def test_an_event_created_in_chat_is_in_the_file_when_chat_returns(cli):
    result = cli("chat", "-m", "Add dentist tomorrow at 3pm")

    assert result.exit_code == 0, result.output
    assert titles() == ["Dentist"]
    assert all_synced()
    # The queued job finds its revision synced and writes nothing more.
    JobWorker().run_once()
    with session_scope() as s:
        (job,) = s.exec(select(Job).where(Job.kind == "calendar_sync"))
    assert job.state == "done" and "already synced" in str(job.result)


def test_a_cancellation_in_chat_leaves_the_file_at_once(cli):
    assert cli("chat", "-m", "Add dentist tomorrow at 3pm").exit_code == 0
    assert titles() == ["Dentist"]

    result = cli("chat", "-m", "cancel the dentist", "--yes")

    assert result.exit_code == 0, result.output
    assert titles() == []


def test_events_add_prefs_add_and_emit_write_the_file(cli):
    assert cli("events", "add", "Lunch with Sam tomorrow at 12:30").exit_code == 0
    assert titles() == ["Lunch with Sam"]

    assert cli("prefs", "add", "gym", "--at", "06:00", "--days", "daily").exit_code == 0
    assert cli("emit", "--days", "3", "--dry-run").exit_code == 0
    assert titles() == ["Lunch with Sam"]  # a dry run wrote nothing, the file neither
    result = cli("emit", "--days", "3")

    assert result.exit_code == 0, result.output
    with session_scope() as s:
        planned = sorted(e.title for e in s.exec(select(CalendarEvent)))
    assert planned.count("Gym") >= 2  # today's 06:00 may have passed
    assert titles() == planned and all_synced()


def test_an_unwritable_file_is_a_warning_and_the_job_writes_it_later(cli):
    path = get_settings().ics_file
    path.mkdir()  # a directory where the file goes: the write fails

    result = cli("events", "add", "Lunch with Sam tomorrow at 12:30")

    assert result.exit_code == 0, result.output  # the event is stored; the file is late
    assert "Warning: the calendar file of alice is not updated yet" in result.stderr
    assert "Traceback" not in result.output
    assert not all_synced()
    os.rmdir(path)
    JobWorker().run_once()
    assert titles() == ["Lunch with Sam"] and all_synced()


def test_a_remote_calendar_is_left_to_the_job_processor(cli, monkeypatch):
    monkeypatch.setenv("AGENTCAL_CALENDAR", "caldav")
    monkeypatch.setenv("AGENTCAL_CALDAV_URL", "http://127.0.0.1:9/")  # never contacted

    result = cli("events", "add", "Lunch with Sam tomorrow at 12:30")

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert not get_settings().ics_file.exists() and not all_synced()


def test_emit_for_many_people_leaves_their_files_to_the_jobs(cli, monkeypatch):
    from agentcal.planning import push as calendar_push
    from agentcal.planning.preferences import calendar_preferences_service as prefs

    monkeypatch.setattr(calendar_push, "INLINE_USERS", 2)
    for user in ("alice", "bob", "carol"):
        prefs.create_preference(
            user_id=user, preference_type="gym", start_time="06:00", duration_minutes=60
        )

    result = cli("emit", "--all-users", "--days", "3")

    assert result.exit_code == 0, result.output
    assert "the calendar files of 3 people are written by the job processor" in result.stderr
    assert not all_synced() and titles() == []
    JobWorker().run_once()
    assert all_synced() and titles()
