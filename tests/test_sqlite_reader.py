"""The stdlib sqlite3 read path (agentcal/sqlite_reader.py) must read exactly what the
SQLAlchemy path reads, never write, and step aside whenever it cannot be sure."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from agentcal import sqlite_reader
from agentcal.services.costs import CostsService, costs_service
from agentcal.services.user_insights import (
    INSIGHT_COLUMNS,
    UserInsightsService,
    user_insights_service,
)

pytestmark = pytest.mark.sqlite_only

# JSON values that SQLite's NUMERIC affinity stores as numbers, or that look like numbers.
VALUES = [1, 0, -7, 2.5, 1e300, "1", "06:00", "", True, False, None, [1, "a"], {"d": [1, 2]},
          "ünïcødé ✓", {"nested": {"x": None}}, 12345678901234567890]  # fmt: skip


def _insights():
    for i, value in enumerate(VALUES):
        user_insights_service.create_insight(
            user_id="alice",
            insight_type="preference" if i % 2 else "habit",
            category="health" if i % 3 else "schedule",
            key=f"k{i:02d}",
            value=value,
            confidence=0.5 + i / 100,
            source="explicit",
        )


def test_sqlite_file_accepts_only_plain_file_urls(tmp_path):
    assert sqlite_reader.sqlite_file(f"sqlite:///{tmp_path}/a.db") == tmp_path / "a.db"
    assert sqlite_reader.sqlite_file("sqlite:///rel/a.db") == sqlite_reader.Path("rel/a.db")
    for url in (
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file:a.db?mode=ro&uri=true",
        "sqlite:///a.db?timeout=5",
        "sqlite:///a%20b.db",
        "postgresql+psycopg://u@localhost/db",
        "sqlite+pysqlite:///a.db",
    ):
        assert sqlite_reader.sqlite_file(url) is None, url


def test_the_connection_is_read_only(agentcal_home):
    conn = sqlite_reader.open_store()
    assert conn is not None
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM user_insights")
    finally:
        conn.close()


def test_steps_aside_when_the_store_is_missing_or_behind(agentcal_home, monkeypatch):
    db = agentcal_home / "agentcal.db"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = '0001_initial'")  # a known, older one
    conn.commit()
    conn.close()
    assert sqlite_reader.open_store() is None  # the SQLAlchemy path will migrate it
    db.unlink()
    assert sqlite_reader.open_store() is None
    assert not db.exists()  # and it did not create an empty file
    monkeypatch.setenv("AGENTCAL_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1:1/x")
    from agentcal.settings import reset_settings

    reset_settings()
    assert sqlite_reader.open_store() is None


def test_insight_columns_follow_the_model():
    from agentcal.models import UserInsight

    assert tuple(UserInsight.model_fields) == INSIGHT_COLUMNS


@pytest.mark.parametrize(
    "filters", [{}, {"category": "health"}, {"insight_type": "habit"}, {"category": "schedule"}]
)
def test_insight_rows_equal_the_orm_models(agentcal_home, filters):
    _insights()
    fast = user_insights_service.insight_rows("alice", **filters)
    orm = [i.model_dump() for i in user_insights_service.get_user_insights("alice", **filters)]
    assert fast and fast == orm
    assert all(tuple(row) == INSIGHT_COLUMNS for row in fast)  # keys in the model's field order
    # The service bound to an engine takes the SQLAlchemy path: same rows again.
    from agentcal.db import get_engine

    assert UserInsightsService(get_engine()).insight_rows("alice", **filters) == fast


def test_insight_rows_validate_before_reading(agentcal_home):
    from agentcal.errors import ValidationError

    with pytest.raises(ValidationError, match="category must be one of"):
        user_insights_service.insight_rows("alice", category="nope")


def _calls(days: int = 75) -> None:
    """Calls over `days` days (long enough for the report to split it between readers)."""
    from agentcal.services.agent_observability import agent_observability_service

    start = datetime(2025, 1, 20, 5, tzinfo=UTC)
    models = ("gpt-4o-mini", "gpt-4o", None, "my-llama")
    for i in range(days * 3):
        agent_observability_service.log_agent_call(
            user_id="alice" if i % 5 else "bob",
            created_at=start + timedelta(hours=8 * i + i % 7),
            llm_model=models[i % 4],
            agent_action=("create", "read", "search")[i % 3],
            session_id=f"s{i % 11}",
            status="error" if i % 13 == 0 else "ok",
            llm_prompt_tokens=100 + i,
            llm_completion_tokens=10 + i % 50,
            llm_cached_tokens=i % 3 * 20,
            execution_time_ms=None if i % 17 == 0 else float((i * 37) % 900 + 1),
        )


@pytest.mark.parametrize("by", [None, "day", "model", "action", "session", "user"])
@pytest.mark.parametrize("parallel", [False, True])
def test_costs_report_equals_the_sqlalchemy_path(agentcal_home, monkeypatch, by, parallel):
    from agentcal.db import get_engine
    from agentcal.services import costs

    _calls()
    monkeypatch.setattr(costs.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(costs, "MIN_DAYS_PER_READER", 10 if parallel else 10**6)
    opened = []
    real_open = sqlite_reader.open_store
    monkeypatch.setattr(sqlite_reader, "open_store", lambda: opened.append(1) or real_open())
    user = None if by == "user" else "alice"
    fast = costs_service.report(user_id=user, by=by, tz="Europe/Paris").to_dict()
    slow = CostsService(get_engine()).report(user_id=user, by=by, tz="Europe/Paris").to_dict()
    # The sqlite3 path ran: on one reader, or one plus 3 helpers per split pass over the days.
    assert len(opened) == ((7 if by == "day" else 4) if parallel else 1)
    assert fast == slow
    assert fast["totals"]["calls"] == (225 if by == "user" else 180)
    assert len(fast["daily"]) >= 75


def test_a_reader_sees_one_snapshot_and_blocks_no_writer(agentcal_home):
    _insights()
    conn = sqlite_reader.open_store()
    assert conn is not None
    try:
        before = conn.execute("SELECT COUNT(*) FROM user_insights").fetchone()[0]
        user_insights_service.create_insight(  # a writer commits while the reader is open
            user_id="alice", insight_type="habit", category="health", key="new", value=1
        )
        assert conn.execute("SELECT COUNT(*) FROM user_insights").fetchone()[0] == before
    finally:
        conn.close()
    assert len(user_insights_service.insight_rows("alice")) == before + 1


def test_a_helper_reader_that_cannot_open_leaves_its_days_to_the_first(agentcal_home, monkeypatch):
    from agentcal.services import costs

    _calls()
    expected = costs_service.report(user_id="alice", by="day", tz="Europe/Paris").to_dict()
    monkeypatch.setattr(costs.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(costs, "MIN_DAYS_PER_READER", 10)
    real_open = sqlite_reader.open_store
    calls = []

    def first_only():  # e.g. the store was migrated after the report started
        calls.append(1)
        return real_open() if len(calls) == 1 else None

    monkeypatch.setattr(sqlite_reader, "open_store", first_only)
    got = costs_service.report(user_id="alice", by="day", tz="Europe/Paris").to_dict()
    assert len(calls) > 1 and got == expected


def test_a_read_error_is_one_config_error_line(agentcal_home, cli, monkeypatch):
    from agentcal.errors import ConfigError

    conn = sqlite_reader.open_store()
    assert conn is not None
    with (
        pytest.raises(ConfigError, match="cannot read the database: no such table"),
        sqlite_reader.reading(conn),
    ):
        conn.execute("SELECT * FROM no_such_table")
    with pytest.raises(sqlite3.ProgrammingError):  # and the connection was closed
        conn.execute("SELECT 1")
    # Through the CLI: a store whose read fails mid-command gives one line, exit 1.
    real_open = sqlite_reader.open_store

    def broken():
        conn = real_open()
        assert conn is not None
        conn.set_authorizer(lambda *a: sqlite3.SQLITE_DENY)  # every later statement fails
        return conn

    monkeypatch.setattr(sqlite_reader, "open_store", broken)
    for args in (("insights", "list"), ("costs",)):
        result = cli(*args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith("Error: cannot read the database:")
        assert "Traceback" not in result.output
