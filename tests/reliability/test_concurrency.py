"""Concurrency: 4 daemons on one SQLite file, and 4 on one PostgreSQL database, share 5,000
jobs: each job runs exactly once and no "database is locked" error escapes.

The daemons are the real `agentcal daemon --once` (job processor and emitter pass); only the
job handlers are swapped for one that records each execution (recording_worker.py).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from agentcal.db import dispose_engines, session_scope
from agentcal.models import WorkerHeartbeat
from agentcal.queue.jobs import job_queue
from agentcal.settings import reset_settings
from tests.conftest import ON_POSTGRES, ROOT, subprocess_env

JOBS = 5000
WORKERS = 4


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    """The store the workers share: the test's SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        if ON_POSTGRES:
            pytest.skip("the SQLite case runs in the SQLite pass")
        return "sqlite"
    if not ON_POSTGRES:  # the SQLite pass still covers PostgreSQL, on a database of its own
        from tests.conftest import _fresh_pg_database

        monkeypatch.setenv("AGENTCAL_DATABASE_URL", _fresh_pg_database(request))
        reset_settings()
        dispose_engines()
    return "postgres"


def _insight_job(n: int) -> dict:  # type: ignore[type-arg]
    body = {
        "insight_type": "preference",
        "category": "work",
        "key": f"k{n}",
        "value": {"n": n},
        "confidence": 0.5,
        "user_id": "alice",
    }
    return {"kind": "update_insight", "payload": body, "unique_key": f"insight:k{n}"}


@pytest.mark.slow
def test_four_daemons_run_each_of_5000_jobs_exactly_once(database, tmp_path: Path):
    assert job_queue.enqueue_many([_insight_job(n) for n in range(JOBS)]) == JOBS
    log = tmp_path / "runs.log"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.recording_worker", str(log), "--daemon"],
            cwd=ROOT,
            env=subprocess_env(AGENTCAL_LOG_LEVEL="WARNING"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    errors = []
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        errors.append(err)
        assert proc.returncode == 0, err[-3000:]
    for err in errors:
        assert "database is locked" not in err
        assert "Traceback" not in err, err[-3000:]

    runs = [line.split() for line in log.read_text().splitlines()]
    per_job = Counter(int(job_id) for job_id, _, _ in runs)
    assert len(per_job) == JOBS and set(per_job.values()) == {1}  # every job, exactly once
    assert sorted(key for _, key, _ in runs) == sorted(f"k{n}" for n in range(JOBS))
    assert job_queue.counts()["done"] == JOBS
    assert sum(job_queue.counts().values()) == JOBS
    pids = Counter(pid for _, _, pid in runs)
    assert len(pids) >= 2, pids  # the work really was shared
    with session_scope() as s:
        beats = list(s.exec(select(WorkerHeartbeat)))
    job_beats = [b for b in beats if b.kind == "async_job_processor"]
    assert len(job_beats) == WORKERS
    assert sum(b.jobs_done for b in job_beats) == JOBS  # and each worker counted only its own


def test_enqueue_many_counts_the_jobs_it_added():
    """On PostgreSQL the driver's rowcount for a multi-row insert is -1: count returned ids."""
    first = [_insight_job(n) for n in range(3)]
    assert job_queue.enqueue_many(first) == 3
    assert job_queue.enqueue_many([*first, _insight_job(3)]) == 1  # active keys are skipped
