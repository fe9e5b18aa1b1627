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


def _every_command_path() -> list[list[str]]:
    import typer.main

    from agentcal.cli.main import app

    out: list[list[str]] = []

    def walk(cmd, path):  # type: ignore[no-untyped-def]
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            out.append([*path, name])
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


def test_every_subcommand_help_imports_no_heavy_library_nor_pydantic():
    """Not even pydantic: Typer would import it to coerce the unset options on the way."""
    paths = _every_command_path()
    assert ["events", "list"] in paths and ["sessions", "list"] in paths
    for path in paths:
        loaded = _modules_after([*path, "--help"])
        heavy = sorted(m for m in loaded if m.split(".")[0] in (*HEAVY, "pydantic"))
        assert heavy == [], path


def test_the_direct_help_is_the_usual_help(cli, monkeypatch):
    from agentcal.cli import main

    for path in _every_command_path():
        for flag in ("--help", "-h"):
            direct = cli(*path, flag)
            monkeypatch.setattr(main, "print_help_directly", lambda *a: False)
            usual = cli(*path, flag)
            monkeypatch.undo()
            assert (direct.exit_code, direct.stdout) == (usual.exit_code, usual.stdout), path
            assert direct.exit_code == 0 and "Usage: " in direct.stdout


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


READ_COMMANDS = [
    ["insights", "list"], ["insights", "list", "--json"], ["insights", "show", "health/gym"],
    ["costs", "--by", "model"], ["costs", "--by", "session"], ["events", "list"],
    ["events", "list", "--json"], ["prefs", "list"], ["logs", "list"], ["logs", "show", "1"],
    ["jobs", "list"], ["jobs", "show", "1"], ["alerts", "list"], ["status"],
    ["sessions", "list"], ["week"], ["week", "--json"],
]  # fmt: skip


@pytest.mark.sqlite_only
@pytest.mark.parametrize("args", READ_COMMANDS, ids=" ".join)
def test_read_commands_skip_sqlalchemy_on_the_default_store(agentcal_home, args):
    """The read-only commands read the migrated SQLite store with the stdlib sqlite3 module
    (agentcal/reader.py) and the few settings they need without pydantic-settings
    (agentcal/basics.py): those imports are most of a command's start-up time."""
    from datetime import UTC, datetime

    from agentcal.insights.user_insights import user_insights_service
    from agentcal.observability.calls import agent_observability_service
    from agentcal.planning.events import calendar_events_service
    from agentcal.queue.jobs import job_queue
    from agentcal.users.chat_sessions import chat_sessions_service

    user_insights_service.create_insight(
        user_id="alice", insight_type="habit", category="health", key="gym", value="06:00"
    )
    thread = chat_sessions_service.open_session("alice", "work").thread_id
    agent_observability_service.log_agent_call(user_id="alice", session_id=thread,
                                               user_message="hello", llm_model="gpt-4o-mini")  # fmt: skip
    calendar_events_service.create_event(user_id="alice", title="Dentist",
                                         start=datetime.now(UTC), duration_minutes=30)  # fmt: skip
    job_queue.enqueue("emit_preference_events", {"user_id": "alice", "days_ahead": 7})
    loaded, out = _probe(args)
    assert out.strip(), args
    slow = ("sqlalchemy", "sqlmodel", "pydantic_settings", "alembic", "pygments", "pydantic")
    assert sorted(m for m in loaded if m.split(".")[0] in slow) == []


CHAT_READS = [
    "hello", "what's on tomorrow?", "when am I free on friday?", "find the dentist",
]  # fmt: skip


@pytest.mark.sqlite_only
@pytest.mark.parametrize("text", CHAT_READS)
def test_offline_chat_turns_that_only_read_skip_sqlalchemy_and_openai(agentcal_home, text):
    """`chat -m` with the offline model on the default store: a turn that only reads the
    calendar imports neither SQLAlchemy/SQLModel (the store is read and the turn recorded with
    the stdlib sqlite3 module, ~0.35 s of imports saved) nor anything OpenAI, nor
    `langchain.agents` (agentcal builds its own graph)."""
    from datetime import UTC, datetime, timedelta

    from agentcal.planning.events import calendar_events_service

    calendar_events_service.create_event(user_id="alice", title="Dentist",
                                         start=datetime.now(UTC) + timedelta(days=1),
                                         duration_minutes=30)  # fmt: skip
    loaded, out = _probe(["chat", "-m", text, "--user", "alice"])
    assert out.strip(), text
    slow = ("sqlalchemy", "sqlmodel", "alembic")
    assert sorted(m for m in loaded if m.split(".")[0] in slow) == []
    assert _unwanted(loaded) == []


@pytest.mark.sqlite_only
def test_offline_chat_builds_the_tool_schemas_only_when_a_tool_runs():
    """A turn that calls no tool builds none of the tools' pydantic schemas (agentcal.agent.graph
    builds them on first use); one that does still imports nothing OpenAI."""
    loaded, out = _probe(["chat", "-m", "hello"])
    assert "offline model" in out
    assert "agentcal.agent.graph" in loaded and "agentcal.agent.tools" not in loaded

    loaded, out = _probe(["chat", "-m", "lunch with Ana tomorrow at 1pm"])
    assert "Lunch with Ana" in out and "agentcal.agent.tools" in loaded
    assert _unwanted(loaded) == []


def _unwanted(loaded: set[str]) -> list[str]:
    """OpenAI's client, LangChain's agents (`langchain`, not `langchain_core`), ToolNode's
    package and LangChain's chat model module (the offline model is a plain Runnable)."""
    packages = ("openai", "langchain_openai", "langchain")
    modules = ("langgraph.prebuilt", "langchain_core.language_models.chat_models")
    return sorted(m for m in loaded if m.split(".")[0] in packages or m.startswith(modules))
