"""`agentcal --help` stays fast: no heavy library on its import path."""

import json
import subprocess
import sys

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


def _modules_after(args: list[str]) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=60,
    )
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_help_imports_no_heavy_library():
    loaded = _modules_after(["--help"])
    assert "agentcal.cli.main" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert heavy == []


def test_group_help_imports_no_heavy_library():
    for group in (
        "insights", "prefs", "config", "db", "auth", "calendar", "chat", "costs", "logs",
        "jobs", "events", "alerts", "emit", "daemon", "status",
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
