"""The stdlib write path (agentcal.writer) stores exactly what the ORM stores.

The same calls and sessions are written twice: by services on the configured store (stdlib
sqlite3 on SQLite) and by services bound to the engine (the ORM). The stored columns are then
compared as the database holds them (no type conversion on the way out). With
AGENTCAL_TEST_DATABASE=postgres both are the ORM: the raw path is for plain SQLite files only.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from agentcal import writer
from agentcal.errors import NotFoundError
from agentcal.observability.calls import INTERRUPTED, AgentObservabilityService
from agentcal.users.chat_sessions import ChatSessionsService
from tests.conftest import ON_POSTGRES

START = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
STEPS = [
    {"step_type": "llm", "name": "model", "run_id": "a", "parent_run_id": None,
     "started_at": START, "duration_ms": 3.25, "llm_model": "gpt-4o-mini", "prompt_tokens": 10,
     "completion_tokens": 5, "cached_tokens": None, "input": {"messages": 2},
     "output": {"content": "Hé ✓", "tool_calls": []}, "status": "ok", "error": None},
    {"step_type": "tool", "name": "create_event", "started_at": START + timedelta(seconds=1),
     "input": {"title": "x"}},  # the rest left to the table's defaults
]  # fmt: skip
TURN = dict(
    user_id="alice", session_id="t1", agent_action="create", agent_tool="create_event",
    llm_model="gpt-4o-mini", llm_prompt_tokens=10, llm_completion_tokens=5, llm_cached_tokens=2,
    tokens_estimated=True, user_message="lunch ✓", agent_response=None,
    agent_state={"messages": [], "b": 1, "a": [None, 1.5]}, tool_result=None,
    entities=[{"tool": "create_event", "args": {"title": "x"}}], execution_time_ms=12.5,
    intent_category="calendar_change", status="ok", error=None,
)  # fmt: skip


def _stored(engine, table: str, key: str, value) -> list[dict]:  # type: ignore[no-untyped-def]
    """The rows as the database holds them (SQLAlchemy text: no type processing)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT * FROM {table} WHERE {key} = :v ORDER BY 1"), {"v": value}
        )
        return [dict(r._mapping) for r in rows]


def _without(rows: list[dict], *names: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in names} for row in rows]


def _as_dict(row) -> dict:  # type: ignore[no-untyped-def]
    return row._asdict() if hasattr(row, "_asdict") else row.model_dump()


def test_the_raw_path_is_the_default_sqlite_store_only(engine):
    conn = writer.open_writer()
    assert (conn is not None) == (not ON_POSTGRES)
    assert AgentObservabilityService(engine).raw_writer() is None  # bound to an engine: the ORM


@pytest.mark.parametrize("completed", [True, False], ids=["reserved then completed", "one insert"])
def test_a_turn_is_stored_as_the_orm_stores_it(engine, completed):
    raw, orm = AgentObservabilityService(), AgentObservabilityService(engine)
    rows = []
    for service in (raw, orm):
        call_id = None
        if completed:
            call_id = service.reserve_call(user_id="alice", user_message="lunch ✓",
                                           agent_run_id="r", session_id="t1", llm_model="m")  # fmt: skip
        record = service.log_agent_call(**TURN, steps=STEPS, call_id=call_id)
        stored = _stored(engine, "agent_observability", "id", record.id)
        steps = _stored(engine, "agent_steps", "observability_id", record.id)
        # What the call returns is what it stored (read back through the read path).
        assert _as_dict(record) == service.get_call(record.id)._asdict()
        rows.append((stored, steps, record))
    (raw_call, raw_steps, raw_record), (orm_call, orm_steps, orm_record) = rows
    assert _without(raw_call, "id", "created_at") == _without(orm_call, "id", "created_at")
    assert _without(raw_steps, "id", "observability_id") == _without(
        orm_steps, "id", "observability_id"
    )
    assert len(raw_steps) == 2 and raw_call[0]["tool_result"] in ("null", None)
    assert _without([_as_dict(raw_record)], "id", "created_at") == _without(
        [_as_dict(orm_record)], "id", "created_at"
    )


def test_a_reserved_row_is_stored_as_the_orm_stores_it(engine):
    ids = [
        service.reserve_call(user_id="alice", user_message="hi", session_id="t1", llm_model="m")
        for service in (AgentObservabilityService(), AgentObservabilityService(engine))
    ]
    raw, orm = (_stored(engine, "agent_observability", "id", i) for i in ids)
    assert _without(raw, "id", "created_at") == _without(orm, "id", "created_at")
    assert raw[0]["status"] == "running"


def test_reserving_closes_the_users_stale_running_turns(engine):
    service = AgentObservabilityService()
    old = service.log_agent_call(user_id="alice", status="running",
                                 created_at=datetime.now(UTC) - timedelta(hours=2))  # fmt: skip
    recent = service.reserve_call(user_id="alice")
    other = service.log_agent_call(user_id="bob", status="running",
                                   created_at=datetime.now(UTC) - timedelta(hours=2))  # fmt: skip
    service.reserve_call(user_id="alice")
    assert (service.get_call(old.id).status, service.get_call(old.id).error) == (
        "error",
        INTERRUPTED,
    )
    assert service.get_call(recent).status == "running"  # not stale yet
    assert service.get_call(other.id).status == "running"  # another user's


def test_completing_another_users_reserved_row_is_refused(engine, snapshot):
    service = AgentObservabilityService()
    call_id = service.reserve_call(user_id="alice")
    before = snapshot()
    with pytest.raises(NotFoundError):
        service.log_agent_call(user_id="bob", call_id=call_id, steps=STEPS)
    with pytest.raises(NotFoundError):
        service.log_agent_call(user_id="alice", call_id=call_id + 1000, steps=STEPS)
    assert snapshot() == before  # no step of a refused call stays


def test_sessions_are_opened_as_the_orm_opens_them(engine):
    raw, orm = ChatSessionsService(), ChatSessionsService(engine)
    for name, service in (("raw", raw), ("orm", orm)):
        first = service.open_session("alice", name)
        again = service.open_session("alice", name)
        assert again.thread_id == first.thread_id and again.id == first.id
        assert again.last_used_at >= first.last_used_at
        fresh = service.open_session("alice", name, new=True)
        assert fresh.thread_id != first.thread_id and fresh.id == first.id
        stored = _stored(engine, "chat_sessions", "name", name)
        assert len(stored) == 1 and stored[0]["thread_id"] == fresh.thread_id
        listed = {s.name: s for s in service.list_sessions("alice")}
        assert listed[name].created_at == fresh.created_at
        assert listed[name].last_used_at == fresh.last_used_at
        # Every thread the name had, each once, with the session's name and when it began.
        threads = _stored(engine, "chat_threads", "name", name)
        assert [t["thread_id"] for t in threads] == [first.thread_id, fresh.thread_id]
        assert {t["user_id"] for t in threads} == {"alice"}
        assert threads[0]["created_at"] == stored[0]["created_at"]
        assert threads[1]["created_at"] == stored[0]["last_used_at"]
    for table in ("chat_sessions", "chat_threads"):
        raw_row, orm_row = (_stored(engine, table, "name", n)[0] for n in ("raw", "orm"))
        assert {k: type(v) for k, v in raw_row.items()} == {k: type(v) for k, v in orm_row.items()}


@pytest.mark.sqlite_only
def test_a_store_behind_the_schema_head_is_left_to_the_orm(agentcal_home):
    conn = sqlite3.connect(agentcal_home / "agentcal.db")
    conn.execute("UPDATE alembic_version SET version_num = '0006_x'")
    conn.commit()
    conn.close()
    assert writer.open_writer() is None
    (agentcal_home / "agentcal.db").unlink()
    assert writer.open_writer() is None  # a store that does not exist yet: the ORM creates it


def test_a_failed_write_rolls_back(engine):
    conn = writer.open_writer()
    if conn is None:
        pytest.skip("the stdlib path is for SQLite files")
    assert writer.open_writer() is conn  # one connection for the process, as the ORM's pool
    with pytest.raises(sqlite3.IntegrityError), writer.transaction(conn) as c:
        writer.insert(c, "chat_sessions", _session_record(), {"user_id": "alice", "name": "x",
                      "thread_id": "t", "created_at": START, "last_used_at": START})  # fmt: skip
        writer.insert(c, "chat_sessions", _session_record(), {"user_id": "alice", "name": "x",
                      "thread_id": "t", "created_at": START, "last_used_at": START})  # fmt: skip
    assert _stored(engine, "chat_sessions", "name", "x") == []
    assert not conn.in_transaction
    ChatSessionsService().open_session("alice", "x")  # the connection goes on working
    assert len(_stored(engine, "chat_sessions", "name", "x")) == 1


def test_naive_times_are_refused_as_the_orm_refuses_them():
    with pytest.raises(ValueError):
        writer.db_time(datetime(2026, 1, 1))


def _session_record():  # type: ignore[no-untyped-def]
    from agentcal.records import ChatSessionRow

    return ChatSessionRow


@pytest.mark.sqlite_only
def test_the_stale_turn_sweep_reads_only_running_turns(engine):
    """reserve_call's sweep on the partial index (0009): not every older call of the user."""
    from sqlalchemy import text

    with engine.connect() as conn:
        plan = conn.execute(
            text(
                "EXPLAIN QUERY PLAN UPDATE agent_observability SET status = 'error' "
                "WHERE user_id = 'alice' AND status = 'running' AND created_at < '2026-01-01'"
            )
        ).all()
    assert "ix_obs_running" in " ".join(str(row) for row in plan)


def test_find_session_by_name_or_last_used(engine):
    sessions = ChatSessionsService()
    assert sessions.find_session("alice") is None
    work = sessions.open_session("alice", "work")
    home = sessions.open_session("alice", "home")
    found = sessions.find_session("alice", "work")
    assert found is not None and found.thread_id == work.thread_id
    last = sessions.find_session("alice")
    assert last is not None and last.name == "home" == home.name
    assert sessions.find_session("alice", "nope") is None
    assert sessions.find_session("bob") is None
