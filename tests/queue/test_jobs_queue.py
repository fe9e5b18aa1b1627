"""The job queue: claim, leases, complete, fail with backoff, dead, reap, retry, purge; and
handlers turning bad payloads into dead jobs with a clear error instead of a crash loop."""

from __future__ import annotations

import json
import random
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from agentcal.db import session_scope
from agentcal.health.monitoring import monitoring_service
from agentcal.models import Alert, Job, utcnow
from agentcal.queue.jobs import backoff_seconds, job_queue
from agentcal.workers.handlers import JobContext
from agentcal.workers.runner import JobWorker
from tests.fake_calendar import FakeCalendar


def _job(job_id: int) -> Job:
    with session_scope() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def test_claim_takes_priority_then_age_and_leases_the_job():
    low = job_queue.enqueue("emit_preference_events", {"user_id": "a"}, priority=100)
    high = job_queue.enqueue("emit_preference_events", {"user_id": "b"}, priority=10)
    later = job_queue.enqueue(
        "emit_preference_events", {"user_id": "c"}, priority=1, run_at=utcnow() + timedelta(hours=1)
    )
    first = job_queue.claim("w1", lease_seconds=60)
    second = job_queue.claim("w2", lease_seconds=60)
    assert (first.id, second.id) == (high.id, low.id)
    assert job_queue.claim("w3") is None  # `later` is not due yet
    row = _job(first.id)
    assert (row.state, row.attempts, row.locked_by) == ("running", 1, "w1")
    assert row.lease_token == first.lease_token and row.locked_until > utcnow()
    assert _job(later.id).state == "queued"


def test_complete_needs_the_current_lease():
    job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})
    claimed = job_queue.claim("w1", lease_seconds=60)
    # The lease expires and another worker takes the job over.
    job_queue.reap(now=utcnow() + timedelta(seconds=61))
    again = job_queue.claim("w2", lease_seconds=60)
    assert again.id == claimed.id and again.attempts == 2
    assert job_queue.complete(claimed, {"by": "w1"}) is False
    assert job_queue.fail(claimed, "late").state == "lost"
    assert job_queue.complete(again, {"by": "w2"}) is True
    row = _job(claimed.id)
    assert (row.state, row.result, row.lease_token) == ("done", {"by": "w2"}, None)


def test_failures_back_off_then_die_with_an_alert():
    job = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1}, max_attempts=3)
    calls = []

    def flaky(claimed, ctx):
        calls.append(claimed.attempts)
        raise RuntimeError("calendar timed out")

    worker = JobWorker(handlers={"calendar_sync": flaky})
    now = utcnow()
    for attempt in range(1, 4):
        assert worker.process_one() is True
        row = _job(job.id)
        if attempt < 3:
            assert row.state == "queued" and "calendar timed out" in row.last_error
            wait = (row.run_at - now).total_seconds()
            low, high = 10 * 2 ** (attempt - 1) * 0.5, 10 * 2 ** (attempt - 1) * 1.5
            assert low - 1 <= wait <= high + 5
            assert worker.process_one() is False  # not due yet
            with session_scope() as s:  # time passes
                r = s.get(Job, job.id)
                r.run_at = utcnow()
                s.add(r)
    row = _job(job.id)
    assert (row.state, row.attempts, calls) == ("dead", 3, [1, 2, 3])
    alerts = monitoring_service.list_alerts()
    assert [a.job_id for a in alerts] == [job.id]
    assert "RuntimeError: calendar timed out" in alerts[0].message


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(1)
    samples = [backoff_seconds(n, rng) for n in (1, 2, 3, 4)]
    for n, s in zip((1, 2, 3, 4), samples, strict=True):
        assert 5 * 2 ** (n - 1) <= s < 15 * 2 ** (n - 1)
    assert backoff_seconds(40, rng) < 3600 * 1.5


def test_reaper_requeues_expired_leases_and_kills_jobs_that_always_kill_their_worker():
    alive = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1}, max_attempts=5)
    doomed = job_queue.enqueue("calendar_sync", {"event_id": 2, "revision": 1}, max_attempts=1)
    job_queue.claim("w1", lease_seconds=30)
    job_queue.claim("w1", lease_seconds=30)
    assert job_queue.reap() == []  # leases still valid
    reaped = dict(job_queue.reap(now=utcnow() + timedelta(seconds=31)))
    assert reaped == {alive.id: "queued", doomed.id: "dead"}
    assert "worker w1 stopped answering" in _job(doomed.id).last_error


def test_release_gives_the_job_back_without_counting_the_attempt():
    job = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})
    claimed = job_queue.claim("w1")
    assert job_queue.release(claimed) is True
    row = _job(job.id)
    assert (row.state, row.attempts, row.lease_token) == ("queued", 0, None)


def test_interrupted_handler_releases_its_job():
    job = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})

    def interrupted(claimed, ctx):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        JobWorker(handlers={"calendar_sync": interrupted}).process_one()
    assert (_job(job.id).state, _job(job.id).attempts) == ("queued", 0)


@pytest.mark.parametrize(
    "kind,payload,error",
    [
        ("update_insight", {"category": "health"}, "needs a user_id"),
        (
            "update_insight",
            {"user_id": "alice", "insight_type": "preference", "category": "health",
             "key": "gym_time", "value": {}, "confidence": 7},
            "confidence must be between 0 and 1",
        ),
        (
            "update_insight",
            {"user_id": "alice", "insight_type": "wish", "category": "health", "key": "k",
             "value": 1, "confidence": 0.5},
            "insight_type must be one of",
        ),
        ("update_insight", {"user_id": "alice", "key": "k"}, "missing"),
        ("calendar_sync", {"event_id": "seven", "revision": 1}, "integer event_id"),
        ("calendar_sync", {"revision": 1}, "integer event_id"),
        ("emit_preference_events", {"user_id": ""}, "user must be a non-empty string"),
    ],
)  # fmt: skip
def test_bad_payloads_go_to_dead_at_once_with_a_clear_error(kind, payload, error):
    job = job_queue.enqueue(kind, payload)
    worker = JobWorker(context=JobContext(backend_factory=lambda user: FakeCalendar()))
    assert worker.process_one() is True
    row = _job(job.id)
    assert row.state == "dead" and row.attempts == 1
    assert error in row.last_error
    assert worker.process_one() is False  # no crash loop: nothing left to run


def test_list_show_retry_purge():
    a = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})
    b = job_queue.enqueue("emit_preference_events", {"user_id": "alice"})
    claimed = job_queue.claim("w", lease_seconds=60)
    job_queue.fail(claimed, "boom", permanent=True)
    assert [j.id for j in job_queue.list_jobs(state="dead")] == [a.id]
    assert [j.id for j in job_queue.list_jobs(kind="emit_preference_events")] == [b.id]
    assert job_queue.counts() == {"queued": 1, "running": 0, "done": 0, "dead": 1}
    assert job_queue.unacknowledged_dead() == 1
    retried = job_queue.retry(a.id)
    assert (retried.state, retried.attempts) == ("queued", 0)
    for _ in range(2):
        job_queue.complete(job_queue.claim("w", lease_seconds=60))
    assert job_queue.purge(older_than=timedelta(days=1)) == 0
    assert job_queue.purge(older_than=timedelta(0)) == 2
    assert job_queue.list_jobs() == []


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_alerts_reach_the_command_and_the_webhook(monkeypatch, tmp_path):
    from agentcal.settings import reset_settings

    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = tmp_path / "alert.txt"
    monkeypatch.setenv("AGENTCAL_ALERT_COMMAND", f"sh -c 'cat > {out}'")
    monkeypatch.setenv("AGENTCAL_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    reset_settings()
    try:
        alert = monitoring_service.raise_alert("job 9 is dead", source="jobs", job_id=9)
    finally:
        server.shutdown()
    assert out.read_text() == "agentcal error: [jobs] job 9 is dead\n"
    assert _Hook.received[-1]["message"] == "job 9 is dead"
    assert _Hook.received[-1]["id"] == alert.id
    with session_scope() as s:
        assert s.get(Alert, alert.id).job_id == 9


def test_an_unreachable_webhook_does_not_raise(monkeypatch):
    from agentcal.settings import reset_settings

    monkeypatch.setenv("AGENTCAL_ALERT_WEBHOOK", "http://127.0.0.1:9/nothing-listens")
    reset_settings()
    assert monitoring_service.raise_alert("x", source="test") is not None
