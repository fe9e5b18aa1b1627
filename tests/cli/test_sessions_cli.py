"""Named chat sessions seen from the shell: `sessions list`, `logs list --session`, and
`costs --by session` by name."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

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


@pytest.fixture(params=["sought", "read whole"])
def lookups(request, monkeypatch):  # type: ignore[no-untyped-def]
    """Both ways to find a name's threads and the threads' names: few (by index, thread by
    thread) and many (a subquery; the whole chat_threads table)."""
    if request.param == "read whole":
        from agentcal.observability import call_log
        from agentcal.users import chat_sessions

        monkeypatch.setattr(chat_sessions, "SEEK_NAMES", 1)
        monkeypatch.setattr(call_log, "SEEK_THREADS", 1)
    return request.param


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


def test_a_session_started_over_keeps_counting_its_older_conversation(cli):
    threads = _sessions()
    fresh = chat_sessions_service.open_session("alice", "work", new=True).thread_id
    data = {s["name"]: s for s in json.loads(cli("sessions", "list", "--json").stdout)}
    assert data["work"]["thread_id"] == fresh != threads["work"]
    assert (data["work"]["conversations"], data["work"]["turns"]) == (2, 2)
    assert abs(data["work"]["cost_usd"] - 0.0020) < 1e-9
    assert (data["home"]["conversations"], data["home"]["turns"]) == (1, 1)


def test_no_sessions_yet(cli):
    result = cli("sessions", "list")
    assert result.exit_code == 0 and "No chat sessions yet" in result.stdout
    assert json.loads(cli("sessions", "list", "--json").stdout) == []


def test_logs_list_by_session_name(cli, lookups):
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


def test_costs_by_session_shows_the_names(cli, lookups):
    threads = _sessions()
    data = json.loads(cli("costs", "--by", "session", "--json").stdout)
    assert data["names"] == {threads["work"]: "work", threads["home"]: "home"}
    assert {g["key"] for g in data["groups"]} == {threads["work"], threads["home"], None}
    table = cli("costs", "--by", "session").stdout
    assert "work" in table and "home" in table
    assert threads["work"] not in table and threads["home"] not in table
    # Without --by session there are no names to give.
    assert json.loads(cli("costs", "--by", "model", "--json").stdout)["names"] == {}


def _chat(cli, *args: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("chat", *args)
    assert result.exit_code == 0, result.stderr


def _one_offs_and_work(cli) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Three one-off `chat -m` turns, and the "work" session over two conversations."""
    for text in ("hello", "hello again", "what is on today"):
        _chat(cli, "-m", text)
    _chat(cli, "--session", "work", "-m", "hello work")
    _chat(cli, "--session", "work", "-m", "hello work again")
    _chat(cli, "--session", "work", "--new", "-m", "a fresh start")
    threads: dict[str, list[str]] = {}
    for call in reversed(json.loads(cli("logs", "list", "--limit", "50", "--json").stdout)):
        text = call["user_message"]
        name = "work" if "work" in text or "fresh" in text else "one-off"
        if call["session_id"] not in threads.setdefault(name, []):
            threads[name].append(call["session_id"])
    assert [len(threads["one-off"]), len(threads["work"])] == [3, 2]
    return threads


def test_every_thread_keeps_its_name_in_costs_by_session(cli, lookups):
    threads = _one_offs_and_work(cli)
    data = json.loads(cli("costs", "--by", "session", "--json").stdout)
    expected = {t: name for name, ts in threads.items() for t in ts}
    assert data["names"] == expected
    table = cli("costs", "--by", "session").stdout
    assert not any(t in table for t in expected)  # no raw thread id: every one has its name
    assert table.count("one-off") == 3 and table.count("work") == 2
    rows = cli("costs", "--by", "session", "--csv").stdout.splitlines()
    assert sum(r.startswith("one-off,") for r in rows) == 3, rows
    assert sum(r.startswith("work,") for r in rows) == 2, rows


def test_sessions_list_counts_every_conversation_of_a_name(cli):
    _one_offs_and_work(cli)
    data = {s["name"]: s for s in json.loads(cli("sessions", "list", "--json").stdout)}
    assert set(data) == {"one-off", "work"}
    assert (data["one-off"]["conversations"], data["one-off"]["turns"]) == (3, 3)
    assert (data["work"]["conversations"], data["work"]["turns"]) == (2, 3)


def test_logs_list_by_session_has_the_older_conversations_too(cli, lookups):
    threads = _one_offs_and_work(cli)
    one_off = json.loads(cli("logs", "list", "--session", "one-off", "--json").stdout)
    assert [c["user_message"] for c in one_off] == ["what is on today", "hello again", "hello"]
    assert {c["session_id"] for c in one_off} == set(threads["one-off"])
    work = json.loads(cli("logs", "list", "--session", "work", "--json").stdout)
    assert [c["user_message"] for c in work] == ["a fresh start", "hello work again", "hello work"]


def test_a_store_from_before_chat_threads_keeps_what_can_be_known(engine, cli):
    """Migration 0010 on a store whose "one-off" and "work" sessions already replaced threads:
    each session's current thread gets its name (and its first call's time); the replaced
    ones had no name stored anywhere, so they keep their ids. Threads opened afterwards are
    all named."""
    from alembic import command
    from sqlalchemy import insert, inspect, text

    from agentcal.db import alembic_config, current_revision, dispose_engines
    from agentcal.models import ChatSession
    from agentcal.reader import parse_time
    from agentcal.schema import SCHEMA_HEAD

    for i, thread in enumerate(("old1", "old2", "now1", "w-old", "w-now")):
        _turn("alice", thread, f"turn {i}", 0.001, i)
    cfg = alembic_config(engine)
    command.downgrade(cfg, "0009_obs_running")
    with engine.connect() as conn:
        assert "chat_threads" not in inspect(conn).get_table_names()
    with engine.begin() as conn:
        conn.execute(insert(ChatSession.__table__), [
            dict(user_id="alice", name="one-off", thread_id="now1", created_at=T0,
                 last_used_at=T0 + timedelta(minutes=2)),
            dict(user_id="alice", name="work", thread_id="w-now", created_at=T0,
                 last_used_at=T0 + timedelta(minutes=4)),
            dict(user_id="alice", name="idle", thread_id="idle1", created_at=T0,
                 last_used_at=T0),
        ])  # fmt: skip
    dispose_engines()

    data = json.loads(cli("costs", "--by", "session", "--json").stdout)
    assert current_revision(engine) == SCHEMA_HEAD
    assert data["names"] == {"now1": "one-off", "w-now": "work"}
    with engine.connect() as conn:
        started = dict(conn.execute(text("SELECT thread_id, created_at FROM chat_threads")).all())
    assert {t: parse_time(at) for t, at in started.items()} == {
        "now1": T0 + timedelta(minutes=2), "w-now": T0 + timedelta(minutes=4), "idle1": T0,
    }  # fmt: skip
    listed = {s["name"]: s for s in json.loads(cli("sessions", "list", "--json").stdout)}
    assert (listed["one-off"]["conversations"], listed["one-off"]["turns"]) == (1, 1)
    assert (listed["idle"]["conversations"], listed["idle"]["turns"]) == (1, 0)

    assert cli("chat", "-m", "hello after the upgrade").exit_code == 0
    names = json.loads(cli("costs", "--by", "session", "--json").stdout)["names"]
    assert names["now1"] == "one-off" and list(names.values()).count("one-off") == 2
    logged = json.loads(cli("logs", "list", "--session", "one-off", "--json").stdout)
    assert [c["user_message"] for c in logged] == ["hello after the upgrade", "turn 2"]
