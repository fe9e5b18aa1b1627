"""Named chat sessions seen from the shell: `sessions list`, `logs list --session`, and
`costs --by session` by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from agentcal.observability.calls import agent_observability_service
from agentcal.users.chat_sessions import chat_sessions_service

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _turn(user: str, thread: str | None, message: str, cost: float, minutes: int) -> None:
    agent_observability_service.log_agent_call(
        user_id=user, session_id=thread, user_message=message, llm_model="gpt-4o-mini",
        llm_prompt_tokens=100, llm_completion_tokens=20, llm_cost_usd=cost,
        created_at=T0 + timedelta(minutes=minutes),
    )  # fmt: skip


def _sessions() -> dict[str, str]:
    work = chat_sessions_service.open_session("alice", "work").thread_id
    home = chat_sessions_service.open_session("alice", "home").thread_id
    bobs = chat_sessions_service.open_session("bob", "work").thread_id
    _turn("alice", work, "move standup to 10", 0.0012, 1)
    _turn("alice", work, "add gym tomorrow", 0.0008, 2)
    _turn("alice", home, "dinner with Sam friday", 0.0005, 3)
    _turn("alice", None, "a turn outside any session", 0.0001, 4)
    _turn("bob", bobs, "bob's own turn", 0.5, 5)
    return {"work": work, "home": home, "bob": bobs}


def test_sessions_list_counts_each_conversation(cli):
    threads = _sessions()
    data = json.loads(cli("sessions", "list", "--json").stdout)
    assert [s["name"] for s in data] == ["home", "work"]  # last used first
    by_name = {s["name"]: s for s in data}
    assert by_name["work"]["turns"] == 2 and by_name["work"]["tokens"] == 240
    assert abs(by_name["work"]["cost_usd"] - 0.0020) < 1e-9
    assert by_name["home"]["turns"] == 1 and by_name["home"]["thread_id"] == threads["home"]
    table = cli("sessions", "list")
    assert table.exit_code == 0
    assert "work" in table.stdout and "$0.0020" in table.stdout and "$0.0005" in table.stdout
    assert "bob" not in table.stdout


def test_a_session_started_over_counts_only_its_new_conversation(cli):
    _sessions()
    chat_sessions_service.open_session("alice", "work", new=True)
    data = {s["name"]: s for s in json.loads(cli("sessions", "list", "--json").stdout)}
    assert data["work"]["turns"] == 0 and data["work"]["cost_usd"] == 0


def test_no_sessions_yet(cli):
    result = cli("sessions", "list")
    assert result.exit_code == 0 and "No chat sessions yet" in result.stdout
    assert json.loads(cli("sessions", "list", "--json").stdout) == []


def test_logs_list_by_session_name(cli):
    _sessions()
    work = json.loads(cli("logs", "list", "--session", "work", "--json").stdout)
    assert [c["user_message"] for c in work] == ["add gym tomorrow", "move standup to 10"]
    both = json.loads(cli("logs", "list", "--session", "work", "--all-users", "--json").stdout)
    assert {c["user_id"] for c in both} == {"alice", "bob"} and len(both) == 3


def test_logs_list_with_an_unknown_session_is_one_line(cli, snapshot):
    _sessions()
    before = snapshot()
    result = cli("logs", "list", "--session", "nope")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: no chat session named 'nope' (see `agentcal sessions list`)"
    ]
    assert snapshot() == before


def test_costs_by_session_shows_the_names(cli):
    threads = _sessions()
    data = json.loads(cli("costs", "--by", "session", "--json").stdout)
    assert data["names"] == {threads["work"]: "work", threads["home"]: "home"}
    assert {g["key"] for g in data["groups"]} == {threads["work"], threads["home"], None}
    table = cli("costs", "--by", "session").stdout
    assert "work" in table and "home" in table
    assert threads["work"] not in table and threads["home"] not in table
    # Without --by session there are no names to give.
    assert json.loads(cli("costs", "--by", "model", "--json").stdout)["names"] == {}
