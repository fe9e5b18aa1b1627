"""Deleting or moving several events, or anything in the past, asks first; chat -m refuses such
a turn unless --yes."""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.agent.test_agent_loopback import make_runner
from tests.openai_loopback import LoopbackOpenAI, Reply, call, text

TZ = ZoneInfo("Europe/Paris")


def _event(title: str, days: float) -> int:
    from agentcal.planning.events import calendar_events_service

    start = (datetime.now(TZ) + timedelta(days=days)).replace(second=0, microsecond=0)
    event = calendar_events_service.create_event(
        user_id="alice", title=title, start=start, duration_minutes=30
    )
    assert event.id is not None
    return event.id


def _active() -> list[str]:
    from agentcal.planning.events import calendar_events_service

    return sorted(e.title for e in calendar_events_service.list_events("alice"))


def _deletes(*ids: int) -> Reply:
    return Reply(tool_calls=[("delete_event", json.dumps({"event_id": i})) for i in ids])


@pytest.fixture
def server():
    with LoopbackOpenAI() as srv:
        yield srv


class Asked:
    def __init__(self, answer: bool) -> None:
        self.answer, self.questions = answer, []

    def __call__(self, question: str) -> bool:
        self.questions.append(question)
        return self.answer


def test_deleting_several_without_anyone_to_ask_is_refused_before_anything(monkeypatch, server):
    a, b = _event("Standup", 1), _event("Review", 2)
    runner = make_runner(monkeypatch, server.base_url)
    server.add(_deletes(a, b), text("never asked for"))
    turn = runner.run_turn("cancel my standup and my review")
    assert turn.status == "error" and turn.done == [] and "\n" not in turn.error
    assert (
        turn.error.startswith("this turn would delete “Standup” ")
        and f"(#{a}); delete “Review”" in turn.error
    )
    assert turn.error.endswith(
        "(several events); nothing of that was done: run it again with --yes to allow it"
    )
    assert _active() == ["Review", "Standup"] and len(server.requests) == 1

    server.add(text("ok"))
    assert runner.run_turn("hello").ok
    assert [m["content"] for m in server.requests[-1]["messages"][1:]] == ["hello"]


@pytest.mark.parametrize("answer", [True, False], ids=["yes", "no"])
def test_several_in_one_reply_are_asked_about_once(monkeypatch, server, answer):
    a, b = _event("Standup", 1), _event("Review", 2)
    runner = make_runner(monkeypatch, server.base_url)
    server.add(_deletes(a, b), text("Done." if answer else "Left them."))
    asked = Asked(answer)
    turn = runner.run_turn("cancel both", confirm=asked)
    assert turn.ok and len(asked.questions) == 1
    assert asked.questions[0].startswith("Delete “Standup” ")
    assert asked.questions[0].endswith(f"(#{b}) (several events). Go ahead?")
    if answer:
        assert _active() == [] and len(turn.done) == 2
    else:
        assert _active() == ["Review", "Standup"] and turn.done == []
        results = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"]
        assert all(r.startswith("Not done: the user declined to delete “") for r in results)


def test_one_future_delete_just_happens(monkeypatch, server):
    a = _event("Standup", 1)
    runner = make_runner(monkeypatch, server.base_url)
    server.add(_deletes(a), text("Cancelled."))
    asked = Asked(False)
    assert runner.run_turn("cancel standup", confirm=asked).ok
    assert asked.questions == [] and _active() == []


def test_the_past_asks_even_for_one(monkeypatch, server):
    past = _event("Dentist", -2)
    runner = make_runner(monkeypatch, server.base_url)
    asked = Asked(False)
    server.add(call("update_event", {"event_id": past, "title": "Dentist (done)"}), text("ok"))
    assert runner.run_turn("rename it", confirm=asked).ok and asked.questions == []  # a rename
    later = (datetime.now(TZ) + timedelta(days=3)).strftime("%Y-%m-%dT10:00")
    server.add(call("update_event", {"event_id": past, "start": later}), text("Left it."))
    assert runner.run_turn("move it to Saturday", confirm=asked).ok
    assert asked.questions[0].startswith("Move “Dentist (done)” ")
    assert asked.questions[0].endswith(f"(#{past}) (in the past). Go ahead?")
    future = _event("Lunch", 1)
    yesterday = (datetime.now(TZ) - timedelta(days=1)).strftime("%Y-%m-%dT12:00")
    server.add(call("update_event", {"event_id": future, "start": yesterday}), text("Left it."))
    assert runner.run_turn("move lunch to yesterday", confirm=asked).ok
    assert "(into the past)" in asked.questions[1]  # moving into the past counts too


def test_a_second_delete_later_in_the_turn_asks(monkeypatch, server):
    a, b = _event("Standup", 1), _event("Review", 2)
    runner = make_runner(monkeypatch, server.base_url)
    server.add(_deletes(a), _deletes(b), text("Cancelled the standup only."))
    asked = Asked(False)
    turn = runner.run_turn("clear tomorrow", confirm=asked)
    assert turn.ok and _active() == ["Review"]
    (question,) = asked.questions
    assert question.endswith("(several events; 1 already changed this turn). Go ahead?")


def test_chat_m_refuses_unless_yes(cli, server, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    a, b = _event("Standup", 1), _event("Review", 2)
    server.add(_deletes(a, b))
    result = cli("chat", "-m", "cancel both")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: this turn would delete “Standup”")
    assert result.stderr.endswith("run it again with --yes to allow it\n")
    assert _active() == ["Review", "Standup"]

    server.add(_deletes(a, b), text("Both cancelled."))
    result = cli("chat", "-m", "cancel both", "--yes")
    assert result.exit_code == 0 and result.stdout == "Both cancelled.\n"
    assert _active() == []


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_repl_asks_first(agentcal_home):
    from tests.agent.test_chat_cli import _chat_repl

    a, b = _event("Standup", 1), _event("Review", 2)
    script = [_deletes(a, b), text("I left them."), _deletes(a, b), text("Both cancelled.")]
    with LoopbackOpenAI(script) as srv:
        term = _chat_repl(srv)
        try:
            term.send("cancel both", "Enter")
            term.wait_for("Go ahead? [y/N]")
            term.send("n", "Enter")
            term.wait_for("I left them.")
            assert _active() == ["Review", "Standup"]
            term.send("cancel both, really", "Enter")
            term.wait_for("Go ahead? [y/N]", count=2)
            term.send("y", "Enter")
            term.wait_for("Both cancelled.")
            deadline = time.monotonic() + 10
            while _active() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _active() == []
            term.send("/quit", "Enter")
            term.wait_for("REPL-EXITED rc=0")
        finally:
            term.kill()
