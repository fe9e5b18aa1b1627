"""The store's tables (SQLModel). Table and column names follow the seed note.

Times are stored as naive UTC and read back as aware UTC (`UTCDateTime`), identically on
SQLite and PostgreSQL. JSON columns are JSONB on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator
from sqlmodel import Column, Field, SQLModel

from agentcal.vocab import (  # noqa: F401  (re-exported)
    AGENT_ACTIONS,
    EVENT_STATUSES,
    INSIGHT_CATEGORIES,
    INSIGHT_SOURCES,
    INSIGHT_TYPES,
    JOB_KINDS,
    JOB_STATES,
    PREFERENCE_TYPES,
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, naive UTC stored, aware UTC out."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def _json_col(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSONType, nullable=nullable))


def _time_col(nullable: bool = False, index: bool = False, default: bool = True) -> Any:
    return Field(
        default_factory=utcnow if default else None,
        sa_column=Column(UTCDateTime(), nullable=nullable, index=index),
    )


class AgentObservability(SQLModel, table=True):
    """One row per agent turn (the seed's agent observability)."""

    __tablename__ = "agent_observability"
    __table_args__ = (
        sa.Index("ix_obs_user_created", "user_id", "created_at"),
        # Covering index for `agentcal costs`: a time range is aggregated from the index alone,
        # never touching the wide rows (messages, state). It also serves plain created_at lookups.
        sa.Index(
            "ix_obs_usage",
            *("created_at", "user_id", "llm_model", "agent_action", "status", "execution_time_ms"),
            *("llm_cost_usd", "llm_prompt_tokens", "llm_completion_tokens", "llm_cached_tokens"),
            *("llm_total_tokens", "session_id"),
        ),
        # Latency percentiles: walk the index in latency order (LIMIT 1 OFFSET k), no sort;
        # all users' calls, or one user's.
        sa.Index("ix_obs_latency", "execution_time_ms", "user_id", "created_at"),
        sa.Index("ix_obs_user_latency", "user_id", "execution_time_ms", "created_at"),
        # The same walk per model / per action, for `agentcal costs --by model|action`.
        sa.Index("ix_obs_model_latency", "llm_model", "execution_time_ms", "user_id", "created_at"),
        sa.Index(
            "ix_obs_action_latency", "agent_action", "execution_time_ms", "user_id", "created_at"
        ),
        # The usage columns in session order: `costs --by session` groups tens of thousands of
        # sessions without sorting the calls, and `logs list --session` seeks a session's calls.
        sa.Index(
            "ix_obs_session_usage",
            *("session_id", "created_at", "user_id", "status", "execution_time_ms"),
            *("llm_cost_usd", "llm_prompt_tokens", "llm_completion_tokens", "llm_cached_tokens"),
            "llm_total_tokens",
        ),
        # The running turns only (a handful): reserve_call's sweep of turns a dead process left
        # running reads these, not every call of the user.
        sa.Index(
            "ix_obs_running",
            "user_id",
            "created_at",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _time_col()
    user_id: str = Field(max_length=200)
    session_id: str | None = Field(default=None, max_length=200)  # ix_obs_session_usage
    agent_run_id: str | None = Field(default=None, max_length=64, index=True)
    agent_action: str | None = Field(default=None, max_length=32)
    agent_tool: str | None = Field(default=None, max_length=200)
    llm_provider: str | None = Field(default=None, max_length=64)
    llm_model: str | None = Field(default=None, max_length=200)
    llm_prompt_tokens: int | None = None
    llm_completion_tokens: int | None = None
    llm_total_tokens: int | None = None
    llm_cached_tokens: int | None = None
    tokens_estimated: bool = False
    llm_cost_usd: float | None = None
    cost_source: str | None = Field(default=None, max_length=32)
    cost_note: str | None = None
    user_message: str | None = Field(default=None, sa_column=Column(sa.Text))
    agent_response: str | None = Field(default=None, sa_column=Column(sa.Text))
    agent_state: Any = _json_col()
    tool_result: Any = _json_col()
    execution_time_ms: float | None = None
    intent_category: str | None = Field(default=None, max_length=64)
    entities: Any = _json_col()
    status: str = Field(default="ok", max_length=16)
    error: str | None = Field(default=None, sa_column=Column(sa.Text))


class AgentStep(SQLModel, table=True):
    """One LLM call or tool call inside a turn, for `agentcal logs show`'s tree."""

    __tablename__ = "agent_steps"

    id: int | None = Field(default=None, primary_key=True)
    observability_id: int = Field(
        sa_column=Column(
            sa.Integer,
            sa.ForeignKey("agent_observability.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    seq: int = 0
    run_id: str | None = Field(default=None, max_length=64)
    parent_run_id: str | None = Field(default=None, max_length=64)
    step_type: str = Field(max_length=16)  # llm | tool
    name: str | None = Field(default=None, max_length=200)
    started_at: datetime = _time_col()
    duration_ms: float | None = None
    llm_model: str | None = Field(default=None, max_length=200)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    input: Any = _json_col()
    output: Any = _json_col()
    status: str = Field(default="ok", max_length=16)
    error: str | None = Field(default=None, sa_column=Column(sa.Text))


class UserInsight(SQLModel, table=True):
    """What the agent (or the user, or pattern analysis) learned about a user."""

    __tablename__ = "user_insights"
    __table_args__ = (sa.UniqueConstraint("user_id", "category", "key", name="uq_insight_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=200, index=True)
    insight_type: str = Field(max_length=32)
    category: str = Field(max_length=32)
    key: str = Field(max_length=200)
    value: Any = _json_col(nullable=False)
    confidence: float = 0.5
    source: str = Field(default="agent", max_length=32)
    source_request_id: int | None = Field(
        default=None,
        sa_column=Column(
            sa.Integer, sa.ForeignKey("agent_observability.id", ondelete="SET NULL"), nullable=True
        ),
    )
    times_seen: int = 1
    created_at: datetime = _time_col()
    updated_at: datetime = _time_col()


class UserInsightHistory(SQLModel, table=True):
    """Every value an insight had, with what replaced, reinforced or kept it."""

    __tablename__ = "user_insight_history"

    id: int | None = Field(default=None, primary_key=True)
    insight_id: int = Field(
        sa_column=Column(
            sa.Integer,
            sa.ForeignKey("user_insights.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        )
    )
    change: str = Field(max_length=16)  # created | updated | reinforced | kept
    value: Any = _json_col(nullable=False)
    confidence: float
    source: str = Field(max_length=32)
    source_request_id: int | None = None
    changed_at: datetime = _time_col()


class CalendarPreference(SQLModel, table=True):
    """A recurring block the user wants on the calendar (gym, sleep, focus...)."""

    __tablename__ = "calendar_preferences"

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=200, index=True)
    preference_type: str = Field(max_length=32)
    title: str = Field(max_length=200)
    day_of_week: list[int] | None = _json_col()
    # Every N weeks on those days (1: every week), weeks counted Monday to Sunday from the
    # week of anchor_date, the first day it may happen (None: no start, weekly only).
    interval_weeks: int = Field(
        default=1, sa_column=Column(sa.Integer, nullable=False, default=1, server_default="1")
    )
    anchor_date: date | None = None
    start_time: str = Field(max_length=5)  # HH:MM, the user's local time
    duration_minutes: int
    auto_schedule: bool = True
    priority: int = 5
    is_flexible: bool = False
    is_active: bool = True
    user_edited: bool = False
    source_insight_id: int | None = Field(
        default=None,
        sa_column=Column(
            sa.Integer, sa.ForeignKey("user_insights.id", ondelete="SET NULL"), nullable=True
        ),
    )
    created_at: datetime = _time_col()
    updated_at: datetime = _time_col()


class CalendarEvent(SQLModel, table=True):
    """A concrete event: created by the agent, or emitted from a preference for one date."""

    __tablename__ = "calendar_events"
    __table_args__ = (
        sa.UniqueConstraint("preference_id", "local_date", name="uq_event_pref_date"),
        sa.Index("ix_events_user_start", "user_id", "start_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(max_length=200, unique=True)
    user_id: str = Field(max_length=200)
    preference_id: int | None = Field(
        default=None,
        sa_column=Column(
            sa.Integer,
            sa.ForeignKey("calendar_preferences.id", ondelete="SET NULL"),
            nullable=True,
            index=True,
        ),
    )
    title: str = Field(max_length=500)
    description: str | None = Field(default=None, sa_column=Column(sa.Text))
    location: str | None = Field(default=None, max_length=500)
    local_date: date | None = None
    start_at: datetime | None = _time_col(nullable=True, default=False)
    end_at: datetime | None = _time_col(nullable=True, default=False)
    timezone: str = Field(default="UTC", max_length=64)
    status: str = Field(default="planned", max_length=16)
    origin: str = Field(default="agent", max_length=16)  # agent | emitter | user
    placement_note: str | None = Field(default=None, sa_column=Column(sa.Text))
    backend: str | None = Field(default=None, max_length=16)
    backend_event_id: str | None = Field(default=None, max_length=1024)
    revision: int = 0
    synced_revision: int | None = None
    # What the calendar did with it, when the user changed it there ("deleted in Google",
    # "moved in CalDAV"): agentcal left it so. Cleared by the next sync that goes through.
    sync_note: str | None = Field(default=None, max_length=200)
    # CalDAV: the ETag of the object as agentcal last wrote it whole (nothing of the user's in
    # it), so the next update is one PUT If-Match; None: read it first.
    backend_etag: str | None = Field(default=None, max_length=200)
    created_at: datetime = _time_col()
    updated_at: datetime = _time_col()


class Job(SQLModel, table=True):
    """The durable job queue."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_claim", "state", "priority", "run_at", "id"),
        sa.Index(
            "uq_jobs_active_key",
            "unique_key",
            unique=True,
            sqlite_where=sa.text("state IN ('queued', 'running')"),
            postgresql_where=sa.text("state IN ('queued', 'running')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    payload: Any = _json_col(nullable=False)
    state: str = Field(default="queued", max_length=16)
    priority: int = 100
    attempts: int = 0
    max_attempts: int = 5
    run_at: datetime = _time_col()
    unique_key: str | None = Field(default=None, max_length=300)
    user_id: str | None = Field(default=None, max_length=200)
    lease_token: str | None = Field(default=None, max_length=64)
    locked_by: str | None = Field(default=None, max_length=200)
    locked_until: datetime | None = _time_col(nullable=True, default=False)
    last_error: str | None = Field(default=None, sa_column=Column(sa.Text))
    result: Any = _json_col()
    acknowledged: bool = False
    created_at: datetime = _time_col()
    updated_at: datetime = _time_col()
    finished_at: datetime | None = _time_col(nullable=True, default=False)


class WorkerHeartbeat(SQLModel, table=True):
    """The last sign of life of each worker, for `agentcal status`."""

    __tablename__ = "worker_heartbeats"

    worker_id: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=64)
    hostname: str | None = Field(default=None, max_length=200)
    pid: int | None = None
    started_at: datetime = _time_col()
    last_seen: datetime = _time_col()
    jobs_done: int = 0
    jobs_failed: int = 0
    # running | stopped (said goodbye) | vanished (died without a goodbye) | gone (replaced,
    # or its alert acknowledged)
    state: str = Field(default="running", max_length=16)
    current_job_id: int | None = None
    heartbeat_seconds: float | None = None  # its beat interval: stale after three missed beats


class Alert(SQLModel, table=True):
    """Something a person should look at: a dead job, a stale worker, quota exhaustion."""

    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = _time_col(index=True)
    level: str = Field(default="error", max_length=16)
    source: str = Field(max_length=64)
    message: str = Field(sa_column=Column(sa.Text, nullable=False))
    job_id: int | None = None
    acknowledged_at: datetime | None = _time_col(nullable=True, default=False)
    # What it is about, one open alert per subject: process:<host>:<pid>, lease:<job>:<attempt>
    subject: str | None = Field(default=None, max_length=200, index=True)


class ChatSession(SQLModel, table=True):
    """A named chat session; its messages live in the LangGraph checkpoint store."""

    __tablename__ = "chat_sessions"
    __table_args__ = (sa.UniqueConstraint("user_id", "name", name="uq_chat_session_name"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=200)
    name: str = Field(max_length=200)
    thread_id: str = Field(max_length=64, unique=True)
    created_at: datetime = _time_col()
    last_used_at: datetime = _time_col()


class ChatThread(SQLModel, table=True):
    """Every conversation (LangGraph thread) a chat session has had, with the session's name:
    `chat_sessions` points each name at its current thread only, and a thread replaced by
    `--new`, `/new` or the next one-off `chat -m` keeps its name here (`costs --by session`,
    `sessions list`, `logs list --session`)."""

    __tablename__ = "chat_threads"
    __table_args__ = (sa.Index("ix_chat_threads_name", "user_id", "name", "thread_id"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(max_length=200)
    name: str = Field(max_length=200)
    thread_id: str = Field(max_length=64, unique=True)
    created_at: datetime = _time_col()


class UserProfile(SQLModel, table=True):
    """One person on this installation: their time zone, calendar and budget.

    Secrets (the Google token, the CalDAV password) are never stored here: they live in the
    person's own 0600 files in the data dir (agentcal.user_files). A user without a row gets the
    installation's defaults (agentcal.users.profiles explains which)."""

    __tablename__ = "user_profiles"

    user_id: str = Field(primary_key=True, max_length=128)
    display_name: str | None = Field(default=None, max_length=200)
    timezone: str = Field(max_length=64)
    calendar: str = Field(default="local", max_length=16)  # local | google | caldav | none
    google_calendar_id: str | None = Field(default=None, max_length=1024)
    caldav_url: str | None = Field(default=None, max_length=2048)
    caldav_username: str | None = Field(default=None, max_length=200)
    caldav_calendar: str | None = Field(default=None, max_length=200)
    daily_budget_usd: float | None = None
    created_at: datetime = _time_col()
    updated_at: datetime = _time_col()


class UserSyncHealth(SQLModel, table=True):
    """How each person's calendar syncs are going (`agentcal status`): written by every
    `calendar_sync` job for its own event."""

    __tablename__ = "user_sync_health"

    user_id: str = Field(primary_key=True, max_length=128)
    backend: str | None = Field(default=None, max_length=16)
    last_success_at: datetime | None = _time_col(nullable=True, default=False)
    failing_since: datetime | None = _time_col(nullable=True, default=False)
    last_failure_at: datetime | None = _time_col(nullable=True, default=False)
    last_error: str | None = Field(default=None, sa_column=Column(sa.Text))
    failures: int = 0  # consecutive failed syncs since the last success
    updated_at: datetime = _time_col()
