"""Monitoring that does not cry wolf: a healthy default daemon raises nothing for hours, a dead
one raises exactly one alert, and every alert clears when its problem is resolved.

The daemon's timetable (`Daemon.tasks`) runs on a simulated clock: every task at its default
interval, in time order, with every time it writes taken from the clock.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from agentcal.db import session_scope
from agentcal.health.monitoring import monitoring_service
from agentcal.models import Alert, WorkerHeartbeat, utcnow
from agentcal.queue.jobs import job_queue
from agentcal.workers.daemon import Daemon
from tests.conftest import subprocess_env


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def simulate(daemon: Daemon, clock: Clock, seconds: float) -> dict[str, int]:
    """Run the daemon's timetable for `seconds` of simulated time; returns runs per task."""
    tasks = daemon.tasks()
    due = {t.name: clock.now for t in tasks}
    until = clock.now + timedelta(seconds=seconds)
    runs = dict.fromkeys(due, 0)
    while True:
        task = min(tasks, key=lambda t: due[t.name])
        if due[task.name] > until:
            clock.now = until
            return runs
        clock.now = due[task.name]
        task.run()
        runs[task.name] += 1
        due[task.name] = clock.now + timedelta(seconds=task.every)


def alerts() -> list[Alert]:
    with session_scope() as s:
        return list(s.exec(select(Alert).order_by(Alert.id)))


def open_alerts() -> list[Alert]:
    return [a for a in alerts() if a.acknowledged_at is None]


@pytest.fixture
def clock() -> Clock:
    return Clock(utcnow().replace(microsecond=0))


def test_a_default_daemon_is_quiet_for_two_hours_then_one_alert_when_killed(clock):
    daemon = Daemon(clock=clock)
    daemon.start()

    runs = simulate(daemon, clock, 2 * 3600)

    assert runs == {"heartbeat": 121, "jobs": 3601, "emit": 3, "monitor": 121}
    assert alerts() == []
    report = monitoring_service.health(now=clock())
    assert report.healthy, report.problems
    assert {w.kind for w in report.workers} == {"async_job_processor", "preference_emitter"}

    # kill -9: no goodbye, no more beats. Another process's monitor looks every minute.
    killed_at = clock.now
    raised = []
    for _ in range(60):
        clock.now += timedelta(seconds=60)
        raised += monitoring_service.check(now=clock())
    [alert] = alerts()
    assert [a.id for a in raised] == [alert.id] and alert.acknowledged_at is None
    assert "daemon-jobs" in alert.message and "daemon-emitter" in alert.message  # one process
    assert alert.created_at - killed_at == timedelta(minutes=4)  # the first check after 3 beats
    report = monitoring_service.health(now=clock())
    assert not report.healthy and len(report.problems) == 2  # both of its workers are stale

    # It comes back (same host, a new daemon): the alert clears itself.
    Daemon(clock=clock).start()
    monitoring_service.check(now=clock())
    assert open_alerts() == [] and len(alerts()) == 1
    assert monitoring_service.health(now=clock()).healthy


def test_a_busy_worker_keeps_beating_on_its_own_timer(agentcal_home):
    from agentcal.workers.handlers import JobContext
    from agentcal.workers.runner import JobWorker

    started, release = threading.Event(), threading.Event()

    def slow(job, ctx):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(10)
        return {"ok": True}

    job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})
    worker = JobWorker(handlers={"calendar_sync": slow}, context=JobContext(),
                       heartbeat_seconds=0.2)  # fmt: skip
    thread = threading.Thread(target=worker.run_forever, kwargs={"poll_seconds": 0.05})
    thread.start()
    try:
        assert started.wait(30)
        first = _last_seen(worker.worker_id)
        time.sleep(1.0)  # five beats while the job runs
        assert _last_seen(worker.worker_id) > first
    finally:
        release.set()
        worker.stop.set()
        thread.join(30)
    assert monitoring_service.workers()[0].state == "stopped"


def _last_seen(worker_id: str) -> datetime:
    with session_scope() as s:
        row = s.get(WorkerHeartbeat, worker_id)
        assert row is not None
        return row.last_seen


def test_a_job_running_past_its_lease_raises_one_alert_cleared_when_reaped(clock):
    job = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1}, run_at=clock())
    assert job_queue.claim("stuck-worker@elsewhere:7", lease_seconds=300, now=clock())

    clock.now += timedelta(seconds=299)
    assert monitoring_service.check(now=clock()) == []
    for _ in range(10):
        clock.now += timedelta(seconds=60)
        monitoring_service.check(now=clock())

    [alert] = alerts()
    assert alert.job_id == job.id and "after its lease ended" in alert.message
    assert not monitoring_service.health(now=clock()).healthy

    assert job_queue.reap(now=clock()) == [(job.id, "queued")]
    monitoring_service.check(now=clock())
    assert open_alerts() == []
    assert monitoring_service.health(now=clock()).healthy


def test_a_stale_worker_that_beats_again_clears_its_alert(clock):
    monitoring_service.heartbeat("w@elsewhere:1", "async_job_processor", interval=60, now=clock())
    clock.now += timedelta(seconds=181)
    [alert] = monitoring_service.check(now=clock())
    assert "sent no heartbeat for 181 s" in alert.message

    monitoring_service.heartbeat("w@elsewhere:1", "async_job_processor", interval=60, now=clock())
    monitoring_service.check(now=clock())
    assert open_alerts() == []


def test_acknowledging_a_lost_worker_makes_status_healthy(cli):
    monitoring_service.heartbeat("w@elsewhere:1", "async_job_processor",
                                 now=utcnow() - timedelta(hours=2))  # fmt: skip
    sick = cli("status")
    assert sick.exit_code == 1 and "w@elsewhere:1" in sick.stdout
    [alert] = json.loads(cli("alerts", "list", "--json").stdout)  # raised by status itself
    assert cli("status").exit_code == 1 and len(alerts()) == 1  # and only once

    assert cli("alerts", "ack", str(alert["id"])).exit_code == 0
    assert cli("status").exit_code == 0
    assert monitoring_service.workers()[0].state == "gone"


@pytest.mark.slow
def test_a_daemon_killed_with_sigkill_raises_one_alert(agentcal_home):
    env = subprocess_env(AGENTCAL_HOME=str(agentcal_home), AGENTCAL_WORKER_POLL_SECONDS="0.2")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcal", "daemon"],
        cwd=agentcal_home, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while len(monitoring_service.workers()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(monitoring_service.workers()) == 2
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    # The next cron run (or `agentcal status`) finds the process gone: one alert at once.
    once = subprocess.run(
        [sys.executable, "-m", "agentcal", "daemon", "--once"],
        cwd=agentcal_home, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert once.returncode == 0, once.stderr
    status = subprocess.run(
        [sys.executable, "-m", "agentcal", "status", "--json"],
        cwd=agentcal_home, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert status.returncode == 1
    report = json.loads(status.stdout)
    killed = [w for w in report["workers"] if w["pid"] == proc.pid]
    assert {w["state"] for w in killed} == {"vanished"}
    [alert] = alerts()
    assert alert.subject.endswith(f":{proc.pid}") and "died without saying goodbye" in alert.message


def test_an_old_row_without_an_interval_uses_the_setting(clock, monkeypatch):
    from agentcal.settings import reset_settings

    monitoring_service.heartbeat("w@elsewhere:2", "preference_emitter", now=clock())
    with session_scope() as s:
        row = s.get(WorkerHeartbeat, "w@elsewhere:2")
        row.heartbeat_seconds = None
        s.add(row)
    monkeypatch.setenv("AGENTCAL_HEARTBEAT_SECONDS", "600")
    reset_settings()
    clock.now += timedelta(seconds=1700)
    assert monitoring_service.health(now=clock()).healthy
    clock.now += timedelta(seconds=200)
    assert not monitoring_service.health(now=clock()).healthy
