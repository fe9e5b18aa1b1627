"""`agentcal --help` stays fast: no heavy library on its import path."""

import json
import subprocess
import sys

import pytest

from tests.conftest import subprocess_env

HEAVY = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "langchain",
    "langchain_core",
    "langchain_openai",
    "langgraph",
    "googleapiclient",
    "apscheduler",
    "pydantic_settings",
    "genai_prices",
    "openai",
    "icalendar",
    "caldav",
    "opentelemetry",
    "mcp",
    "mcp_types",
    "anyio",
)

PROBE = """
import sys, json
sys.argv = ["agentcal"] + json.loads(sys.argv[1])
from agentcal.cli.main import main
try:
    main()
except SystemExit:
    pass
print("\\n" + json.dumps(sorted(m for m in sys.modules)), file=sys.stderr)
"""


def _probe(args: list[str]) -> tuple[set[str], str]:
    """The modules loaded by running `agentcal ARGS`, and what it printed."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    return set(json.loads(proc.stderr.strip().splitlines()[-1])), proc.stdout


def _modules_after(args: list[str]) -> set[str]:
    return _probe(args)[0]


def test_help_imports_no_heavy_library():
    loaded = _modules_after(["--help"])
    assert "agentcal.cli.main" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_group_help_imports_no_heavy_library():
    for group in (
        "insights", "prefs", "config", "db", "auth", "calendar", "chat", "costs", "logs",
        "jobs", "events", "alerts", "emit", "daemon", "status", "mcp",
    ):  # fmt: skip
        loaded = _modules_after([group, "--help"])
        heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
        assert heavy == [], group


def test_python_m_agentcal_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "agentcal", "--version"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("agentcal ")


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "args", [["insights", "list"], ["insights", "list", "--json"], ["costs", "--by", "model"]]
)
def test_read_commands_skip_sqlalchemy_on_the_default_store(agentcal_home, args):
    """The list and report commands read the migrated SQLite store with the stdlib sqlite3
    module (agentcal/sqlite_reader.py): SQLAlchemy's import is half their start-up time."""
    from agentcal.services.user_insights import user_insights_service

    user_insights_service.create_insight(
        user_id="alice", insight_type="habit", category="health", key="gym", value="06:00"
    )
    loaded, out = _probe(args)
    assert ("06:00" in out) if args[0] == "insights" else ("Costs for alice" in out)
    assert sorted(m for m in loaded if m.split(".")[0] in ("sqlalchemy", "sqlmodel")) == []
