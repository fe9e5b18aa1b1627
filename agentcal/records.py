"""What the read path returns: one immutable record per row, with the model's columns.

A record has exactly the fields of its table's model, in the same order and with the same
values (aware UTC times, decoded JSON, booleans, dates), so `--json` prints what `model_dump()`
printed, and code written against the model reads a record the same way. They are named
tuples: defining and filling them needs neither SQLAlchemy nor pydantic, and costs a quarter of
what frozen dataclasses cost at import (tests/test_reader.py checks that each one matches its
model). `agentcal.reader` converts the stored values by the field types: `datetime`, `date`,
`bool`, and `Any` for JSON.
"""

from __future__ import annotations

from datetime import date, datetime
from types import UnionType
from typing import Any, NamedTuple, Union, get_args, get_origin, get_type_hints


class CallRow(NamedTuple):
    """agent_observability (`AgentObservability`)."""

    id: int
    created_at: datetime
    user_id: str
    session_id: str | None
    agent_run_id: str | None
    agent_action: str | None
    agent_tool: str | None
    llm_provider: str | None
    llm_model: str | None
    llm_prompt_tokens: int | None
    llm_completion_tokens: int | None
    llm_total_tokens: int | None
    llm_cached_tokens: int | None
    tokens_estimated: bool
    llm_cost_usd: float | None
    cost_source: str | None
    cost_note: str | None
    user_message: str | None
    agent_response: str | None
    agent_state: Any
    tool_result: Any
    execution_time_ms: float | None
    intent_category: str | None
    entities: Any
    status: str
    error: str | None


class StepRow(NamedTuple):
    """agent_steps (`AgentStep`)."""

    id: int
    observability_id: int
    seq: int
    run_id: str | None
    parent_run_id: str | None
    step_type: str
    name: str | None
    started_at: datetime
    duration_ms: float | None
    llm_model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    cached_tokens: int | None
    input: Any
    output: Any
    status: str
    error: str | None


class InsightRow(NamedTuple):
    """user_insights (`UserInsight`)."""

    id: int
    user_id: str
    insight_type: str
    category: str
    key: str
    value: Any
    confidence: float
    source: str
    source_request_id: int | None
    times_seen: int
    created_at: datetime
    updated_at: datetime


class InsightHistoryRow(NamedTuple):
    """user_insight_history (`UserInsightHistory`)."""

    id: int
    insight_id: int
    change: str
    value: Any
    confidence: float
    source: str
    source_request_id: int | None
    changed_at: datetime


class PreferenceRow(NamedTuple):
    """calendar_preferences (`CalendarPreference`)."""

    id: int
    user_id: str
    preference_type: str
    title: str
    day_of_week: Any
    interval_weeks: int
    anchor_date: date | None
    start_time: str
    duration_minutes: int
    auto_schedule: bool
    priority: int
    is_flexible: bool
    is_active: bool
    user_edited: bool
    source_insight_id: int | None
    created_at: datetime
    updated_at: datetime


class EventRow(NamedTuple):
    """calendar_events (`CalendarEvent`)."""

    id: int
    uid: str
    user_id: str
    preference_id: int | None
    title: str
    description: str | None
    location: str | None
    local_date: date | None
    start_at: datetime | None
    end_at: datetime | None
    timezone: str
    status: str
    origin: str
    placement_note: str | None
    backend: str | None
    backend_event_id: str | None
    revision: int
    synced_revision: int | None
    sync_note: str | None
    backend_etag: str | None
    created_at: datetime
    updated_at: datetime


class JobRow(NamedTuple):
    """jobs (`Job`)."""

    id: int
    kind: str
    payload: Any
    state: str
    priority: int
    attempts: int
    max_attempts: int
    run_at: datetime
    unique_key: str | None
    user_id: str | None
    lease_token: str | None
    locked_by: str | None
    locked_until: datetime | None
    last_error: str | None
    result: Any
    acknowledged: bool
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class HeartbeatRow(NamedTuple):
    """worker_heartbeats (`WorkerHeartbeat`)."""

    worker_id: str
    kind: str
    hostname: str | None
    pid: int | None
    started_at: datetime
    last_seen: datetime
    jobs_done: int
    jobs_failed: int
    state: str
    current_job_id: int | None
    heartbeat_seconds: float | None


class AlertRow(NamedTuple):
    """alerts (`Alert`)."""

    id: int
    created_at: datetime
    level: str
    source: str
    message: str
    job_id: int | None
    acknowledged_at: datetime | None
    subject: str | None


class ChatSessionRow(NamedTuple):
    """chat_sessions (`ChatSession`)."""

    id: int
    user_id: str
    name: str
    thread_id: str
    created_at: datetime
    last_used_at: datetime


class ChatThreadRow(NamedTuple):
    """chat_threads (`ChatThread`)."""

    id: int
    user_id: str
    name: str
    thread_id: str
    created_at: datetime


class ProfileRow(NamedTuple):
    """user_profiles (`UserProfile`)."""

    user_id: str
    display_name: str | None
    timezone: str
    calendar: str
    google_calendar_id: str | None
    caldav_url: str | None
    caldav_username: str | None
    caldav_calendar: str | None
    daily_budget_usd: float | None
    created_at: datetime
    updated_at: datetime


def field_types(record: Any) -> dict[str, Any]:
    """Each field of a record class and its type, `X | None` read as X: what the read path
    converts a stored value to and the write path encodes it from."""
    out: dict[str, Any] = {}
    hints = get_type_hints(record)
    for name in record._fields:
        hint = hints[name]
        if get_origin(hint) in (Union, UnionType):  # X | None
            hint = next(a for a in get_args(hint) if a is not type(None))
        out[name] = hint
    return out
