"""A habit the agent records is on the calendar when the answer says so: applied at once when
no job worker runs (same handler, same queue row), said to be queued when one does."""

from __future__ import annotations

import json
import os

import pytest

from tests.agent.test_agent_loopback import make_runner
from tests.openai_loopback import LoopbackOpenAI, call, text

GYM = {"insight_type": "habit", "category": "health", "key": "gym_time", "confidence": 0.9,
       "value": {"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5]},
       "preference_type": "gym"}  # fmt: skip


@pytest.fixture
def server():
    with LoopbackOpenAI() as srv:
        yield srv


def _gym_events():
    from agentcal.planning.events import calendar_events_service

    return [e for e in calendar_events_service.list_events("alice") if e.preference_id is not None]


def test_without_a_worker_the_chat_applies_the_insight_itself(monkeypatch, server, cli):
    from agentcal.queue.jobs import job_queue

    runner = make_runner(monkeypatch, server.base_url)
    server.add(call("record_user_insight", GYM), text("Noted: gym on weekdays at 6."))
    turn = runner.run_turn("I go to the gym every weekday at 6am")
    assert turn.ok and turn.answer == "Noted: gym on weekdays at 6."
    job_id = turn.record.tool_result[0]["result"]["queued"]["job_id"]
    job = job_queue.get(job_id)
    assert job.state == "done" and job.result["outcome"] == "created"  # the same row, done
    assert job.locked_by.startswith("chat@")
    emit = [j for j in job_queue.list_jobs(kind="emit_preference_events")]
    assert [j.state for j in emit] == ["done"]
    events = _gym_events()
    assert events and all(e.title == "Morning Gym" for e in events)
    (note,) = turn.notes
    assert note.startswith(
        f"On your calendar now: “Morning Gym” weekdays at 06:00 for 60 min, {len(events)} event(s)"
    )
    assert turn.record.agent_response == f"{turn.answer}\n{note}"
    listed = json.loads(cli("insights", "list", "--json").stdout)  # /insights shows it at once
    assert [(i["category"], i["key"]) for i in listed] == [("health", "gym_time")]


def test_with_a_worker_running_the_answer_says_queued(monkeypatch, server):
    from agentcal.health.monitoring import monitoring_service
    from agentcal.queue.jobs import job_queue

    monitoring_service.heartbeat("async_job_processor@here", "async_job_processor")
    runner = make_runner(monkeypatch, server.base_url)
    server.add(call("record_user_insight", GYM), text("Noted."))
    turn = runner.run_turn("I go to the gym every weekday at 6am")
    job_id = turn.record.tool_result[0]["result"]["queued"]["job_id"]
    assert job_queue.get(job_id).state == "queued" and _gym_events() == []
    assert turn.notes == [
        f"Queued for the agentcal worker (job #{job_id}): health/gym_time; “Morning Gym” weekdays "
        "at 06:00 for 60 min will be on your calendar once it runs."
    ]


def test_a_dead_workers_heartbeat_does_not_count(monkeypatch, server):
    from agentcal.health.monitoring import monitoring_service

    monitoring_service.heartbeat("async_job_processor@gone", "async_job_processor")
    monkeypatch.setattr(os, "getpid", lambda: 2**22 + 12345)  # a pid no process has
    monitoring_service.heartbeat("async_job_processor@dead", "async_job_processor")
    monkeypatch.undo()
    alive = [w.worker_id for w in monitoring_service.job_workers_alive()]
    assert alive == ["async_job_processor@gone"]  # this test process: alive


def test_a_fact_that_is_no_block_says_so(monkeypatch, server):
    standup = {**GYM, "key": "standup", "category": "work", "preference_type": "none",
               "value": {"time": "09:30", "duration_minutes": 15}}  # fmt: skip
    runner = make_runner(monkeypatch, server.base_url)
    server.add(call("record_user_insight", standup), text("Noted."))
    turn = runner.run_turn("standup is at 9:30")
    assert turn.notes == [
        "Saved work/standup; nothing goes on your calendar (its preference_type is none: a fact, "
        "not a calendar block)."
    ]
    assert _gym_events() == []


def test_offline_chat_m_shows_what_reached_the_calendar(cli):
    result = cli("chat", "-m", "I go to the gym every weekday at 6am")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Noted: ") and "health/gym_time" in lines[0]
    assert lines[-1].startswith("On your calendar now: “Morning Gym” weekdays at 06:00 for 60 min")
    assert _gym_events()
    # Only the line read back from the store says the events are there.
    assert sum("on your calendar" in line.lower() for line in lines) == 1


def test_offline_chat_m_with_a_worker_running_claims_nothing_on_the_calendar(cli):
    from agentcal.health.monitoring import monitoring_service

    monitoring_service.heartbeat("async_job_processor@here", "async_job_processor")
    result = cli("chat", "-m", "I go to the gym every weekday at 6am")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "It becomes a calendar block: “Morning Gym”" in lines[0]
    assert lines[-1].startswith("Queued for the agentcal worker")
    assert not any("on your calendar:" in line.lower() for line in lines)
    assert _gym_events() == []


def test_tool_result_notes_reach_the_answer(monkeypatch, server):
    """Issue 10's calendar facts ride on tool results as "note"/"notes": they are passed on."""
    from agentcal.agent import operations

    real = operations.list_events

    def with_note(ctx, start=None, end=None):  # type: ignore[no-untyped-def]
        result = real(ctx, start, end)
        return {**result, "notes": ["“Dentist” is no longer in your Google calendar."]}

    monkeypatch.setattr(operations, "list_events", with_note)
    runner = make_runner(monkeypatch, server.base_url)
    server.add(call("list_events", {}), text("Nothing this week."))
    turn = runner.run_turn("what's on?")
    assert turn.notes == ["“Dentist” is no longer in your Google calendar."]
    server.add(call("list_events", {}), text("“Dentist” is no longer in your Google calendar."))
    assert runner.run_turn("again?").notes == []  # the answer said it already
