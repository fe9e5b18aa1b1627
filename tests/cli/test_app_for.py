"""`main()` builds only the command a run names first (`cli.main.app_for`): every output,
error and exit code must be the whole app's."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from agentcal.cli.main import app, app_for
from agentcal.settings import reset_settings
from tests.cli.test_startup import _every_command_path
from tests.conftest import subprocess_env

PATHS = _every_command_path()
# Read-only runs that succeed, and runs every command refuses (usage errors: exit 2).
RUNS = [
    ["events", "list"], ["events", "list", "--json"], ["prefs", "list"], ["insights", "list"],
    ["logs", "list"], ["jobs", "list"], ["alerts", "list"], ["sessions", "list"], ["costs"],
    ["costs", "--by", "session"], ["week"], ["users", "list"], ["config", "path"],
    ["events", "lst"], ["events"], ["events", "list", "--days", "many"],
    ["events", "list", "--days", "99999999999"], ["chat", "-m"], ["chat", "--json"],
    ["insights", "show"], ["logs", "show", "x"], ["emit", "--days", "0"], ["costs", "--by", "x"],
    ["chat", "-m", "hi", "\x01"], ["status", "extra"], ["users", "add"],
]  # fmt: skip


def _both(args: list[str]) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    out = []
    for which in (app_for(args), app):
        reset_settings()
        r = CliRunner().invoke(which, args, catch_exceptions=False)
        out.append((r.exit_code, r.stdout, r.stderr))
    return out[0], out[1]


def test_a_run_gets_only_the_command_it_names():
    for path in PATHS:
        one = app_for([*path, "--help"])
        names = [c.name for c in one.registered_commands] + [g.name for g in one.registered_groups]
        assert names == [path[0]], path
        assert (one.info, one.registered_callback) == (app.info, app.registered_callback)
    assert len(app.registered_commands) + len(app.registered_groups) > 15  # untouched


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--help"],
        ["-h"],
        ["--version"],
        ["-v", "events", "list"],
        ["chta"],
        ["Events"],
        ["--install-completion"],
    ],
)
def test_anything_else_gets_the_whole_app(args):
    assert app_for(args) is app


def test_shell_completion_gets_the_whole_app(monkeypatch):
    monkeypatch.setenv("_AGENTCAL_COMPLETE", "bash_complete")
    assert app_for(["events", "list"]) is app


@pytest.mark.parametrize("flag", ["--help", "-h", "--no-such-option"])
def test_every_command_says_the_same(flag):
    for path in PATHS:
        mine, whole = _both([*path, flag])
        assert mine == whole, path


@pytest.mark.parametrize("args", RUNS, ids=" ".join)
def test_runs_and_refusals_are_the_same(args):
    mine, whole = _both(args)
    assert mine == whole


RUN = """import sys
from agentcal.cli import main
which = sys.argv.pop(1)
sys.argv[0] = "agentcal"
main.main() if which == "main" else main.app()
"""


def test_main_uses_it():
    """`agentcal` (main()) prints what the whole app prints, in a process of its own."""
    for args in (["events", "list", "--help"], ["events", "list", "--days", "many"], ["week"]):
        out = []
        for which in ("main", "app"):
            proc = subprocess.run(
                [sys.executable, "-c", RUN, which, *args],
                capture_output=True, text=True, env=subprocess_env(), timeout=60,
            )  # fmt: skip
            out.append((proc.returncode, proc.stdout, proc.stderr))
        assert out[0] == out[1] and (out[0][1] or out[0][2]), args
