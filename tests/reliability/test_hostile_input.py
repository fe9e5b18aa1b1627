"""Hostile input: generated insight bodies, preference edits and CLI argument lists.

Whatever comes in, no traceback escapes, and a rejected input leaves the store exactly as it
was: the same rows, and (on SQLite) the same bytes in the database and WAL files.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentcal.errors import AgentcalError
from agentcal.insights.user_insights import InsightBody, user_insights_service
from agentcal.planning.preferences import calendar_preferences_service as prefs
from agentcal.vocab import INSIGHT_CATEGORIES, INSIGHT_TYPES, PREFERENCE_TYPES
from tests.conftest import db_snapshot

# 3 x 400 = 1,200 generated inputs on SQLite; the PostgreSQL run repeats a quarter of them.
SETTINGS = settings(
    max_examples=100 if os.environ.get("AGENTCAL_TEST_DATABASE") == "postgres" else 400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)

json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
nasty_text = st.sampled_from(
    [
        "",
        " ",
        "x" * 300,
        "'; DROP TABLE user_insights; --",
        "[bold]x[/bold]",
        "\x00",
        "é🙂",
        "health/gym",
    ]
) | st.text(max_size=30)


def _state(home: Path) -> tuple[bytes, str]:
    raw = hashlib.sha256()
    if not os.environ.get("AGENTCAL_DATABASE_URL"):
        for name in ("agentcal.db", "agentcal.db-wal"):
            path = home / name
            if path.exists():
                raw.update(path.read_bytes())
    return db_snapshot(home), raw.hexdigest()


insight_bodies = st.fixed_dictionaries(
    {},
    optional={
        "insight_type": st.sampled_from(INSIGHT_TYPES) | nasty_text | st.integers(),
        "category": st.sampled_from(INSIGHT_CATEGORIES) | nasty_text,
        "key": st.sampled_from(["gym_time", "sleep"]) | nasty_text | st.integers(),
        "value": json_values | st.just({1, 2}) | st.just(float("nan")),
        "confidence": st.floats()
        | st.integers()
        | st.sampled_from([0.0, 0.5, 1.0])
        | nasty_text
        | st.none(),
        "user_id": nasty_text,
        "extra": json_values,
    },
)


@SETTINGS
@given(body=insight_bodies)
def test_generated_insight_bodies(body, agentcal_home):
    before = _state(agentcal_home)
    try:
        parsed = InsightBody.parse(body)
        user_insights_service.upsert_insight(user_id="alice", source="agent", **parsed.as_dict())
    except AgentcalError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert _state(agentcal_home) == before
    else:
        assert set(body) == {"insight_type", "category", "key", "value", "confidence"}


preference_edits = st.dictionaries(
    st.sampled_from(
        ["preference_type", "title", "day_of_week", "start_time", "duration_minutes", "priority",
         "is_flexible", "auto_schedule", "is_active", "colour"]
    ),
    st.sampled_from(PREFERENCE_TYPES) | nasty_text | st.integers(-5, 2000) | st.booleans() | st.none()
    | st.lists(st.integers(-1, 9), max_size=8) | st.floats() | st.sampled_from(["06:00", "23:59", "24:00", "6:5"]),
    max_size=4,
)  # fmt: skip


@SETTINGS
@given(edit=preference_edits)
def test_generated_preference_edits(edit, agentcal_home):
    existing = prefs.list_preferences("alice")
    pref = existing[0] if existing else prefs.create_preference(
        user_id="alice", preference_type="gym", start_time="06:00", duration_minutes=60
    )  # fmt: skip
    before = _state(agentcal_home)
    try:
        prefs.update_preference("alice", pref.id, **edit)
    except AgentcalError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert _state(agentcal_home) == before


cli_args = st.lists(
    st.sampled_from(
        ["insights", "prefs", "list", "show", "set", "delete", "add", "edit", "remove", "enable",
         "disable", "--json", "--user", "--at", "--days", "-d", "-p", "--type", "-c", "--confidence",
         "health", "gym", "gym_time", "1", "0", "-1", "99", "06:00", "25:00", "weekdays", "funday",
         "{", '{"time": "06:00"}', "[bold]", "'; DROP TABLE jobs; --", "", "config", "path", "db",
         "jobs", "events", "emit", "costs", "logs", "calendar", "status", "alerts", "update",
         "retry", "purge", "ack", "export", "busy", "--state", "dead", "--kind", "--since", "7d",
         "--until", "--by", "model", "--csv", "--all", "--all-users", "--dry-run", "--limit",
         "--older-than", "/nonexistent/x.ics", "42", "2026-02-30", "-u", "bob"]
    ),
    min_size=1,
    max_size=7,
)  # fmt: skip


@SETTINGS
@given(args=cli_args)
def test_generated_cli_argument_lists(args, agentcal_home):
    from typer.testing import CliRunner

    from agentcal.cli.main import app

    before = _state(agentcal_home)
    result = CliRunner().invoke(app, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args,
        result.exception,
    )
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        assert _state(agentcal_home) == before, args
        if result.exit_code == 1:
            assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


@pytest.mark.sqlite_only
def test_example_counts_add_up_to_over_a_thousand():
    # Three generated suites above, each SETTINGS.max_examples inputs.
    assert 3 * SETTINGS.max_examples >= 1000


@pytest.mark.parametrize(
    "title", ["'; DROP TABLE calendar_preferences; --", "<script>x</script>", "[red]x[/red]"]
)
def test_hostile_titles_are_stored_verbatim(title, cli):
    out = json.loads(
        cli("prefs", "add", "focus", "--at", "09:00", "--title", title, "--json").stdout
    )
    assert prefs.get_preference("alice", out["id"]).title == title
