"""`agentcal chat`: one-shot turns (-m, --json) and the interactive REPL in a real terminal."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time

import pytest

from tests.conftest import subprocess_env
from tests.openai_loopback import MODEL, LoopbackOpenAI, Reply, call, text


def test_one_turn_prints_the_answer_and_records_it(cli):
    from agentcal.planning.events import calendar_events_service

    result = cli("chat", "-m", "Add dentist tomorrow at 3pm")
    assert result.exit_code == 0
    assert result.output.startswith("Created “Dentist”")
    (event,) = calendar_events_service.list_events("alice")
    assert event.title == "Dentist"


def test_json_prints_the_observability_record(cli):
    result = cli("chat", "-m", "I sleep at 23:00", "--json")
    assert result.exit_code == 0
    record = json.loads(result.output)
    assert record["agent_action"] == "insight" and record["agent_tool"] == "record_user_insight"
    assert record["llm_model"] == "agentcal-offline-1" and record["cost_source"] == "offline"
    assert record["tokens_estimated"] is True and record["status"] == "ok"
    assert record["user_message"] == "I sleep at 23:00"
    assert record["entities"][0]["args"]["key"] == "sleep_time"


def test_json_without_message_is_refused(cli):
    result = cli("chat", "--json")
    assert result.exit_code == 1


def test_budget_refusal_is_one_line_error(cli, monkeypatch, snapshot):
    from agentcal.observability.calls import agent_observability_service

    agent_observability_service.log_agent_call(
        user_id="alice", llm_model="gpt-4o", llm_cost_usd=1.5
    )
    monkeypatch.setenv("AGENTCAL_DAILY_BUDGET_USD", "1")
    before = snapshot()
    result = cli("chat", "-m", "hello")
    assert result.exit_code == 1
    assert "spent $1.5000 of $1.0000" in result.output
    assert snapshot() == before


def test_one_shot_against_a_real_client_in_a_subprocess(agentcal_home):
    with LoopbackOpenAI(
        [text("Hello from the server.", prompt_tokens=50, completion_tokens=5)]
    ) as srv:
        env = subprocess_env(OPENAI_BASE_URL=srv.base_url, OPENAI_API_KEY="sk-local")
        proc = subprocess.run(
            [sys.executable, "-m", "agentcal", "chat", "-m", "hi", "--json"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["llm_model"] == MODEL and record["llm_total_tokens"] == 55
    assert (
        record["agent_action"] == "answer" and record["agent_response"] == "Hello from the server."
    )
    assert "sk-local" not in proc.stdout + proc.stderr


def test_one_shot_fault_exits_1_with_one_line(agentcal_home):
    with LoopbackOpenAI([Reply(status=500)]) as srv:
        env = subprocess_env(OPENAI_BASE_URL=srv.base_url, AGENTCAL_LLM_MAX_RETRIES="0")
        proc = subprocess.run(
            [sys.executable, "-m", "agentcal", "chat", "-m", "hi"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip() == "Error: the model server failed (server error, HTTP 500)"


# --- the REPL in a real terminal ------------------------------------------------------------
class Tmux:
    def __init__(self, name: str, command: str, env: dict[str, str]) -> None:
        self.name = name
        exports = " ".join(
            f"{k}={_q(v)}"
            for k, v in env.items()
            if k.startswith(("AGENTCAL_", "OPENAI_", "PYTHONPATH"))
        )
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "50",
             f"env {exports} {command}; echo REPL-EXITED rc=$?; sleep 30"],
            check=True,
        )  # fmt: skip

    def send(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    def wait_for(self, needle: str, count: int = 1, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if screen.count(needle) >= count:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} x{count} not on screen:\n{self.screen()}")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def _chat_repl(srv: LoopbackOpenAI) -> Tmux:
    """`agentcal chat` in a tmux terminal against the loopback server, at its first prompt."""
    from uuid import uuid4

    env = subprocess_env(
        OPENAI_BASE_URL=srv.base_url, OPENAI_API_KEY="sk-local", AGENTCAL_LLM_MAX_RETRIES="0"
    )
    term = Tmux(f"agentcal-test-{uuid4().hex[:8]}", f"{sys.executable} -m agentcal chat", env)
    term.wait_for("you>")
    return term


def _q(value: str) -> str:
    import shlex

    return shlex.quote(value)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_repl_session_with_slash_command_and_ctrl_c(agentcal_home):
    from agentcal.observability.calls import agent_observability_service

    script = [
        call("create_event", {"title": "Gym", "start": "2030-01-02T06:00", "duration_minutes": 60}),
        text("Created Gym on 2 January at 06:00."),
        Reply(content="too slow", stall=3),  # cancelled with Ctrl-C
        text("Still here after the cancel."),
    ]
    with LoopbackOpenAI(script) as srv:
        term = _chat_repl(srv)
        try:
            term.send("Add gym on 2 January at 6", "Enter")
            screen = term.wait_for("session $", 1)
            assert "Created Gym on 2 January at 06:00." in screen
            assert f"model: {'gpt-4o-mini'}" in screen
            assert f"{MODEL} · 240 tokens · $" in screen  # the dim footer

            term.send("/costs", "Enter")
            screen = term.wait_for("session: 1 turns · 240 tokens")

            term.send("this one is slow", "Enter")
            deadline = time.monotonic() + 10
            while len(srv.requests) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            t0 = time.monotonic()
            term.send("C-c")
            screen = term.wait_for("Cancelled.")
            assert time.monotonic() - t0 < 2.5  # Ctrl-C does not wait for the model

            term.send("are you there?", "Enter")
            screen = term.wait_for("Still here after the cancel.")
            term.send("/quit", "Enter")
            term.wait_for("REPL-EXITED rc=0")
        finally:
            term.kill()

    from sqlmodel import col, select

    from agentcal.db import session_scope
    from agentcal.models import AgentObservability

    with session_scope() as s:
        rows = list(s.exec(select(AgentObservability).order_by(col(AgentObservability.id))))
    assert [(r.user_message, r.status) for r in rows] == [
        ("Add gym on 2 January at 6", "ok"),
        ("this one is slow", "error"),
        ("are you there?", "ok"),
    ]
    assert rows[1].error == "cancelled"
    assert agent_observability_service.get_steps(rows[0].id)[0].step_type == "llm"
    history = (agentcal_home / "chat_history").read_text()
    assert "/costs" in history and "are you there?" in history


def test_history_file_follows_agentcal_home_from_the_env_file(tmp_path, monkeypatch):
    from agentcal.cli.chat import _history_file
    from agentcal.settings import get_settings, reset_settings

    monkeypatch.delenv("AGENTCAL_HOME")
    (tmp_path / ".env").write_text(f'# data\nexport AGENTCAL_HOME="{tmp_path / "h"}"\nOTHER=1\n')
    reset_settings()
    assert _history_file() == tmp_path / "h" / "chat_history"
    assert _history_file().parent == get_settings().data_dir  # the same dir the settings use


def _lunch(days: int = 3) -> tuple[dict, str]:
    """create_event arguments for lunch at noon in `days` days, and its start as a stopped turn
    names it ("Thu 12:00")."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    day = datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=days)
    return (
        {"title": "Lunch", "start": day.strftime("%Y-%m-%dT12:00"), "duration_minutes": 60},
        day.strftime("%a 12:00"),
    )


def _wait_requests(
    srv: LoopbackOpenAI, count: int, timeout: float = 60, proc: subprocess.Popen | None = None
) -> None:
    """Until the server has had `count` requests (a loaded machine starts Python slowly)."""
    deadline = time.monotonic() + timeout
    while len(srv.requests) < count:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"agentcal exited {proc.returncode}: {proc.communicate()}")
        assert time.monotonic() < deadline, f"only {len(srv.requests)} requests"
        time.sleep(0.02)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_ctrl_c_before_and_after_the_tool_call_in_a_real_terminal(agentcal_home):
    """A slow model: Ctrl-C while it decides on a tool call runs nothing; Ctrl-C after the tool
    ran says what is done. Neither makes another model call; the next turn sees the truth."""
    from agentcal.planning.events import calendar_events_service

    args, when = _lunch()
    stall = 6.0
    script = [
        Reply(tool_calls=[("create_event", json.dumps(args))], stall=stall),  # turn 1
        call("create_event", args), Reply(content="Booked your lunch.", stall=stall),  # turn 2
        text("Your lunch is booked."),  # turn 3
    ]  # fmt: skip
    with LoopbackOpenAI(script) as srv:
        term = _chat_repl(srv)
        try:
            term.send("Add lunch at noon", "Enter")
            _wait_requests(srv, 1)
            t0 = time.monotonic()
            term.send("C-c")
            screen = term.wait_for("Cancelled.")
            assert time.monotonic() - t0 < 4 and "Already done" not in screen
            assert calendar_events_service.list_events("alice") == []

            term.send("Add lunch at noon", "Enter")
            _wait_requests(srv, 3)  # the create_event call, then the slow answer
            t0 = time.monotonic()
            term.send("C-c")
            (event,) = calendar_events_service.list_events("alice")
            screen = term.wait_for(f"Cancelled. Already done: created “Lunch” {when} (#{event.id})")
            assert time.monotonic() - t0 < 4

            term.send("Is my lunch booked?", "Enter")
            term.wait_for("Your lunch is booked.")
            term.send("/quit", "Enter")
            term.wait_for("REPL-EXITED rc=0")
            time.sleep(stall)  # the abandoned requests end on the server...
            assert len(srv.requests) == 4  # ...and no model call followed either cancel
        finally:
            term.kill()
        third = srv.requests[3]["messages"]
    roles = [m["role"] for m in third[1:]]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]  # turn 1 left no trace
    assert third[4]["content"].startswith("(This turn stopped before I finished: cancelled.")

    from agentcal.observability.call_log import call_log_service

    rows = call_log_service.list_calls(user_id="alice", limit=10)
    by_message = [(r.status, r.error) for r in reversed(rows)]
    assert by_message == [
        ("error", "cancelled"),
        ("error", f"cancelled. Already done: created “Lunch” {when} (#{event.id})"),
        ("ok", None),
    ]


def test_one_shot_ctrl_c_exits_130_and_says_what_is_done(agentcal_home):
    """Ctrl-C while the model's answer is held back: only the cancel can end the turn."""
    import signal
    import threading

    from agentcal.planning.events import calendar_events_service

    args, when = _lunch()
    release = threading.Event()
    with LoopbackOpenAI([call("create_event", args), Reply(content="late", hold=release)]) as srv:
        env = subprocess_env(OPENAI_BASE_URL=srv.base_url, AGENTCAL_LLM_MAX_RETRIES="0")
        # A test run started in the background by a non-interactive shell (`pytest &`, some CI
        # runners) ignores SIGINT, and a child inherits that: Python then never raises
        # KeyboardInterrupt, so the turn would run to its end (exit 0). Handled, not ignored,
        # while the child starts: exec gives it SIGINT's default, as a terminal would.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "agentcal", "chat", "-m", "Add lunch at noon"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            )  # fmt: skip
        finally:
            signal.signal(signal.SIGINT, previous)
        try:
            _wait_requests(srv, 2, proc=proc)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)  # exit itself is slow on a loaded machine
        finally:
            release.set()
            proc.kill()
    (event,) = calendar_events_service.list_events("alice")
    assert proc.returncode == 130 and out == ""
    assert err.strip() == f"Cancelled. Already done: created “Lunch” {when} (#{event.id})"
