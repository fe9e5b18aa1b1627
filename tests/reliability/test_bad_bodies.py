"""Bad bodies are refused at the door, not queued and retried: `insights update` validates the
whole body (the habit's days, times, durations, text) before it queues anything, the agent's
insight tool uses the same validation, and a job whose payload is invalid is dead at once."""

from __future__ import annotations

import json

import pytest

from agentcal.health.monitoring import monitoring_service
from agentcal.queue.jobs import job_queue
from agentcal.workers.runner import JobWorker

GOOD = {
    "insight_type": "habit",
    "category": "health",
    "key": "gym_time",
    "value": {"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5]},
    "confidence": 0.9,
}


def _with_value(**changes: object) -> dict[str, object]:
    return {**GOOD, "value": {**GOOD["value"], **changes}}  # type: ignore[dict-item]


def _deep(levels: int) -> str:
    """A body whose value is nested `levels` deep, as JSON text (json.dumps cannot write it)."""
    text = json.dumps({**GOOD, "value": "HOLE"})
    return text.replace('"HOLE"', "[" * levels + "1" + "]" * levels)


BAD_BODIES: dict[str, tuple[object, str]] = {
    "days as a superscript two": (_with_value(days="²"), "unknown day '²'"),
    "an Arabic-Indic digit in the time": (_with_value(time="06:0٥"), "HH:MM"),
    "a time in words": (_with_value(time="6am"), "HH:MM"),
    "a lone surrogate key": (_with_value(**{"\udcff": 1}), "not valid text"),
    "a lone surrogate in the title": (_with_value(title="gym\udcff"), "not valid text"),
    "a 400-digit duration": (_with_value(duration_minutes=10**400), "1440"),
    "a duration of 0": (_with_value(duration=0), "between 1 and 1440"),
    "a fractional duration": (_with_value(duration_minutes=30.5), "whole number"),
    "days out of range": (_with_value(days=[0, 8]), "1 (Mon) to 7 (Sun)"),
    "an unknown preference type": (_with_value(preference_type="nap"), "preference_type"),
    "flexible as a string": (_with_value(flexible="yes"), "true or false"),
    "a title of 300 characters": (_with_value(title="x" * 300), "longer than 200"),
    "a value nested 1,000 deep": (_deep(1000), "nested"),
    "a value nested 25 deep": (_deep(25), "nested deeper than 20 levels"),
    "a NaN confidence": ({**GOOD, "confidence": float("nan")}, "confidence"),
    "a key with a control character": ({**GOOD, "key": "gym\x1btime"}, "control characters"),
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_insights_update_refuses_a_bad_body_before_queueing(cli, snapshot, name):
    body, words = BAD_BODIES[name]
    text = body if isinstance(body, str) else json.dumps(body, allow_nan=True)
    before = snapshot()

    result = cli("insights", "update", "--json", text)

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert words in result.stderr, result.stderr
    assert snapshot() == before  # nothing queued


def test_a_good_body_is_queued_and_applied(cli):
    result = cli("insights", "update", "--json", json.dumps({**GOOD, "value": {
        "time": "06:00", "duration": 60, "days": "mon-fri", "title": "Morning Gym",
        "priority": 3, "flexible": True, "preference_type": "gym", "note": {"any": ["json"]},
    }}))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert JobWorker().run_once() >= 1
    [job] = [j for j in job_queue.list_jobs() if j.kind == "update_insight"]
    assert job.state == "done"


@pytest.mark.parametrize("name", ["days as a superscript two", "a lone surrogate key"])
def test_the_agent_tool_refuses_the_same_bodies(name):
    from types import SimpleNamespace

    from agentcal.agent.operations import record_user_insight
    from agentcal.errors import ValidationError

    body, words = BAD_BODIES[name]
    ctx = SimpleNamespace(user_id="alice", engine=None, agent_run_id=None, source_request_id=None)
    with pytest.raises(ValidationError, match=words):
        record_user_insight(ctx, **body)  # type: ignore[arg-type]
    assert job_queue.list_jobs() == []


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("update_insight", {**_with_value(days="²"), "user_id": "alice"}),
        ("update_insight", {**GOOD, "user_id": "alice", "extra": 1}),
        ("emit_preference_events", {"user_id": "alice", "days_ahead": "seven"}),
        ("calendar_sync", {"event_id": "1", "revision": 1}),
    ],
)
def test_a_job_with_an_invalid_payload_is_dead_at_its_first_failure(kind, payload):
    job = job_queue.enqueue(kind, payload)  # as an older agentcal, or a hand edit, left it

    JobWorker().run_once()

    dead = job_queue.get(job.id)
    assert (dead.state, dead.attempts) == ("dead", 1), dead.last_error
    assert [a.job_id for a in monitoring_service.list_alerts()] == [job.id]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("prefs", "add", "gym", "--at", "06:0٥"), "HH:MM"),
        (("prefs", "add", "gym", "--at", "06:00", "--days", "²"), "unknown day"),
        (("prefs", "add", "gym", "--at", "06:00", "--days", "1-٣"), "unknown day"),
    ],
)
def test_preferences_refuse_unicode_digits(cli, snapshot, args, words):
    before = snapshot()
    result = cli(*args)
    assert result.exit_code == 1 and words in result.stderr
    assert snapshot() == before


def test_an_absurd_duration_in_chat_is_refused_without_an_overflow(cli, snapshot):
    result = cli("chat", "-m", "add gym tomorrow at 6am for 99999999999 minutes")
    assert result.exit_code == 1
    assert "at most 7 days" in result.stderr and "Overflow" not in result.output
    assert cli("events", "list", "--json").stdout.strip() == "[]"
