"""Faults at the boundaries: a calendar server that answers 30% of calls with 429/5xx (then
all of them, for a while), and an LLM server that times out, rate-limits, fails or sends broken
tool arguments.

The calendar is a real Radicale server behind tests/faultproxy.py (seeded, so the run is
repeatable). The LLM is tests/openai_loopback.py.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from agentcal.db import session_scope
from agentcal.models import Alert, CalendarEvent, Job
from agentcal.settings import get_settings, reset_settings
from tests.faultproxy import FaultProxy
from tests.openai_loopback import LoopbackOpenAI, Reply, call, error, text
from tests.radicale_server import count_by_uid, radicale_server

EVENTS = 40
MAX_ATTEMPTS = 3
OUTAGE_EVENTS = 5
T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):  # type: ignore[no-untyped-def]
    with radicale_server(tmp_path_factory.mktemp("radicale")) as url:
        yield url


@pytest.fixture
def faulty_calendar(radicale, monkeypatch):  # type: ignore[no-untyped-def]
    """CalDAV settings pointing at Radicale through a proxy failing 30% of requests."""
    proxy = FaultProxy(radicale, fault_rate=0.3, seed=7).start()
    user = f"u{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("AGENTCAL_CALENDAR", "caldav")
    monkeypatch.setenv("AGENTCAL_CALDAV_URL", proxy.url + "/")
    monkeypatch.setenv("AGENTCAL_CALDAV_USERNAME", user)
    monkeypatch.setenv("AGENTCAL_CALDAV_PASSWORD", "anything")
    monkeypatch.setenv("AGENTCAL_JOB_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    # Retries are due at once: the test is about outcomes, not about waiting.
    monkeypatch.setattr("agentcal.queue.leases.BACKOFF_BASE_SECONDS", 0.0)
    monkeypatch.setattr("agentcal.calendars._caldav_http.RETRY_BASE_SECONDS", 0.0)
    reset_settings()
    yield proxy, user
    proxy.stop()


def _drain(worker) -> None:  # type: ignore[no-untyped-def]
    """Run the job processor until nothing is queued or running (bounded). Jobs waiting for
    the calendar are made due at once, and the process forgets the outage, as if their wait
    had passed."""
    from sqlalchemy import update

    from agentcal.calendars import outages

    for _ in range(50):
        worker.run_once()
        with session_scope() as s:
            active = s.exec(select(Job).where(Job.state.in_(("queued", "running")))).all()
            if not active:
                return
            s.execute(update(Job).where(Job.state == "queued").values(run_at=T0))
        outages.clear()
    raise AssertionError("the queue did not drain")


def _jobs() -> list[Job]:
    with session_scope() as s:
        return list(s.exec(select(Job).where(Job.kind == "calendar_sync")))


def _create_events(first: int, count: int) -> None:
    from agentcal.planning.events import calendar_events_service

    with session_scope() as s:
        for n in range(first, first + count):
            calendar_events_service.create_event(
                user_id="alice",
                title=f"Focus {n}",
                start=T0 + timedelta(hours=2 * n),
                duration_minutes=45,
                timezone="Europe/Paris",
                session=s,
            )


def _open_alerts() -> list[Alert]:
    with session_scope() as s:
        return list(s.exec(select(Alert).where(Alert.acknowledged_at.is_(None))))  # type: ignore[union-attr]


def test_calendar_faults_everything_synced_one_alert_per_outage_no_job_dies(
    radicale, faulty_calendar
):
    from agentcal.workers.runner import JobWorker

    proxy, user = faulty_calendar
    worker = JobWorker("async_job_processor")  # keeps its calendar connection between passes

    # 1. 30% of calls fail with 429/5xx: retried with backoff; everything gets through.
    _create_events(0, EVENTS)
    _drain(worker)
    assert sum(proxy.faults.values()) > 0 and set(proxy.faults) <= {429, 500, 502, 503}
    assert Counter(j.state for j in _jobs()) == Counter(done=EVENTS)

    # 2. The calendar fails every call for a while: an outage. The jobs wait (no attempt used
    # up, none dead) and one alert says so, however many events wait.
    proxy.fault_rate = 1.0
    _create_events(EVENTS, OUTAGE_EVENTS)
    for _ in range(3):
        worker.run_once()
    waiting = [j for j in _jobs() if j.state != "done"]
    assert len(waiting) == OUTAGE_EVENTS and {j.state for j in waiting} == {"queued"}
    assert all(j.attempts == 0 and "still failing" in j.last_error for j in waiting)
    assert [a.subject for a in _open_alerts()] == ["calendar:caldav:alice"]

    # 3. Back to 30%: the waiting syncs resume by themselves (no operator), the alert clears.
    proxy.fault_rate = 0.3
    _drain(worker)
    total = EVENTS + OUTAGE_EVENTS
    assert Counter(j.state for j in _jobs()) == Counter(done=total)
    assert _open_alerts() == []
    with session_scope() as s:
        events = list(s.exec(select(CalendarEvent)))
    assert len(events) == total
    assert all(e.synced_revision == 1 and e.backend == "caldav" for e in events)
    on_server = count_by_uid(radicale, user)  # straight from Radicale, not through the proxy
    assert on_server == Counter({e.uid: 1 for e in events})


def test_caldav_connect_failure_is_an_outage_on_one_line(radicale, monkeypatch):
    """429/5xx on every try while discovering the calendar: an outage, retried later."""
    from agentcal.calendars.base import EventData
    from agentcal.calendars.caldav import CalDAVCalendar

    proxy = FaultProxy(radicale, fault_rate=1.0, seed=1).start()
    try:
        monkeypatch.setenv("AGENTCAL_CALDAV_URL", proxy.url + "/")
        monkeypatch.setenv("AGENTCAL_CALDAV_USERNAME", "nobody")
        reset_settings()
        event = EventData(
            id=1, uid="x@agentcal", user_id="alice", title="x", start=T0,
            end=T0 + timedelta(hours=1), timezone="UTC", revision=1,
        )  # fmt: skip
        result = CalDAVCalendar(get_settings(), sleep=lambda s: None).upsert(event)
    finally:
        proxy.stop()
    assert not result.ok and result.retryable and result.outage
    assert (
        result.error and "\n" not in result.error and "still failing after 4 tries" in result.error
    )


# -- the LLM server ------------------------------------------------------------------------

SECRET = "sk-test-faults-0123456789abcdef"


def test_chat_session_with_alternating_faults_goes_on(monkeypatch):
    """One session: every fault kind, each followed by a good turn; each fault turn is recorded
    as an error, each good turn as ok, and the conversation carries on in the same thread."""
    from agentcal.agent.model import make_chat_model
    from agentcal.agent.runner import ChatRunner
    from agentcal.models import AgentObservability

    faults = [
        ("429", [error(429)]),
        ("500", [error(500)]),
        ("502", [error(502)]),
        ("timeout", [Reply(content="late", stall=3.0)]),
        ("broken-args", [call("create_event", '{"title": "Gym", "start": ')]),
        ("unknown-tool", [call("launch_rockets", {"n": 1})]),
    ]
    with LoopbackOpenAI() as server:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("AGENTCAL_LLM_MAX_RETRIES", "0")
        monkeypatch.setenv("AGENTCAL_LLM_TIMEOUT", "1.5")  # good turns fit even on a busy machine
        reset_settings()
        settings = get_settings()
        runner = ChatRunner(make_chat_model(settings), user_id="alice", settings=settings)
        expected = []
        for n, (name, replies) in enumerate(faults):
            server.add(*replies)
            bad = runner.run_turn(f"fault turn {name}")
            assert bad.status == "error" and bad.error and "\n" not in bad.error, name
            assert SECRET not in bad.error
            server.add(text(f"answer {n}"))
            good = runner.run_turn(f"good turn {n}")
            assert good.ok and good.answer == f"answer {n}", name
            # the model sees the whole conversation, faults included, as one valid thread
            assert server.requests[-1]["messages"][-1] == {
                "role": "user",
                "content": f"good turn {n}",
            }
            expected += ["error", "ok"]
        # a last good turn that uses a tool: the session still works end to end
        start = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT09:00")
        server.add(call("create_event", {"title": "Dentist", "start": start, "duration_minutes": 30}),
                   text("Booked."))  # fmt: skip
        last = runner.run_turn("book the dentist")
        assert last.ok and last.answer == "Booked."
        expected.append("ok")

    with session_scope() as s:
        rows = list(s.exec(select(AgentObservability).order_by(AgentObservability.id)))
    assert [r.status for r in rows] == expected
    assert all(r.error for r in rows if r.status == "error")
    assert [r.user_message for r in rows if r.status == "error"] == [
        f"fault turn {name}" for name, _ in faults
    ]
    with session_scope() as s:
        titles = [e.title for e in s.exec(select(CalendarEvent))]
    assert titles == ["Dentist"]  # the broken create_event did nothing
