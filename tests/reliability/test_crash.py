"""Crash: `agentcal daemon` is killed with SIGKILL at random moments while it syncs 500 events to
a CalDAV server (Radicale on loopback), and restarted each time. Afterwards every event is on
the calendar exactly once and no job is lost.

Leases are short (5 s) and the poll interval fast, so a killed daemon's job is reclaimed by the
next one soon after its lease expires.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from agentcal.db import session_scope
from agentcal.models import CalendarEvent
from agentcal.queue.jobs import job_queue
from tests.conftest import ROOT, subprocess_env
from tests.radicale_server import count_by_uid, radicale_server

EVENTS = 500
KILLS = 20
T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def _daemon(env: dict[str, str], log) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [sys.executable, "-m", "agentcal", "daemon"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _done() -> int:
    return job_queue.counts()["done"]


@pytest.mark.slow
def test_sigkilled_daemon_loses_nothing_and_duplicates_nothing(tmp_path, monkeypatch):
    from agentcal.planning.events import calendar_events_service

    rng = random.Random(6)
    user = f"u{uuid.uuid4().hex[:10]}"
    with radicale_server(tmp_path) as url:
        env = subprocess_env(
            AGENTCAL_CALENDAR="caldav",
            AGENTCAL_CALDAV_URL=url,
            AGENTCAL_CALDAV_USERNAME=user,
            AGENTCAL_CALDAV_PASSWORD="anything",
            AGENTCAL_JOB_LEASE_SECONDS="5",
            AGENTCAL_WORKER_POLL_SECONDS="0.2",
            # every kill could land on the same job: crashes alone must never exhaust a job
            AGENTCAL_JOB_MAX_ATTEMPTS=str(KILLS + 1),
            AGENTCAL_LOG_LEVEL="WARNING",
        )
        with session_scope() as s:
            for n in range(EVENTS):
                calendar_events_service.create_event(
                    user_id="alice",
                    title=f"Block {n}",
                    start=T0 + timedelta(hours=n),
                    duration_minutes=30,
                    timezone="Europe/Paris",
                    session=s,
                )
        log = (tmp_path / "daemon.log").open("ab")
        kills_mid_sync = 0
        for _ in range(KILLS):
            before = _done()
            proc = _daemon(env, log)
            deadline = time.monotonic() + 120
            while _done() == before and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.05)
            assert proc.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            time.sleep(rng.uniform(0.0, 0.6))  # somewhere in the middle of the work
            kills_mid_sync += job_queue.counts()["running"] > 0
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        # How far the sync got before the last kill depends on the machine's speed (one job
        # pushes up to 50 events): what must hold is that kills landed with work in hand.
        assert _done() > 0 and kills_mid_sync > 0

        proc = _daemon(env, log)
        deadline = time.monotonic() + 300
        try:
            while time.monotonic() < deadline:
                counts = job_queue.counts()
                if counts["queued"] == counts["running"] == 0:
                    break
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        log.close()

        counts = job_queue.counts()
        assert counts["done"] == EVENTS and counts["dead"] == 0, counts
        assert counts["queued"] == counts["running"] == 0
        with session_scope() as s:
            events = list(s.exec(select(CalendarEvent)))
        assert len(events) == EVENTS
        assert all(e.synced_revision == 1 for e in events)
        assert count_by_uid(url, user) == Counter({e.uid: 1 for e in events})
        assert kills_mid_sync > 0  # kills landed while a job was in hand
