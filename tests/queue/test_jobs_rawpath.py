"""The queue's raw-connection hot path: batch claims (order, per-job leases, lease checks on
complete_many), a worker claiming in batches (gives back what it did not start), the per-thread
connection surviving a failed statement, and engine disposal closing the held connections."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from agentcal.db import get_engine, session_scope
from agentcal.errors import ValidationError
from agentcal.models import Job, utcnow
from agentcal.queue import raw as raw_path
from agentcal.queue.jobs import JobQueue, job_queue
from agentcal.workers.runner import JobWorker


def _row(job_id: int) -> Job:
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def test_claim_many_takes_due_jobs_in_order_with_their_own_leases():
    low = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1}, priority=100)
    high = job_queue.enqueue("calendar_sync", {"event_id": 2, "revision": 1}, priority=5)
    mid = job_queue.enqueue("emit_preference_events", {"user_id": "a"}, priority=50)
    later = job_queue.enqueue(
        "calendar_sync", {"event_id": 3, "revision": 1}, run_at=utcnow() + timedelta(hours=1)
    )
    claimed = job_queue.claim_many("w1", 10, lease_seconds=60)
    assert [j.id for j in claimed] == [high.id, mid.id, low.id]
    assert len({j.lease_token for j in claimed}) == 3
    for j in claimed:
        row = _row(j.id)
        assert (row.state, row.attempts, row.locked_by) == ("running", 1, "w1")
        assert row.lease_token == j.lease_token
    assert claimed[0].payload == {"event_id": 2, "revision": 1}
    assert _row(later.id).state == "queued"
    assert job_queue.claim_many("w2", 10) == []


def test_claim_many_respects_the_limit_and_kinds():
    for i in range(5):
        job_queue.enqueue("calendar_sync", {"event_id": i, "revision": 1})
    job_queue.enqueue("emit_preference_events", {"user_id": "a"})
    first = job_queue.claim_many("w", 2, kinds=("calendar_sync",))
    second = job_queue.claim_many("w", 10, kinds=("calendar_sync",))
    assert len(first) == 2 and len(second) == 3
    assert {j.kind for j in first + second} == {"calendar_sync"}
    assert not {j.id for j in first} & {j.id for j in second}
    with pytest.raises(ValidationError):
        job_queue.claim_many("w", 0)


def test_complete_many_checks_each_lease():
    for i in range(3):
        job_queue.enqueue("calendar_sync", {"event_id": i, "revision": 1})
    a, b, c = job_queue.claim_many("w1", 3, lease_seconds=60)
    # b's lease expires and another worker takes it over.
    with session_scope() as s:
        row = s.get(Job, b.id)
        assert row is not None
        row.locked_until = utcnow() - timedelta(seconds=1)
        s.add(row)
    job_queue.reap()
    b2 = job_queue.claim("w2", lease_seconds=60)
    assert b2 is not None and b2.id == b.id
    assert job_queue.complete_many([(a, {"n": 1}), (b, {"n": 2}), (c, None)]) == [
        True,
        False,
        True,
    ]
    assert (_row(a.id).state, _row(a.id).result) == ("done", {"n": 1})
    assert (_row(b.id).state, _row(b.id).lease_token) == ("running", b2.lease_token)
    assert job_queue.complete(b2, {"by": "w2"}) is True
    assert _row(b.id).result == {"by": "w2"}
    assert job_queue.complete_many([]) == []


def test_a_stale_token_of_a_batch_cannot_complete_another_job_of_it():
    for i in range(2):
        job_queue.enqueue("calendar_sync", {"event_id": i, "revision": 1})
    a, b = job_queue.claim_many("w", 2)
    forged = type(a)(**{**a.__dict__, "id": b.id})  # a's token, b's id
    assert job_queue.complete(forged) is False
    assert _row(b.id).state == "running"


def test_batch_worker_runs_everything_once_and_releases_unstarted_jobs():
    for i in range(7):
        job_queue.enqueue("calendar_sync", {"event_id": i, "revision": 1})
    seen: list[int] = []
    stop = threading.Event()

    def handler(job, ctx):
        seen.append(job.payload["event_id"])
        if len(seen) == 4:
            stop.set()  # stop in the middle of a batch of 3
        return {"ok": True}

    worker = JobWorker(handlers={"calendar_sync": handler}, batch_size=3, stop=stop)
    assert worker.run_once() == 4
    counts = job_queue.counts()
    assert (counts["done"], counts["queued"], counts["running"]) == (4, 3, 0)
    with session_scope() as s:
        queued = s.exec(select(Job).where(Job.state == "queued")).all()
    assert all(j.attempts == 0 and j.lease_token is None for j in queued)
    stop.clear()
    assert worker.run_once() == 3
    assert sorted(seen) == list(range(7))
    assert job_queue.counts()["done"] == 7


def test_a_failed_statement_rolls_back_and_the_next_call_works(monkeypatch):
    job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})
    engine = get_engine()

    def boom(cur, dialect):
        cur.execute("UPDATE jobs SET state = 'done'")
        raise RuntimeError("handler blew up mid-transaction")

    with pytest.raises(RuntimeError):
        raw_path._run_raw(engine, boom)
    assert job_queue.counts()["queued"] == 1  # rolled back
    assert job_queue.claim("w") is not None


def test_disposing_the_engine_closes_the_held_connections():
    queue = JobQueue(get_engine())
    queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})
    engine = queue.engine
    held = [f for (e, f) in raw_path._raw_conns.values() if e is engine]
    assert len(held) == 1
    engine.dispose()
    assert not [k for k, (e, _) in raw_path._raw_conns.items() if e is engine]
    assert not held[0].is_valid


@pytest.mark.sqlite_only
def test_the_raw_sqlite_connection_waits_for_the_write_lock(tmp_path):
    """Another connection holds the write lock for a moment: the claim waits, then works."""
    import sqlite3
    import time

    job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})
    path = get_engine().url.database
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.2, lambda: other.execute("COMMIT")).start()
    t0 = time.monotonic()
    job = job_queue.claim("w")
    assert job is not None and time.monotonic() - t0 >= 0.15
    other.close()
