"""`agentcal daemon --once` on a fresh data dir: quiet, and one line saying what it did."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import subprocess_env


def _run(home, *args: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    """`agentcal ARGS` in a subprocess on `home` (or `python -c CODE` when args[0] is -c)."""
    env = subprocess_env(AGENTCAL_HOME=str(home), AGENTCAL_USER="alice")
    env.pop("AGENTCAL_LOG_LEVEL", None)
    command = list(args) if args[0] == "-c" else ["-m", "agentcal", *args]
    return subprocess.run(
        [sys.executable, *command], capture_output=True, text=True, env=env, timeout=120
    )


def test_a_first_daemon_once_is_one_line_and_no_alembic_noise(tmp_path):
    home = tmp_path / "fresh"  # no store yet: the daemon creates and migrates it
    first = _run(home, "daemon", "--once")
    assert first.returncode == 0, first.stderr
    assert "alembic" not in first.stderr and "INFO" not in first.stderr
    assert first.stdout.splitlines() == [
        "0 events created, 0 changed, 0 synced; 0 insights applied; 0 jobs run, 0 failed"
    ]
    # A job worker seems to run (this test's process, freshly beating), so the chat queues
    # the insight for it instead of applying it at once: the daemon's jobs then do the work.
    beat = _run(home, "-c", "import os; os.getpid = os.getppid; "
                "from agentcal.health.monitoring import monitoring_service as m; "
                "m.heartbeat('async_job_processor@test', 'async_job_processor')")  # fmt: skip
    assert beat.returncode == 0, beat.stderr
    told = _run(home, "chat", "-m", "I go to the gym every weekday at 6am")
    assert told.returncode == 0, told.stderr
    assert "Queued for the agentcal worker" in told.stdout
    second = _run(home, "daemon", "--once")
    assert second.returncode == 0, second.stderr
    [line] = second.stdout.splitlines()
    created = int(line.split()[0])
    assert created >= 4  # this week's and next week's weekdays that are still ahead
    assert line == (
        f"{created} events created, 0 changed, {created} synced; 1 insight applied; "
        f"{created + 2} jobs run, 0 failed"
    )


def test_daemon_once_after_the_chat_applied_a_habit_says_its_events_are_in_place(tmp_path):
    home = tmp_path / "home"
    # No worker runs: the chat applies the habit at once and places its events itself.
    told = _run(home, "chat", "-m", "I go to the gym every weekday at 6am")
    assert told.returncode == 0, told.stderr
    listed = _run(home, "events", "list", "--days", "7", "--json")
    placed = len(json.loads(listed.stdout))
    assert placed >= 4
    ran = _run(home, "daemon", "--once")
    assert ran.returncode == 0, ran.stderr
    # Nothing new to create is not "nothing there": the line says the events are in place.
    # The chat's sync jobs run and find their events already in the local calendar file.
    assert ran.stdout.splitlines() == [
        f"0 events created ({placed} already in place), 0 changed, 0 synced; "
        f"0 insights applied; {placed} jobs run, 0 failed"
    ]
    jobs = json.loads(_run(home, "jobs", "list", "--json", "-n", "100").stdout)
    assert {j["state"] for j in jobs} == {"done"}
    assert sum(j["kind"] == "calendar_sync" for j in jobs) == placed
