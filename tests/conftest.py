"""Every test gets its own data dir (AGENTCAL_HOME) with a freshly migrated SQLite store.

The schema is built once per test session and copied, so tests don't pay for Alembic each time.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Variables that would leak the developer's own configuration into tests.
_ISOLATE = ("OPENAI_API_KEY", "OPENAI_BASE_URL")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agentcal.db import dispose_engines, get_engine

    path = tmp_path_factory.mktemp("template") / "agentcal.db"
    get_engine(f"sqlite:///{path}")
    dispose_engines()
    return path


@pytest.fixture(autouse=True)
def agentcal_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, template_db: Path
) -> Iterator[Path]:
    from agentcal.db import dispose_engines
    from agentcal.settings import reset_settings

    for name in list(os.environ):
        if name.startswith("AGENTCAL_") or name in _ISOLATE:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    shutil.copy(template_db, home / "agentcal.db")
    os.chmod(home / "agentcal.db", 0o600)
    monkeypatch.setenv("AGENTCAL_HOME", str(home))
    monkeypatch.setenv("AGENTCAL_USER", "alice")
    monkeypatch.setenv("AGENTCAL_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("COLUMNS", "200")  # Rich tables render at a fixed, wide width
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    reset_settings()
    dispose_engines()
    yield home
    dispose_engines()
    reset_settings()


@pytest.fixture
def engine(agentcal_home: Path):  # type: ignore[no-untyped-def]
    from agentcal.db import get_engine

    return get_engine()


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    """Run the CLI in-process: cli("insights", "list") -> Result."""
    from typer.testing import CliRunner

    from agentcal.cli.main import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        from agentcal.settings import reset_settings

        reset_settings()
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return run


def db_snapshot(home: Path) -> bytes:
    """The store's logical content (every table's rows), to prove a rejected input wrote nothing."""
    import sqlite3

    conn = sqlite3.connect(home / "agentcal.db")
    try:
        return "\n".join(conn.iterdump()).encode()
    finally:
        conn.close()


@pytest.fixture
def snapshot(agentcal_home: Path):  # type: ignore[no-untyped-def]
    return lambda: db_snapshot(agentcal_home)


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for running `python -m agentcal` in a child process from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env
