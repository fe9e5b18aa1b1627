"""Real worker processes on one SQLite file: exactly-once completion, SIGKILL mid-job, daemon
stopped with SIGTERM, and the seed's gym example end to end."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from agentcal.db import session_scope
from agentcal.models import Alert, CalendarEvent, Job, WorkerHeartbeat, utcnow
from agentcal.queue.jobs import job_queue
from agentcal.workers.runner import JobWorker
from tests.conftest import ROOT, subprocess_env
from tests.jobs_helpers import read_log, recording_handlers

GYM_BODY = {
    "insight_type": "preference",
    "category": "health",
    "key": "gym_time",
    "value": {"time": "06:00", "duration": 60, "days": [1, 2, 3, 4, 5]},
    "confidence": 0.9,
}


def _env(home: Path, **extra: str) -> dict[str, str]:
    return subprocess_env(
        AGENTCAL_HOME=str(home), AGENTCAL_USER="alice", AGENTCAL_TIMEZONE="Europe/Paris", **extra
    )


def _worker(home: Path, log: Path, sleep: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.jobs_helpers", str(log), str(sleep)],
        cwd=ROOT,
        env=_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _states() -> Counter:
    with session_scope() as s:
        return Counter(j.state for j in s.exec(select(Job)))


@pytest.mark.slow
@pytest.mark.parametrize("processes", [2, 4])
def test_every_job_runs_exactly_once_with_several_worker_processes(
    agentcal_home, tmp_path, processes
):
    n = 400
    job_queue.enqueue_many(
        [{"kind": "calendar_sync", "payload": {"event_id": i, "revision": 1}} for i in range(n)]
    )
    log = tmp_path / "runs.log"
    # 5 ms per job: one worker alone would need 2 s, longer than the others take to start, so
    # the processes really compete for the queue.
    workers = [_worker(agentcal_home, log, 0.005) for _ in range(processes)]
    errors = []
    for w in workers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err
        errors.append(err)
    runs = read_log(str(log))
    ends = Counter(job for kind, job, _ in runs if kind == "end")
    assert len(ends) == n and set(ends.values()) == {1}
    assert _states() == Counter({"done": n})
    assert not any("database is locked" in e for e in errors)
    assert len({pid for _, _, pid in runs}) >= 2  # the work really was shared


@pytest.mark.slow
def test_a_job_whose_worker_is_killed_runs_again_and_completes_once(agentcal_home, tmp_path):
    job = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})
    log = tmp_path / "runs.log"
    victim = _worker(agentcal_home, log, 60.0)
    deadline = time.monotonic() + 30
    while not read_log(str(log)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read_log(str(log)) == [("start", job.id, victim.pid)]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    with session_scope() as s:
        assert s.get(Job, job.id).state == "running"
    # Later, once its lease has run out, the next worker's reaper puts the job back.
    later = utcnow() + timedelta(seconds=301)
    assert job_queue.reap(now=later) == [(job.id, "queued")]
    survivor = JobWorker(handlers=recording_handlers(str(log), 0.0))
    assert survivor.run_once() == 1
    runs = read_log(str(log))
    assert [r[0] for r in runs] == ["start", "start", "end"]
    assert Counter(kind for kind, *_ in runs)["end"] == 1
    with session_scope() as s:
        row = s.get(Job, job.id)
        assert (row.state, row.attempts) == ("done", 2)
        beats = {b.pid: b.state for b in s.exec(select(WorkerHeartbeat))}
        alerts = list(s.exec(select(Alert)))
    # The survivor found the dead worker: marked vanished, with one alert (not stale forever,
    # not forgotten either).
    assert beats[victim.pid] == "vanished"
    assert [a.subject for a in alerts] == [f"process:{socket.gethostname()}:{victim.pid}"]


@pytest.mark.slow
def test_daemon_stops_cleanly_on_sigterm(agentcal_home):
    job_queue.enqueue("update_insight", {**GYM_BODY, "user_id": "alice"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcal", "daemon"],
        cwd=agentcal_home,
        env=_env(agentcal_home, AGENTCAL_WORKER_POLL_SECONDS="0.2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            counts = _states()
            if counts["done"] >= 3 and not counts["queued"] and not counts["running"]:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    with session_scope() as s:
        beats = list(s.exec(select(WorkerHeartbeat)))
        synced = [e for e in s.exec(select(CalendarEvent)) if e.synced_revision == e.revision]
    assert beats and {b.state for b in beats} == {"stopped"}
    assert synced  # the daemon ran the chain: insight -> events -> synced


def _expected_gym_days(now: datetime) -> list[str]:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Paris")
    today = now.astimezone(tz).date()
    out = []
    for d in range(7):
        day = today + timedelta(days=d)
        start = datetime(day.year, day.month, day.day, 6, 0, tzinfo=tz)
        if day.isoweekday() <= 5 and start > now:
            out.append(day.isoformat())
    return out


def test_the_seeds_gym_example_end_to_end(cli):
    before = datetime.now(UTC)
    result = cli("insights", "update", input=json.dumps(GYM_BODY))
    assert result.exit_code == 0, result.output
    job_id = int(result.stdout.strip())
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert (job.kind, job.state, job.payload["user_id"]) == (
            "update_insight",
            "queued",
            "alice",
        )
    ran = cli("daemon", "--once")
    after = datetime.now(UTC)
    assert ran.exit_code == 0, ran.output
    insight = json.loads(cli("insights", "show", "health/gym_time", "--json").stdout)
    assert (insight["value"], insight["confidence"], insight["source"]) == (
        GYM_BODY["value"], 0.9, "agent",
    )  # fmt: skip
    [pref] = json.loads(cli("prefs", "list", "--json").stdout)
    assert (pref["preference_type"], pref["title"], pref["start_time"], pref["duration_minutes"]) == (
        "gym", "Morning Gym", "06:00", 60,
    )  # fmt: skip
    assert (pref["day_of_week"], pref["auto_schedule"], pref["source_insight_id"]) == (
        [1, 2, 3, 4, 5], True, insight["id"],
    )  # fmt: skip
    listed = json.loads(cli("events", "list", "--days", "8", "--json").stdout)
    assert all(e["title"] == "Morning Gym" for e in listed)
    days = [e["local_date"] for e in listed]
    assert days in (_expected_gym_days(before), _expected_gym_days(after))
    assert all(e["start_at"].endswith(("05:00:00+00:00", "04:00:00+00:00")) for e in listed)
    assert all((e["backend"], e["synced_revision"]) == ("local", 1) for e in listed)
    assert json.loads(cli("jobs", "list", "--state", "queued", "--json").stdout) == []
    # One summary line counting what the jobs did: the insight, the emit job's events, their
    # syncs (the first sync job pushes the batch, the others find their event synced).
    n = len(listed)
    assert ran.stdout.splitlines() == [
        f"{n} events created, 0 changed, {n} synced; 1 insight applied; {n + 2} jobs run, 0 failed"
    ]

    # Again: the same body is only a reinforcement, and nothing new is planned or synced.
    jobs_before = len(json.loads(cli("jobs", "list", "--json", "-n", "1000").stdout))
    assert cli("insights", "update", "--json", json.dumps(GYM_BODY)).exit_code == 0
    again = cli("daemon", "--once")
    assert again.exit_code == 0
    # The emitter's pass (the next 7 days) finds this week's events where they belong.
    week = len(json.loads(cli("events", "list", "--days", "7", "--json").stdout))
    assert again.stdout.splitlines() == [
        f"0 events created ({week} already in place), 0 changed, 0 synced; 1 insight applied; "
        "1 job run, 0 failed"
    ]
    assert json.loads(cli("events", "list", "--days", "8", "--json").stdout) == listed
    kinds = Counter(
        j["kind"] for j in json.loads(cli("jobs", "list", "--json", "-n", "1000").stdout)
    )
    assert sum(kinds.values()) == jobs_before + 1 and kinds["calendar_sync"] == len(listed)
    status = cli("status", "--json")
    assert status.exit_code == 0 and json.loads(status.stdout)["healthy"] is True
