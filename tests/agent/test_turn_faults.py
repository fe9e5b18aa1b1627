"""Turns that stop early tell the truth and leave a clean conversation (issue 13).

A fault (HTTP 500, 429, a timeout, malformed tool arguments) or a cancel before anything
changed leaves no trace in the conversation; after a tool changed something, the user's
message, the tool call, its result and a short note stay, and the error line says what is
already done. Each case is followed by a good turn whose request to the loopback server is
inspected.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.agent.test_agent_loopback import assert_well_formed, events, make_runner
from tests.openai_loopback import LoopbackOpenAI, Reply, call, error, text

TZ = ZoneInfo("Europe/Paris")
# The deadline test's AGENTCAL_TURN_TIMEOUT: a warm turn reaches its second model call in about
# 0.1 s here (0.5 s for a process's first turn), so 2 s leaves room for a loaded machine.
DEADLINE = 2.0
FAULTS = {
    "500": [error(500)],
    "429": [error(429)],
    "timeout": [Reply(content="late", stall=3.0)],
    "malformed-args": [call("create_event", '{"title": "Lunch", "start": ')],
}


def lunch_args() -> dict:
    day = datetime.now(TZ) + timedelta(days=2)
    return {"title": "Lunch", "start": day.strftime("%Y-%m-%dT12:00"), "duration_minutes": 60}


def lunch_text(event) -> str:  # how a stopped turn names it: created “Lunch” Thu 12:00 (#14)
    start = event.start_at.astimezone(TZ)
    return f"created “Lunch” {start:%a %H:%M} (#{event.id})"


def conversation(request: dict) -> list[tuple[str, str]]:
    """(role, content) of a request's messages after the system prompt."""
    out = []
    for m in request["messages"][1:]:
        if m.get("tool_calls"):
            out.append(
                (m["role"], "calls " + ",".join(c["function"]["name"] for c in m["tool_calls"]))
            )
        else:
            out.append((m["role"], m.get("content") or ""))
    return out


@pytest.fixture
def server():
    with LoopbackOpenAI() as srv:
        yield srv


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_fault_before_any_change_leaves_no_trace(monkeypatch, server, fault):
    runner = make_runner(monkeypatch, server.base_url, AGENTCAL_LLM_TIMEOUT="1")
    server.add(text("Hello."))
    assert runner.run_turn("hi").ok
    server.add(*FAULTS[fault])
    bad = runner.run_turn("Add lunch in two days at noon")
    assert bad.status == "error" and bad.done == [] and "Already done" not in bad.error
    assert bad.record.status == "error" and bad.record.error == bad.error

    server.add(text("Sure."))
    good = runner.run_turn("Add lunch in two days at noon")
    assert good.ok
    # The failed turn is gone: the model sees the user's request once, not twice.
    assert conversation(server.requests[-1]) == [
        ("user", "hi"), ("assistant", "Hello."), ("user", "Add lunch in two days at noon")]  # fmt: skip
    assert events() == []


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_fault_after_a_tool_ran_keeps_the_change_and_says_so(monkeypatch, server, fault):
    runner = make_runner(monkeypatch, server.base_url, AGENTCAL_LLM_TIMEOUT="1")
    server.add(call("create_event", lunch_args()), *FAULTS[fault])
    bad = runner.run_turn("Add lunch in two days at noon")
    (lunch,) = events()
    assert bad.status == "error" and bad.done == [lunch_text(lunch)]
    assert bad.error.endswith(f". Already done: {lunch_text(lunch)}") and "\n" not in bad.error
    row = bad.record
    assert row.status == "error" and row.error == bad.error
    assert [(r["tool"], r["status"]) for r in row.tool_result] == [("create_event", "ok")]
    assert row.agent_tool == "create_event" and row.agent_action == "create"

    server.add(text("It is on your calendar already."))
    assert runner.run_turn("Did it work?").ok
    sent = server.requests[-1]["messages"]
    assert_well_formed(sent)
    roles = conversation(server.requests[-1])
    assert roles[:3] == [
        ("user", "Add lunch in two days at noon"),
        ("assistant", "calls create_event"),
        ("tool", roles[2][1]),
    ]
    assert f'"id": {lunch.id}' in roles[2][1]
    note = roles[3]
    assert note[0] == "assistant" and note[1].startswith("(This turn stopped before I finished: ")
    assert lunch_text(lunch) in note[1]
    assert roles[4:] == [("user", "Did it work?")]
    assert len(events()) == 1  # nothing ran twice


def _when_requests(server: LoopbackOpenAI, count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while len(server.requests) < count:
        assert time.monotonic() < deadline, f"{len(server.requests)} requests, wanted {count}"
        time.sleep(0.01)


def _cancel_after(server: LoopbackOpenAI, requests: int, token) -> threading.Thread:
    def cancel() -> None:
        _when_requests(server, requests)
        token.cancel("cancelled")

    thread = threading.Thread(target=cancel, daemon=True)
    thread.start()
    return thread


def _after_reply(reply: Reply, settle: float = 0.5) -> None:
    """Until the server has sent `reply`, then `settle` s more: time for any call it would
    wrongly set off."""
    deadline = time.monotonic() + 30
    while not reply.sent:
        assert time.monotonic() < deadline, "the held reply was never sent"
        time.sleep(0.01)
    time.sleep(settle)


def test_cancel_while_the_model_thinks_before_the_tool_call(monkeypatch, server):
    from agentcal.agent.cancel import CancelToken

    runner = make_runner(monkeypatch, server.base_url)
    # The model would create the event, but its answer is held back: Ctrl-C comes first.
    release = threading.Event()
    slow = Reply(tool_calls=[("create_event", json.dumps(lunch_args()))], hold=release)
    server.add(slow, text("never asked for"))
    token = CancelToken()
    _cancel_after(server, 1, token)
    try:
        turn = runner.run_turn("Add lunch in two days at noon", cancel=token)
        assert not slow.sent  # did not wait for the model
    finally:
        release.set()
    assert turn.cancelled and turn.status == "error" and turn.error == "cancelled"
    assert turn.done == [] and turn.record.error == "cancelled"
    _after_reply(slow)  # the abandoned call ends...
    assert events() == [] and len(server.requests) == 1  # ...and nothing followed it

    server.add(text("Hi."))
    assert runner.run_turn("hello").ok
    assert conversation(server.requests[-1]) == [("user", "hello")]


def test_cancel_after_the_tool_call_reports_what_is_done(monkeypatch, server):
    from agentcal.agent.cancel import CancelToken
    from agentcal.observability.calls import agent_observability_service

    runner = make_runner(monkeypatch, server.base_url)
    release = threading.Event()
    slow = Reply(content="Done!", hold=release)
    server.add(call("create_event", lunch_args()), slow, text("x"))
    token = CancelToken()
    _cancel_after(server, 2, token)
    try:
        turn = runner.run_turn("Add lunch in two days at noon", cancel=token)
        assert not slow.sent  # did not wait for the model
    finally:
        release.set()
    (lunch,) = events()
    assert turn.cancelled and turn.done == [lunch_text(lunch)]
    assert turn.error == f"cancelled. Already done: {lunch_text(lunch)}"
    row = agent_observability_service.get_call(turn.record.id)
    assert row.status == "error" and row.error == turn.error
    assert row.tool_result[0]["result"]["created"]["id"] == lunch.id
    steps = agent_observability_service.get_steps(row.id)
    assert [(s.step_type, s.status) for s in steps] == [
        ("llm", "ok"),
        ("tool", "ok"),
        ("llm", "error"),
    ]
    assert steps[2].error == "abandoned: cancelled"
    _after_reply(slow)
    assert len(server.requests) == 2  # no model call after the cancel

    server.add(text("Yes, lunch is booked."))
    assert runner.run_turn("is lunch booked?").ok
    roles = conversation(server.requests[-1])
    assert [r for r, _ in roles] == ["user", "assistant", "tool", "assistant", "user"]
    assert roles[3][1] == f"(This turn stopped before I finished: {turn.error}.)"


def test_the_turn_deadline_stops_a_slow_turn(monkeypatch, server):
    """The slow answer is held until the turn is back, so only the deadline can end the turn:
    no wall-clock bound that a loaded machine's slow setup and teardown could break."""
    runner = make_runner(monkeypatch, server.base_url, AGENTCAL_TURN_TIMEOUT=str(DEADLINE))
    server.add(text("Hello."))  # the first call of a process is the slow one: not timed here
    assert runner.run_turn("hi").ok
    release = threading.Event()
    slow = Reply(content="late", hold=release)
    server.add(call("create_event", lunch_args()), slow)
    try:
        turn = runner.run_turn("Add lunch in two days at noon")
        assert not slow.sent  # the turn did not wait for the slow answer
    finally:
        release.set()
    (lunch,) = events()
    assert not turn.cancelled and turn.status == "error"
    assert turn.error == (
        f"the turn took longer than AGENTCAL_TURN_TIMEOUT ({DEADLINE:g} s); stopped. "
        f"Already done: {lunch_text(lunch)}"
    )


def test_a_turn_cancelled_before_it_starts_makes_no_call(monkeypatch, server):
    from agentcal.agent.cancel import CancelToken

    runner = make_runner(monkeypatch, server.base_url)
    token = CancelToken()
    token.cancel("cancelled")
    server.add(call("create_event", lunch_args()))
    turn = runner.run_turn("lunch", cancel=token)
    assert turn.cancelled and server.requests == [] and events() == []
    assert turn.record.status == "error" and turn.record.error == "cancelled"


def test_a_tool_result_over_the_limit_ends_the_turn(monkeypatch, server):
    from agentcal.planning.events import calendar_events_service

    monkeypatch.setattr("agentcal.agent.graph.MAX_TOOL_RESULT_BYTES", 300)
    start = datetime.now(TZ) + timedelta(days=1)
    for n in range(4):
        calendar_events_service.create_event(
            user_id="alice", title=f"Meeting {n}", start=start + timedelta(hours=n),
            duration_minutes=30,
        )  # fmt: skip
    runner = make_runner(monkeypatch, server.base_url)
    server.add(call("list_events", {}), text("never asked for"))
    turn = runner.run_turn("what's on?")
    assert turn.status == "error" and "\n" not in turn.error
    assert turn.error.startswith("list_events returned ") and "narrow the request" in turn.error
    assert turn.record.status == "error" and len(server.requests) == 1

    server.add(text("Hi."))
    assert runner.run_turn("hello").ok
    assert conversation(server.requests[-1]) == [("user", "hello")]
