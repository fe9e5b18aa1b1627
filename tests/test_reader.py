"""The read path (agentcal/reader.py) must read exactly what the models hold, on the stdlib
sqlite3 reader and on SQLAlchemy (SQLite and PostgreSQL) alike, never write, and step aside
to SQLAlchemy whenever it cannot be sure."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from agentcal import reader
from agentcal.insights.user_insights import UserInsightsService, user_insights_service
from agentcal.observability.costs import CostsService, costs_service
from tests.conftest import ON_POSTGRES

sqlite_only = pytest.mark.sqlite_only

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


@sqlite_only
def test_sqlite_file_accepts_only_plain_file_urls(tmp_path):
    from pathlib import Path

    from agentcal.schema import sqlite_file

    assert sqlite_file(f"sqlite:///{tmp_path}/a.db") == tmp_path / "a.db"
    assert sqlite_file("sqlite:///rel/a.db") == Path("rel/a.db")
    for url in (
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///file:a.db?mode=ro&uri=true",
        "sqlite:///a.db?timeout=5",
        "sqlite:///a%20b.db",
        "postgresql+psycopg://u@localhost/db",
        "sqlite+pysqlite:///a.db",
    ):
        assert sqlite_file(url) is None, url


@sqlite_only
def test_the_connection_is_read_only(agentcal_home):
    conn = reader.open_store()
    assert conn is not None
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM user_insights")
    finally:
        conn.close()


@sqlite_only
def test_steps_aside_when_the_store_is_missing_or_behind(agentcal_home, monkeypatch):
    db = agentcal_home / "agentcal.db"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = '0001_initial'")  # a known, older one
    conn.commit()
    conn.close()
    assert reader.open_store() is None  # the SQLAlchemy path will migrate it
    db.unlink()
    assert reader.open_store() is None
    assert not db.exists()  # and it did not create an empty file
    monkeypatch.setenv("AGENTCAL_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1:1/x")
    from agentcal.settings import reset_settings

    reset_settings()
    assert reader.open_store() is None


def test_insight_rows_validate_before_reading(agentcal_home):
    from agentcal.errors import ValidationError

    with pytest.raises(ValidationError, match="category must be one of"):
        user_insights_service.get_user_insights("alice", category="nope")


def _calls(days: int = 75) -> None:
    """Calls over `days` days (long enough for the report to split it between readers)."""
    from agentcal.observability.calls import agent_observability_service

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


@sqlite_only
@pytest.mark.parametrize("by", [None, "day", "model", "action", "session", "user"])
@pytest.mark.parametrize("parallel", [False, True])
def test_costs_report_equals_the_sqlalchemy_path(agentcal_home, monkeypatch, by, parallel):
    from agentcal.db import get_engine
    from agentcal.observability import costs

    _calls()
    monkeypatch.setattr(costs.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(costs, "MIN_DAYS_PER_READER", 10 if parallel else 10**6)
    opened = []
    real_open = reader.open_store
    monkeypatch.setattr(reader, "open_store", lambda: opened.append(1) or real_open())
    user = None if by == "user" else "alice"
    fast = costs_service.report(user_id=user, by=by, tz="Europe/Paris").to_dict()
    slow = CostsService(get_engine()).report(user_id=user, by=by, tz="Europe/Paris").to_dict()
    # The sqlite3 path ran: on one reader, or one plus 3 helpers per split pass over the days.
    assert len(opened) == ((7 if by == "day" else 4) if parallel else 1)
    assert fast == slow
    assert fast["totals"]["calls"] == (225 if by == "user" else 180)
    assert len(fast["daily"]) >= 75


@sqlite_only
def test_a_reader_sees_one_snapshot_and_blocks_no_writer(agentcal_home):
    _insights()
    conn = reader.open_store()
    assert conn is not None
    try:
        before = conn.execute("SELECT COUNT(*) FROM user_insights").fetchone()[0]
        user_insights_service.create_insight(  # a writer commits while the reader is open
            user_id="alice", insight_type="habit", category="health", key="new", value=1
        )
        assert conn.execute("SELECT COUNT(*) FROM user_insights").fetchone()[0] == before
    finally:
        conn.close()
    assert len(user_insights_service.get_user_insights("alice")) == before + 1


@sqlite_only
def test_a_helper_reader_that_cannot_open_leaves_its_days_to_the_first(agentcal_home, monkeypatch):
    from agentcal.observability import costs

    _calls()
    expected = costs_service.report(user_id="alice", by="day", tz="Europe/Paris").to_dict()
    monkeypatch.setattr(costs.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(costs, "MIN_DAYS_PER_READER", 10)
    real_open = reader.open_store
    calls = []

    def first_only():  # e.g. the store was migrated after the report started
        calls.append(1)
        return real_open() if len(calls) == 1 else None

    monkeypatch.setattr(reader, "open_store", first_only)
    got = costs_service.report(user_id="alice", by="day", tz="Europe/Paris").to_dict()
    assert len(calls) > 1 and got == expected


@sqlite_only
def test_a_read_error_is_one_config_error_line(agentcal_home, cli, monkeypatch):
    from agentcal.errors import ConfigError

    opened = []
    with (
        pytest.raises(ConfigError, match="cannot read the database: no such table"),
        reader.reading() as r,
    ):
        opened.append(r.raw)
        r.tuples("SELECT * FROM no_such_table")
    assert opened[0] is not None
    with pytest.raises(sqlite3.ProgrammingError):  # and the connection was closed
        opened[0].execute("SELECT 1")
    # Through the CLI: a store whose read fails mid-command gives one line, exit 1.
    real_open = reader.open_store

    def broken():
        conn = real_open()
        assert conn is not None
        conn.set_authorizer(lambda *a: sqlite3.SQLITE_DENY)  # every later statement fails
        return conn

    monkeypatch.setattr(reader, "open_store", broken)
    for args in (("insights", "list"), ("costs",), ("events", "list"), ("logs", "list"),
                 ("jobs", "list"), ("status",), ("sessions", "list")):  # fmt: skip
        result = cli(*args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith("Error: cannot read the database:")
        assert "Traceback" not in result.output


# -- every record is its model's row ----------------------------------------------------------


def _fill(engine) -> None:  # type: ignore[no-untyped-def]
    """At least one row in every table the read path reads, with awkward values."""
    from agentcal.health.monitoring import MonitoringService
    from agentcal.observability.calls import AgentObservabilityService
    from agentcal.planning.events import CalendarEventsService
    from agentcal.planning.preferences import CalendarPreferencesService
    from agentcal.queue.jobs import JobQueue
    from agentcal.users.chat_sessions import ChatSessionsService

    insights = UserInsightsService(engine)
    for i, value in enumerate(VALUES):
        insights.create_insight(user_id="alice", insight_type="habit", category="health",
                                key=f"k{i:02d}", value=value, source="explicit")  # fmt: skip
    insights.create_insight(user_id="alice", insight_type="habit", category="health",
                            key="k00", value={"changed": True}, source="explicit")  # fmt: skip
    CalendarPreferencesService(engine).create_preference(
        user_id="alice", preference_type="gym", start_time="06:00", duration_minutes=60,
        day_of_week=[1, 3], is_flexible=True,
    )  # fmt: skip
    start = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # a DST night in Europe/Paris
    events = CalendarEventsService(engine)
    events.create_event(user_id="alice", title="Dentist ✓", start=start, duration_minutes=45,
                        timezone="Europe/Paris", description="d", location="x")  # fmt: skip
    events.create_event(user_id="alice", title="Plain", start=start + timedelta(hours=2),
                        duration_minutes=15)  # fmt: skip
    obs = AgentObservabilityService(engine)
    obs.log_agent_call(
        user_id="alice", session_id="t1", agent_action="create", llm_model="gpt-4o-mini",
        llm_prompt_tokens=10, llm_completion_tokens=5, tool_result=[{"ok": True}],
        entities={"when": None}, agent_state={"messages": []}, execution_time_ms=12.5,
        tokens_estimated=True,
        steps=[{"step_type": "llm", "name": "model", "input": ["x"], "output": {"y": 1},
                "started_at": start, "duration_ms": 3.0}],
    )  # fmt: skip
    JobQueue(engine).enqueue("calendar_sync", {"event_id": 1, "revision": 1}, user_id="alice")
    monitoring = MonitoringService(engine)
    monitoring.heartbeat("w1", "daemon", jobs_done=3)
    monitoring.raise_alert("job 9 is dead", source="jobs", job_id=9)
    ChatSessionsService(engine).open_session("alice", "work")
    from agentcal.users.profiles import UserProfilesService

    UserProfilesService(engine).add("alice", timezone="Asia/Kolkata", daily_budget_usd=0.25)


def test_every_record_matches_its_model():
    from agentcal import models, records

    pairs = {
        records.CallRow: models.AgentObservability, records.StepRow: models.AgentStep,
        records.InsightRow: models.UserInsight, records.InsightHistoryRow: models.UserInsightHistory,
        records.PreferenceRow: models.CalendarPreference, records.EventRow: models.CalendarEvent,
        records.JobRow: models.Job, records.HeartbeatRow: models.WorkerHeartbeat,
        records.AlertRow: models.Alert, records.ChatSessionRow: models.ChatSession,
        records.ChatThreadRow: models.ChatThread, records.ProfileRow: models.UserProfile,
    }  # fmt: skip
    for record, model in pairs.items():
        assert record._fields == tuple(model.model_fields), record


@pytest.mark.parametrize("bound", [False, True], ids=["configured store", "engine-bound"])
def test_records_hold_what_the_orm_reads(agentcal_home, bound):
    """On SQLite: the sqlite3 reader (configured store) and SQLAlchemy (a service bound to an
    engine). With AGENTCAL_TEST_DATABASE=postgres both are SQLAlchemy on PostgreSQL."""
    from sqlmodel import Session, select

    from agentcal import models, records
    from agentcal.db import get_engine

    engine = get_engine()
    _fill(engine)
    pairs = [
        (records.CallRow, models.AgentObservability, "agent_observability"),
        (records.StepRow, models.AgentStep, "agent_steps"),
        (records.InsightRow, models.UserInsight, "user_insights"),
        (records.InsightHistoryRow, models.UserInsightHistory, "user_insight_history"),
        (records.PreferenceRow, models.CalendarPreference, "calendar_preferences"),
        (records.EventRow, models.CalendarEvent, "calendar_events"),
        (records.JobRow, models.Job, "jobs"),
        (records.HeartbeatRow, models.WorkerHeartbeat, "worker_heartbeats"),
        (records.AlertRow, models.Alert, "alerts"),
        (records.ChatSessionRow, models.ChatSession, "chat_sessions"),
        (records.ChatThreadRow, models.ChatThread, "chat_threads"),
        (records.ProfileRow, models.UserProfile, "user_profiles"),
    ]
    for record, model, table in pairs:
        with Session(engine) as s:
            orm = [m.model_dump() for m in s.exec(select(model))]
        with reader.reading(engine if bound else None) as r:
            assert (r.raw is not None) == (not bound and not ON_POSTGRES)
            got = r.records(record, f"SELECT {reader.columns(record)} FROM {table}")
        assert orm, table
        first = record._fields[0]  # the primary key
        mine = sorted((g._asdict() for g in got), key=lambda d: d[first])
        assert mine == sorted(orm, key=lambda d: d[first]), table


def test_a_reader_on_a_session_sees_its_pending_changes(agentcal_home):
    from agentcal.db import session_scope
    from agentcal.planning.events import calendar_events_service

    start = datetime(2026, 5, 4, 9, tzinfo=UTC)
    with session_scope() as s:
        calendar_events_service.create_event(user_id="alice", title="Unflushed", start=start,
                                             duration_minutes=30, session=s)  # fmt: skip
        seen = calendar_events_service.list_events("alice", start, start + timedelta(hours=1),
                                                   session=s)  # fmt: skip
        assert [e.title for e in seen] == ["Unflushed"]
