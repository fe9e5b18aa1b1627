"""Every list command at 80 and 120 columns: no line wider than the terminal, and no id, date,
title or cost cut to an ellipsis when it fits (free text such as a message may be cut)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentcal.health.monitoring import monitoring_service
from agentcal.insights.user_insights import user_insights_service
from agentcal.observability.calls import agent_observability_service
from agentcal.planning.events import calendar_events_service
from agentcal.planning.preferences import calendar_preferences_service
from agentcal.queue.jobs import job_queue
from agentcal.users.chat_sessions import chat_sessions_service

TITLES = ["Dentist with Dr. Okafor", "Quarterly planning review", "Coffee with Ana"]
LONG_MESSAGE = "Please find me a slot for the quarterly planning review " * 4


def _local(value: datetime, fmt: str) -> str:
    from zoneinfo import ZoneInfo

    return value.astimezone(ZoneInfo("Europe/Paris")).strftime(fmt)


def _short_when(value: datetime) -> str:
    from agentcal.cli.render import when

    return when(value)


def _data() -> dict[str, list[str]]:
    """Rows for every list, and per command the cells that must appear whole."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    expect: dict[str, list[str]] = {}
    events = []
    for i, title in enumerate(TITLES):
        start = now + timedelta(days=1, hours=i)
        events.append(calendar_events_service.create_event(
            user_id="alice", title=title, start=start, duration_minutes=45,
            timezone="Europe/Paris",
            placement_note="moved 30 min later: “Team sync” at 09:00 overlaps" if i == 1 else None,
        ))  # fmt: skip
    expect["events list"] = (
        [str(e.id) for e in events]
        + TITLES
        + [
            _local(e.start_at, "%a %d %b")
            for e in events  # type: ignore[arg-type]
        ]
        + [_local(e.start_at, "%H:%M") + "–" + _local(e.end_at, "%H:%M") for e in events]
    )  # type: ignore[arg-type]
    pref = calendar_preferences_service.create_preference(
        user_id="alice", preference_type="gym", title="Morning strength training",
        start_time="06:00", duration_minutes=60, day_of_week=[1, 2, 3, 4, 5],
    )  # fmt: skip
    club = calendar_preferences_service.create_preference(
        user_id="alice", preference_type="event", title="Book club", start_time="19:00",
        duration_minutes=90, day_of_week=[3], interval_weeks=2,
        anchor_date=(now + timedelta(days=30)).date(),
    )  # fmt: skip
    # "Wed every 2 weeks from <date>" wraps inside its column: its parts stay whole.
    every = ["Wed every 2 weeks", str(club.anchor_date)]
    expect["prefs list"] = [str(pref.id), "Morning strength training", "weekdays", "06:00", *every]
    insight = user_insights_service.create_insight(
        user_id="alice", insight_type="habit", category="health", key="gym_time",
        value={"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5]},
    )  # fmt: skip
    expect["insights list"] = [str(insight.id), "health/gym_time", "weekdays 06:00, 60 min"]
    thread = chat_sessions_service.open_session("alice", "planning").thread_id
    calls = []
    for i, (model, cost) in enumerate((("gpt-4o-mini", 0.00031), ("gpt-4o", 0.0123))):
        calls.append(agent_observability_service.log_agent_call(
            user_id="alice", session_id=thread, user_message=LONG_MESSAGE, llm_model=model,
            llm_prompt_tokens=1200, llm_completion_tokens=80, llm_cost_usd=cost,
            execution_time_ms=1234.0, created_at=now - timedelta(minutes=5 - i),
        ))  # fmt: skip
    costs = ["$0.0003", "$0.0123"]
    expect["logs list"] = (
        [str(c.id) for c in calls] + costs + [_short_when(c.created_at) for c in calls]
    )
    expect["logs list --all-users"] = expect["logs list"]
    expect["costs --by model"] = ["gpt-4o-mini", "gpt-4o", *costs]
    expect["costs --by session"] = ["planning", "$0.0126"]
    expect["sessions list"] = ["planning", "$0.0126"]
    job = job_queue.enqueue(
        "emit_preference_events", {"user_id": "alice", "days_ahead": 7}, user_id="alice"
    )
    expect["jobs list"] = [str(job.id), "emit_preference_events", "queued"]
    alert = monitoring_service.raise_alert(
        "job 12 is dead after 5 attempts: the calendar answered HTTP 503 every time",
        source="jobs", job_id=12,
    )  # fmt: skip
    assert alert is not None
    expect["alerts list"] = [str(alert.id), "job 12 is dead after 5 attempts", "HTTP 503"]
    from agentcal.health.sync_health import sync_health

    sync_health.record("alice", "caldav", error="cannot reach the CalDAV server at 127.0.0.1:5")
    expect["status"] = [*expect["alerts list"], "alice", "caldav", "calendar syncs failing"]
    expect["users list"] = ["alice", "Europe/Paris", "local"]
    return expect


COMMANDS = [
    "events list", "prefs list", "insights list", "logs list", "logs list --all-users",
    "jobs list", "alerts list", "status", "costs --by model", "costs --by session",
    "sessions list", "users list",
]  # fmt: skip


@pytest.mark.parametrize("width", [80, 120])
def test_every_list_fits_and_keeps_its_key_cells(cli, monkeypatch, width):
    expect = _data()
    monkeypatch.setenv("COLUMNS", str(width))
    for command in COMMANDS:
        result = cli(*command.split())
        assert result.exit_code in (0, 1), command  # status: 1 when unhealthy
        lines = result.stdout.splitlines()
        assert max(len(line.rstrip()) for line in lines) <= width, (command, result.stdout)
        text = "\n".join(line.rstrip() for line in lines)
        for cell in expect[command]:
            # A title may wrap at a space, never lose characters: compare without line breaks.
            flat = " ".join(text.split())
            assert cell in text or " ".join(cell.split()) in flat, (command, width, cell, text)


def test_a_long_message_is_cut_not_wrapped(cli, monkeypatch):
    _data()
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("logs", "list").stdout
    rows = [line for line in out.splitlines() if "Please find me" in line]
    assert len(rows) == 2 and all(line.rstrip().endswith("…") for line in rows)


def test_insight_values_read_as_words():
    from agentcal.cli.render import insight_value, money

    assert insight_value({"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5]}) == (
        "weekdays 06:00, 60 min"
    )
    assert insight_value({"title": "Lunch", "time": "13:00", "flexible": True}) == "Lunch ~13:00"
    assert insight_value({"time": "22:30", "days": [6, 7], "priority": 2}) == (
        "weekends 22:30, priority 2"
    )
    assert insight_value({"max_per_day": 3}) == "max per day 3"
    assert insight_value(["a", 1, None, True]) == "a, 1, -, yes"
    assert [money(v) for v in (None, 0, 0.00031, 0.00004, 0.5, 12.345)] == [
        "-", "$0", "$0.0003", "<$0.0001", "$0.5000", "$12.35",
    ]  # fmt: skip
