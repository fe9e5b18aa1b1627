"""agentcal writes only its own files: never over another program's file or its own store,
never through a link it did not make, never chmodding what it did not create."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentcal.planning.events import calendar_events_service as events
from agentcal.settings import get_settings, reset_settings

PASSWD = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


def _event(title: str = "Dentist") -> None:
    events.create_event(
        user_id="alice",
        title=title,
        start=datetime.now(UTC) + timedelta(days=1),
        duration_minutes=30,
    )


def _other_file(tmp_path: Path, content: bytes = PASSWD, mode: int = 0o644) -> Path:
    path = tmp_path / "elsewhere" / "passwd"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)
    os.chmod(path, mode)
    return path


def _unchanged(path: Path, content: bytes = PASSWD, mode: int = 0o644) -> None:
    assert path.read_bytes() == content
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_the_calendar_file_is_not_written_over_another_programs_file(cli, tmp_path, monkeypatch):
    victim = _other_file(tmp_path)
    monkeypatch.setenv("AGENTCAL_ICS_PATH", str(victim))
    _event()

    result = cli("calendar", "sync")

    assert result.exit_code == 1
    assert "refusing to overwrite" in result.output and "not a calendar file" in result.output
    _unchanged(victim)


def test_the_calendar_file_is_rewritten_when_it_is_agentcals_own(cli, tmp_path, monkeypatch):
    path = tmp_path / "cal" / "agentcal.ics"
    monkeypatch.setenv("AGENTCAL_ICS_PATH", str(path))
    _event("First")
    assert cli("calendar", "sync").exit_code == 0
    _event("Second")
    assert cli("calendar", "sync").exit_code == 0
    assert b"SUMMARY:Second" in path.read_bytes()


def test_a_refused_calendar_file_is_a_permanent_job_failure(tmp_path, monkeypatch):
    from agentcal.calendars.base import EventData
    from agentcal.calendars.local import LocalCalendar

    victim = _other_file(tmp_path)
    monkeypatch.setenv("AGENTCAL_ICS_PATH", str(victim))
    reset_settings()
    _event()
    [event] = events.list_events("alice")

    [result] = LocalCalendar(get_settings()).sync_many([EventData.from_event(event)])

    assert not result.ok and not result.retryable  # retrying cannot make it agentcal's file
    _unchanged(victim)


@pytest.mark.parametrize("kind", ["symlink", "dangling"])
def test_the_calendar_file_is_never_written_through_a_link(cli, tmp_path, monkeypatch, kind):
    victim = _other_file(tmp_path, b"BEGIN:VCALENDAR\r\nPRODID:-//agentcal//x\r\n")
    link = tmp_path / "calendar.ics"
    link.symlink_to(victim if kind == "symlink" else tmp_path / "nowhere.ics")
    monkeypatch.setenv("AGENTCAL_ICS_PATH", str(link))
    _event()

    result = cli("calendar", "sync")

    assert result.exit_code == 1 and "symbolic link" in result.output
    assert link.is_symlink() and not (tmp_path / "nowhere.ics").exists()
    _unchanged(victim, b"BEGIN:VCALENDAR\r\nPRODID:-//agentcal//x\r\n")


@pytest.mark.sqlite_only
def test_export_refuses_the_store_itself(cli, agentcal_home, snapshot):
    _event()
    before = snapshot()
    store = agentcal_home / "agentcal.db"

    result = cli("calendar", "export", str(store))

    assert result.exit_code == 1
    assert (
        result.stderr
        == f"Error: refusing to overwrite {store}: it is agentcal's own database; choose another file name\n"
    )
    assert snapshot() == before
    assert cli("events", "list").exit_code == 0


def test_export_refuses_another_file_but_replaces_an_ics_file(cli, tmp_path):
    _event()
    victim = _other_file(tmp_path)
    refused = cli("calendar", "export", str(victim))
    assert refused.exit_code == 1 and "not an ICS calendar file" in refused.stderr
    _unchanged(victim)

    other_app = tmp_path / "other.ics"
    other_app.write_bytes(b"BEGIN:VCALENDAR\r\nPRODID:-//Other//EN\r\nEND:VCALENDAR\r\n")
    done = cli("calendar", "export", str(other_app))
    assert done.exit_code == 0, done.output
    assert b"SUMMARY:Dentist" in other_app.read_bytes()


def test_export_refuses_a_link(cli, tmp_path):
    victim = _other_file(tmp_path, b"BEGIN:VCALENDAR\r\n")
    link = tmp_path / "link.ics"
    link.symlink_to(victim)
    result = cli("calendar", "export", str(link))
    assert result.exit_code == 1 and "symbolic link" in result.stderr
    assert victim.read_bytes() == b"BEGIN:VCALENDAR\r\n"


@pytest.mark.parametrize("umask", [0o022, 0o000])
def test_an_export_is_private_whatever_the_umask(cli, tmp_path, umask):
    _event()
    old = os.umask(umask)
    try:
        assert cli("calendar", "export", str(tmp_path / "out.ics")).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.ics").stat().st_mode) == 0o600


def test_export_dash_writes_to_stdout(cli, tmp_path):
    _event()
    result = cli("calendar", "export", "-")
    assert result.exit_code == 0
    assert result.stdout.startswith("BEGIN:VCALENDAR") and "SUMMARY:Dentist" in result.stdout
    assert not (tmp_path / "-").exists()


def test_an_overlong_export_name_is_one_line(cli, tmp_path):
    result = cli("calendar", "export", str(tmp_path / ("x" * 300 + ".ics")))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_a_planted_history_link_is_neither_read_nor_written(agentcal_home, tmp_path):
    import readline

    from agentcal.cli.chat import _save_history, _setup_readline

    victim = _other_file(tmp_path)
    (agentcal_home / "chat_history").symlink_to(victim)

    assert _setup_readline() is None  # not read: its lines never enter the history
    readline.add_history("add gym tomorrow at 6am")
    _save_history((readline, agentcal_home / "chat_history"))

    _unchanged(victim)
    assert (agentcal_home / "chat_history").is_symlink()


def test_history_is_written_private_and_atomically(agentcal_home):
    import readline

    from agentcal.cli.chat import _save_history

    readline.clear_history()
    readline.add_history("first line")
    _save_history((readline, agentcal_home / "chat_history"))
    path = agentcal_home / "chat_history"
    assert "first line" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in agentcal_home.iterdir() if p.name.startswith(".agentcal-")] == []


def test_a_token_link_is_refused_and_its_target_not_chmodded(cli, agentcal_home, tmp_path):
    victim = _other_file(tmp_path, b'{"token": "x"}', mode=0o644)
    (agentcal_home / "google-token.json").symlink_to(victim)

    result = cli("auth", "status")

    assert result.exit_code == 1 and "symbolic link" in result.stderr
    _unchanged(victim, b'{"token": "x"}', 0o644)


def test_saving_a_token_never_replaces_another_kind_of_file(agentcal_home, tmp_path):
    from google.oauth2.credentials import Credentials

    from agentcal.calendars.google_auth import save_credentials
    from agentcal.files import UnsafePathError

    token = agentcal_home / "google-token.json"
    token.write_bytes(PASSWD)
    with pytest.raises(UnsafePathError):
        save_credentials(get_settings(), Credentials(token="t", refresh_token="r"))
    assert token.read_bytes() == PASSWD


@pytest.mark.sqlite_only
@pytest.mark.parametrize("name", ["agentcal.db", "checkpoints.db"])
def test_a_dangling_store_link_does_not_create_its_target(agentcal_home, tmp_path, name):
    from agentcal.db import dispose_engines, get_engine
    from agentcal.files import UnsafePathError

    target = tmp_path / "created-through-link.db"
    (agentcal_home / name).unlink(missing_ok=True)
    (agentcal_home / name).symlink_to(target)
    dispose_engines()

    with pytest.raises(UnsafePathError, match="symbolic link"):
        if name == "agentcal.db":
            get_engine()
        else:
            from agentcal.agent.runner import open_checkpointer

            open_checkpointer(get_settings())
    assert not target.exists()


@pytest.mark.sqlite_only
def test_a_dangling_store_link_is_one_line_on_the_command_line(cli, agentcal_home, tmp_path):
    (agentcal_home / "agentcal.db").unlink()
    (agentcal_home / "agentcal.db").symlink_to(tmp_path / "x.db")

    result = cli("prefs", "add", "gym", "--at", "06:00")

    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "symbolic link" in result.stderr and "AGENTCAL_DATABASE_URL" in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_an_existing_world_writable_data_dir_is_left_alone_with_a_warning(
    tmp_path, monkeypatch, caplog
):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    monkeypatch.setenv("AGENTCAL_HOME", str(shared))
    reset_settings()

    get_settings().ensure_data_dir()

    assert stat.S_IMODE(shared.stat().st_mode) == 0o777  # not ours to chmod
    assert "can be written by other users" in caplog.text and "chmod 700" in caplog.text


def test_a_new_data_dir_is_private(tmp_path, monkeypatch):
    home = tmp_path / "new" / "agentcal"
    monkeypatch.setenv("AGENTCAL_HOME", str(home))
    reset_settings()
    old = os.umask(0)
    try:
        get_settings().ensure_data_dir()
    finally:
        os.umask(old)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_export_refuses_the_checkpoint_store(cli, agentcal_home):
    # The checkpoint store is a SQLite file in the data dir on every backend.
    (agentcal_home / "checkpoints.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)
    result = cli("calendar", "export", str(agentcal_home / "checkpoints.db"))
    assert result.exit_code == 1 and "database" in result.stderr


def test_after_agentcal_user_changes_the_file_holds_the_new_users_calendar(
    cli, agentcal_home, monkeypatch
):
    """calendar.ics is the configured user's: when AGENTCAL_USER changes, the next push puts
    the new user's calendar in it (even with nothing new) and the previous user's calendar in
    their own file, so nobody's events are shown as someone else's or lost from every file."""
    from agentcal.calendars.ics import ics_owner

    _event("Alice's dentist")
    assert cli("calendar", "sync").exit_code == 0
    default = get_settings().ics_file
    assert ics_owner(default) == "alice" and b"Alice's dentist" in default.read_bytes()

    monkeypatch.setenv("AGENTCAL_USER", "bob")
    result = cli("calendar", "sync")  # bob has nothing to push

    assert result.exit_code == 0, result.output
    assert ics_owner(default) == "bob" and b"Alice's dentist" not in default.read_bytes()
    alices = default.with_name("calendar.alice.ics")
    assert ics_owner(alices) == "alice" and b"Alice's dentist" in alices.read_bytes()
    assert stat.S_IMODE(alices.stat().st_mode) == 0o600


def test_a_file_from_before_owners_is_left_to_the_configured_user(cli, agentcal_home):
    from agentcal.calendars.ics import ics_owner, render_calendar

    default = get_settings().ics_file
    default.write_bytes(render_calendar([]))  # no X-AGENTCAL-USER: an older agentcal's file
    os.chmod(default, 0o600)
    assert ics_owner(default) is None
    _event()
    assert cli("calendar", "sync").exit_code == 0
    assert ics_owner(default) == "alice" and b"SUMMARY:Dentist" in default.read_bytes()
