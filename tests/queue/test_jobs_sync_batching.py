"""calendar_sync jobs push a user's unsynced events together, in one batched backend call."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from agentcal.db import session_scope
from agentcal.models import CalendarEvent, Job
from agentcal.planning.events import calendar_events_service as events
from agentcal.workers.handlers import JobContext
from agentcal.workers.runner import JobWorker
from tests.fake_calendar import FakeCalendar

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


class CountingCalendar(FakeCalendar):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.batches: list[list[int]] = []

    def sync_many(self, batch):
        self.batches.append([e.id for e in batch])
        return super().sync_many(batch)


def _run_all(cal):
    worker = JobWorker(context=JobContext(backend_factory=lambda user: cal))
    while worker.process_one():
        pass


def test_one_job_pushes_every_unsynced_event_of_the_user_in_one_batch():
    created = [
        events.create_event(
            user_id="alice", title=f"e{i}", start=T0 + timedelta(hours=i), duration_minutes=30
        )
        for i in range(5)
    ]
    events.create_event(user_id="bob", title="bob's", start=T0, duration_minutes=30)
    cal = CountingCalendar()
    _run_all(cal)
    alice_ids = sorted(e.id for e in created)
    assert sorted(cal.batches[0]) == alice_ids  # the first job took all of alice's events
    assert len(cal.batches) == 2  # one batch for alice, one for bob
    with session_scope() as s:
        rows = s.exec(select(CalendarEvent)).all()
        assert all(r.synced_revision == r.revision and r.backend == "fake" for r in rows)
        jobs = s.exec(select(Job)).all()
        assert {j.state for j in jobs} == {"done"}
        skipped = [j for j in jobs if "skipped" in (j.result or {})]
        assert len(skipped) == 4  # alice's other jobs found their revision synced


def test_a_failing_neighbour_does_not_fail_the_job_and_stays_unsynced():
    good = events.create_event(user_id="alice", title="good", start=T0, duration_minutes=30)
    bad = events.create_event(
        user_id="alice", title="bad", start=T0 + timedelta(hours=2), duration_minutes=30
    )

    class PickyCalendar(CountingCalendar):
        def upsert(self, event):
            if event.title == "bad":
                from agentcal.calendars.base import SyncResult

                return SyncResult(event.id, None, ok=False, error="nope", retryable=True)
            return super().upsert(event)

    cal = PickyCalendar()
    worker = JobWorker(context=JobContext(backend_factory=lambda user: cal))
    assert worker.process_one()  # good's job: pushes good and bad, succeeds for good
    with session_scope() as s:
        assert s.get(CalendarEvent, good.id).synced_revision == 1
        assert s.get(CalendarEvent, bad.id).synced_revision is None
        bad_job = s.exec(select(Job).where(Job.unique_key == f"calendar_sync:{bad.id}:1")).one()
        assert bad_job.state == "queued"


def test_cancelled_event_that_never_reached_the_calendar_needs_no_call():
    event = events.create_event(user_id="alice", title="x", start=T0, duration_minutes=30)
    events.cancel_event("alice", event.id)
    cal = CountingCalendar()
    _run_all(cal)
    assert cal.calls == []
    with session_scope() as s:
        assert s.get(CalendarEvent, event.id).synced_revision == 2
