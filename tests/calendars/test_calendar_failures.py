"""When the calendar is down: fail fast, one line per failure, one alert per outage, resume alone.

The servers fail the way real ones do: a closed port (refused at once), a server that accepts
and never answers, the stateful fake Google Calendar answering 403 quotaExceeded. Commands run
as a user runs them (the CLI), and each is checked for its exit code, for what it printed (no
traceback, no library log lines) and for what reached the store.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update
from sqlmodel import select

from agentcal.calendars import outages
from agentcal.db import session_scope
from agentcal.models import Alert, CalendarEvent, Job
from agentcal.planning.events import calendar_events_service as events
from agentcal.settings import get_settings, reset_settings
from tests.conftest import subprocess_env
from tests.dead_servers import SilentServer, closed_port
from tests.google_server import FakeGoogleCalendar, token_json
from tests.radicale_server import free_port

LIMIT_SECONDS = 10.0
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)


def use_google(monkeypatch, url: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AGENTCAL_CALENDAR", "google")
    monkeypatch.setenv("AGENTCAL_GOOGLE_API_ENDPOINT", url)
    reset_settings()
    settings = get_settings()
    settings.google_token_path.write_text(token_json())
    os.chmod(settings.google_token_path, 0o600)


def use_caldav(monkeypatch, url: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AGENTCAL_CALENDAR", "caldav")
    monkeypatch.setenv("AGENTCAL_CALDAV_URL", url)
    monkeypatch.setenv("AGENTCAL_CALDAV_USERNAME", "me")
    monkeypatch.setenv("AGENTCAL_CALDAV_PASSWORD", "secret")
    reset_settings()


def some_events(n: int) -> list[int]:
    return [
        events.create_event(
            user_id="alice", title=f"Block {i}", start=T0 + timedelta(hours=i), duration_minutes=30
        ).id
        for i in range(n)
    ]


def timed(cli, *args):  # type: ignore[no-untyped-def]
    """Run a command as a fresh process would (no outage remembered); (result, seconds)."""
    outages.clear()
    t = time.monotonic()
    result = cli(*args)
    return result, time.monotonic() - t


def clean(result) -> None:  # type: ignore[no-untyped-def]
    text = result.stdout + result.stderr
    assert "Traceback" not in text and "HTTPConnection" not in text and " at 0x" not in text


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["google", "caldav"])
@pytest.mark.parametrize("server", ["closed port", "silent server"])
def test_a_dead_calendar_server_fails_each_command_within_ten_seconds(
    cli, monkeypatch, backend, server
):
    silent = SilentServer()
    url = silent.__enter__() if server == "silent server" else closed_port()
    try:
        (use_google if backend == "google" else use_caldav)(monkeypatch, url)
        cli("prefs", "add", "gym", "--at", "06:00", "--days", "daily")
        emitted, emit_s = timed(cli, "emit", "--days", "30")
        synced, sync_s = timed(cli, "calendar", "sync")
        daemon, daemon_s = timed(cli, "daemon", "--once")
    finally:
        if server == "silent server":
            silent.__exit__()

    timings = {"emit": emit_s, "calendar sync": sync_s, "daemon --once": daemon_s}
    assert max(timings.values()) < LIMIT_SECONDS, timings
    assert emitted.exit_code == 0 and "placed using agentcal's events only" in emitted.stdout
    assert synced.exit_code == 1
    reason = "connection refused" if server == "closed port" else "no answer within 5 s"
    [line] = synced.stderr.splitlines()
    assert re.match(r"Error: \d+ event\(s\) not synced: cannot reach", line) and reason in line
    assert daemon.exit_code == 1
    assert (
        "job(s) failed in this run" in daemon.stderr and "waiting for the calendar" in daemon.stderr
    )
    assert daemon.stderr.count(" waits ") == 1  # one line for the outage, not one per job
    for result in (emitted, synced, daemon):
        clean(result)
    with session_scope() as s:
        jobs = s.exec(select(Job).where(Job.kind == "calendar_sync")).all()
        assert {j.state for j in jobs} <= {"queued", "done"} and all(j.attempts == 0 for j in jobs)


def test_quota_exhausted_raises_one_alert_and_the_syncs_resume_by_themselves(
    cli, monkeypatch, tmp_path
):
    calls = tmp_path / "alerts.txt"
    monkeypatch.setenv("AGENTCAL_ALERT_COMMAND", f"sh -c 'cat >> {calls}'")
    with FakeGoogleCalendar() as fake:
        use_google(monkeypatch, fake.url)
        some_events(94)
        fake.fail(403, "quotaExceeded", times=None)

        first, _ = timed(cli, "daemon", "--once")
        again, _ = timed(cli, "daemon", "--once")  # the syncs wait: nothing due, no new alert

        assert first.exit_code == 1 and again.exit_code == 0
        assert "waiting for the calendar to answer again" in first.stderr
        clean(first)
        with session_scope() as s:
            alerts = s.exec(select(Alert).where(Alert.acknowledged_at.is_(None))).all()  # type: ignore[union-attr]
            assert [a.subject for a in alerts] == ["calendar:google:alice"]
            assert "quota exhausted" in alerts[0].message
        assert calls.read_text().count("agentcal error") == 1
        assert fake.events() == []

        fake.recover()  # the quota came back; some time later the daemon runs again
        with session_scope() as s:
            s.execute(update(Job).values(run_at=datetime.now(UTC) - timedelta(seconds=1)))
        later, _ = timed(cli, "daemon", "--once")

        assert later.exit_code == 0, later.stderr
        assert len(fake.events()) == 94
        with session_scope() as s:
            rows = s.exec(select(CalendarEvent)).all()
            assert all(r.synced_revision == r.revision for r in rows)
            assert s.exec(select(Alert).where(Alert.acknowledged_at.is_(None))).all() == []  # type: ignore[union-attr]
            assert {j.state for j in s.exec(select(Job)).all()} == {"done"}
        status = cli("status")
        assert "calendar of alice is unusable" not in status.stdout


def test_library_log_lines_show_only_with_verbose(cli, monkeypatch):
    with FakeGoogleCalendar() as fake:
        use_google(monkeypatch, fake.url)
        # googleapiclient logs a WARNING for a 403 rate limit; agentcal retries it and succeeds.
        some_events(1)
        fake.fail(403, "rateLimitExceeded", times=1)
        quiet = cli("calendar", "sync")
        some_events(1)
        fake.fail(403, "rateLimitExceeded", times=1)
        loud = cli("-v", "calendar", "sync")

    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert loud.exit_code == 0
    assert 'googleapiclient.http: Encountered 403 Forbidden with reason "rateLimitExceeded"' in (
        loud.stderr
    )


def test_daemon_once_reports_a_permanent_failure_in_one_line(cli, monkeypatch):
    with FakeGoogleCalendar() as fake:
        use_google(monkeypatch, fake.url)
        [bad] = some_events(1)
        fake.fail(400, "invalid", times=None)

        result, _ = timed(cli, "daemon", "--once")

    assert result.exit_code == 1
    clean(result)
    lines = [line for line in result.stderr.splitlines() if line]
    assert any("failed: google calendar: Google Calendar answered 400" in line for line in lines)
    assert lines[-1].startswith("Error: 1 job(s) failed in this run: 1 dead")
    with session_scope() as s:
        assert s.get(CalendarEvent, bad).synced_revision is None


# -- signing in ---------------------------------------------------------------------------------


def client_secrets(path, token_uri: str):  # type: ignore[no-untyped-def]
    path.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": "client-1.apps.googleusercontent.com",
                    "client_secret": "not-a-real-secret",
                    "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                    "token_uri": token_uri,
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return path


def test_auth_google_without_a_browser_prints_the_url_and_signs_in(tmp_path, agentcal_home):
    with FakeGoogleCalendar() as fake:
        secrets = client_secrets(tmp_path / "client.json", fake.url + "token")
        port = free_port()
        env = subprocess_env(
            AGENTCAL_GOOGLE_CLIENT_SECRETS=str(secrets),
            OAUTHLIB_INSECURE_TRANSPORT="1",  # the fake token endpoint is plain http
            BROWSER="",
            DISPLAY="",
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentcal", "auth", "google", "--port", str(port)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            seen = []
            assert proc.stdout is not None
            for line in proc.stdout:
                seen.append(line)
                if line.startswith("https://accounts.google.com/"):
                    break
            query = parse_qs(urlsplit(seen[-1].strip()).query)
            redirect = query["redirect_uri"][0]
            assert redirect == f"http://localhost:{port}/"
            with urllib.request.urlopen(
                f"{redirect}?state={query['state'][0]}&code=good-code&scope={query['scope'][0]}",
                timeout=10,
            ) as page:
                assert b"signed in" in page.read()
            _, err = proc.communicate(timeout=30)
        finally:
            proc.kill()

    assert proc.returncode == 0, err
    assert "No web browser found" in seen[0] and "Traceback" not in err
    saved = json.loads((agentcal_home / "google-token.json").read_text())
    assert saved["token"] in fake.tokens and saved["refresh_token"] in fake.refresh_tokens


def test_auth_google_on_a_busy_port_is_one_line(cli, monkeypatch, tmp_path):
    import socket

    monkeypatch.setenv(
        "AGENTCAL_GOOGLE_CLIENT_SECRETS",
        str(client_secrets(tmp_path / "c.json", "https://oauth2.googleapis.com/token")),
    )
    with socket.socket() as busy:
        busy.bind(("localhost", 0))
        busy.listen(1)
        port = busy.getsockname()[1]

        result = cli("auth", "google", "--no-browser", "--port", str(port))

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: port {port} is already in use on this machine: pass --port with a free one "
        "(and forward that port instead)\n"
    )
