"""The events service (shared by the agent, the emitter and the backends) and job enqueueing."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from agentcal.calendars.base import first_free_slot, merge_intervals
from agentcal.db import session_scope
from agentcal.errors import NotFoundError, ValidationError
from agentcal.models import Job
from agentcal.planning.events import calendar_events_service as events
from agentcal.queue.jobs import job_queue

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _jobs():
    with session_scope() as s:
        return [(j.kind, j.payload, j.state) for j in s.exec(select(Job).order_by(Job.id))]


def test_enqueue_with_unique_key_returns_the_active_job():
    first = job_queue.enqueue(
        "emit_preference_events", {"user_id": "alice"}, unique_key="emit:alice"
    )
    again = job_queue.enqueue(
        "emit_preference_events", {"user_id": "alice"}, unique_key="emit:alice"
    )
    other = job_queue.enqueue("emit_preference_events", {"user_id": "bob"}, unique_key="emit:bob")
    assert first.id == again.id != other.id
    assert len(_jobs()) == 2


def test_enqueue_after_the_keyed_job_finished_creates_a_new_one():
    first = job_queue.enqueue(
        "emit_preference_events", {"user_id": "alice"}, unique_key="emit:alice"
    )
    with session_scope() as s:
        job = s.get(Job, first.id)
        job.state = "done"
        s.add(job)
    second = job_queue.enqueue(
        "emit_preference_events", {"user_id": "alice"}, unique_key="emit:alice"
    )
    assert second.id != first.id


@pytest.mark.parametrize(
    "kind,payload,kwargs",
    [
        ("launch_rockets", {}, {}),
        ("calendar_sync", [1, 2], {}),
        ("calendar_sync", {"x": {1, 2}}, {}),
        ("calendar_sync", {}, {"run_at": datetime(2026, 1, 1)}),
    ],
)
def test_enqueue_rejects_bad_jobs(kind, payload, kwargs, snapshot):
    before = snapshot()
    with pytest.raises(ValidationError):
        job_queue.enqueue(kind, payload, **kwargs)
    assert snapshot() == before


def test_create_move_rename_cancel_queue_one_sync_per_revision():
    event = events.create_event(user_id="alice", title="Standup", start=T0, duration_minutes=30)
    moved = events.update_event("alice", event.id, start=T0 + timedelta(hours=1))
    assert (moved.start_at, moved.end_at) == (
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=1, minutes=30),
    )
    renamed = events.update_event("alice", event.id, title="Daily standup", duration_minutes=45)
    assert renamed.end_at - renamed.start_at == timedelta(minutes=45)
    events.cancel_event("alice", event.id)
    events.cancel_event("alice", event.id)  # already cancelled: no new revision
    assert [p["revision"] for k, p, _ in _jobs() if k == "calendar_sync"] == [1, 2, 3, 4]
    assert events.list_events("alice") == []
    assert len(events.list_events("alice", include_cancelled=True)) == 1


def test_local_date_is_in_the_events_time_zone():
    late = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)  # already the 28th in Tokyo
    event = events.create_event(
        user_id="alice", title="x", start=late, duration_minutes=10, timezone="Asia/Tokyo"
    )
    assert event.local_date.isoformat() == "2026-11-28"


def test_list_by_range_and_search():
    events.create_event(
        user_id="alice", title="Dentist", start=T0, duration_minutes=60, location="Main St"
    )
    events.create_event(
        user_id="alice", title="Lunch with Bob", start=T0 + timedelta(days=1), duration_minutes=60
    )
    events.create_event(user_id="bob", title="Dentist", start=T0, duration_minutes=60)
    day1 = events.list_events("alice", T0 - timedelta(hours=1), T0 + timedelta(hours=12))
    assert [e.title for e in day1] == ["Dentist"]
    assert [e.title for e in events.search_events("alice", "bob")] == ["Lunch with Bob"]
    assert [e.title for e in events.search_events("alice", "main st")] == ["Dentist"]


def test_other_users_events_cannot_be_read_or_changed():
    event = events.create_event(user_id="alice", title="Secret", start=T0, duration_minutes=30)
    with pytest.raises(NotFoundError):
        events.get_event("bob", event.id)
    with pytest.raises(NotFoundError):
        events.update_event("bob", event.id, title="mine now")
    assert events.get_event("alice", event.id).title == "Secret"


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"title": "", "start": T0, "duration_minutes": 10}, "title"),
        ({"title": "x", "start": datetime(2026, 1, 1), "duration_minutes": 10}, "time zone"),
        ({"title": "x", "start": T0, "end": T0}, "end after it starts"),
        ({"title": "x", "start": T0}, "end time or a duration"),
        ({"title": "x", "start": T0, "duration_minutes": 8 * 24 * 60}, "at most 7 days"),
    ],
)
def test_invalid_events_are_rejected(kwargs, message, snapshot):
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        events.create_event(user_id="alice", **kwargs)
    assert snapshot() == before


def test_find_free_slot_skips_busy_time():
    events.create_event(user_id="alice", title="a", start=T0, duration_minutes=60)
    events.create_event(
        user_id="alice", title="b", start=T0 + timedelta(minutes=90), duration_minutes=60
    )
    slot = events.find_free_slot("alice", T0, T0 + timedelta(hours=6), 45)
    assert slot == (T0 + timedelta(minutes=150), T0 + timedelta(minutes=195))
    assert events.find_free_slot("alice", T0, T0 + timedelta(hours=2), 45) is None
    gap = events.find_free_slot("alice", T0, T0 + timedelta(hours=6), 30)
    assert gap == (T0 + timedelta(minutes=60), T0 + timedelta(minutes=90))


def test_interval_helpers():
    h = timedelta(hours=1)
    assert merge_intervals([(T0 + h, T0 + 2 * h), (T0, T0 + h), (T0 + 3 * h, T0 + 4 * h)]) == [
        (T0, T0 + 2 * h),
        (T0 + 3 * h, T0 + 4 * h),
    ]
    assert first_free_slot([], T0, T0 + h, h) == (T0, T0 + h)
    assert first_free_slot([(T0, T0 + h)], T0, T0 + h, h) is None
