"""Every test gets its own data dir (AGENTCAL_HOME) with a freshly migrated store.

By default the store is SQLite: the schema is built once per test session and the file copied,
so tests don't pay for Alembic each time. With AGENTCAL_TEST_DATABASE=postgres the same tests
run on a real PostgreSQL server started for the session (tests/pgserver.py): each test gets a
fresh database cloned from a migrated template. Tests marked `sqlite_only` are skipped there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Variables that would leak the developer's own configuration into tests (and OTEL_*: a
# developer's collector must not receive the tests' traces).
_ISOLATE = ("OPENAI_API_KEY", "OPENAI_BASE_URL")
TEST_DATABASE = os.environ.get("AGENTCAL_TEST_DATABASE", "sqlite")
ON_POSTGRES = TEST_DATABASE == "postgres"
_db_counter = 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="SQLite-specific (AGENTCAL_TEST_DATABASE=postgres)")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def pg_server():  # type: ignore[no-untyped-def]
    """A PostgreSQL server for this test process (only started when a test asks for it)."""
    from tests.pgserver import PostgresServer, find_bindir

    if find_bindir() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is required in CI (.ci/run installs Debian's postgresql)")
        pytest.skip("PostgreSQL is not installed here (.ci/run installs it)")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_template(pg_server) -> str:  # type: ignore[no-untyped-def]
    """A migrated database that each test's database is cloned from."""
    from agentcal.db import dispose_engines, get_engine

    get_engine(pg_server.create_database("agentcal_template"))
    dispose_engines()
    return "agentcal_template"


def _fresh_pg_database(request: pytest.FixtureRequest) -> str:
    global _db_counter
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    _db_counter += 1
    name = f"t{os.getpid()}_{_db_counter}"
    url = server.create_database(name, template=template)
    request.addfinalizer(lambda: server.drop_database(name))
    return url


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Radicale CalDAV server on 127.0.0.1 for this test process; yields its base URL."""
    from tests.radicale_server import radicale_server

    with radicale_server(tmp_path_factory.mktemp("radicale")) as url:
        yield url


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agentcal.db import dispose_engines, get_engine

    path = tmp_path_factory.mktemp("template") / "agentcal.db"
    get_engine(f"sqlite:///{path}")
    dispose_engines()
    return path


@pytest.fixture(autouse=True)
def agentcal_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Path]:
    from agentcal.calendars import outages
    from agentcal.db import dispose_engines
    from agentcal.planning import push as calendar_push
    from agentcal.settings import reset_settings

    for name in list(os.environ):
        if name.startswith(("AGENTCAL_", "OTEL_")) or name in _ISOLATE:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    if ON_POSTGRES and "sqlite_only" not in request.keywords:
        monkeypatch.setenv("AGENTCAL_DATABASE_URL", _fresh_pg_database(request))
    else:
        shutil.copy(request.getfixturevalue("template_db"), home / "agentcal.db")
        os.chmod(home / "agentcal.db", 0o600)
    monkeypatch.setenv("AGENTCAL_HOME", str(home))
    monkeypatch.setenv("AGENTCAL_USER", "alice")
    monkeypatch.setenv("AGENTCAL_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("COLUMNS", "200")  # Rich tables render at a fixed, wide width
    # An unexpected exception reaches the test with its traceback (a user gets one line).
    monkeypatch.setenv("AGENTCAL_DEBUG", "1")
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout
    reset_settings()
    dispose_engines()
    outages.clear()  # a calendar server one test took down is not down for the next
    calendar_push.forget_changes()  # another test's users have no calendar file here
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
    url = os.environ.get("AGENTCAL_DATABASE_URL")
    if url:
        return _sqlalchemy_dump(url)
    import sqlite3

    conn = sqlite3.connect(home / "agentcal.db")
    try:
        return "\n".join(conn.iterdump()).encode()
    finally:
        conn.close()


_dump_engine: list = []  # [(url, engine)]: one reused engine for the current test's database


def _sqlalchemy_dump(url: str) -> bytes:
    from sqlalchemy import create_engine, select
    from sqlmodel import SQLModel

    import agentcal.models  # noqa: F401

    if not _dump_engine or _dump_engine[0][0] != url:
        while _dump_engine:
            _dump_engine.pop()[1].dispose()
        _dump_engine.append((url, create_engine(url)))
    engine = _dump_engine[0][1]
    out = []
    with engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out.append(f"{table.name}: {[tuple(r) for r in rows]!r}")
    return "\n".join(out).encode()


@pytest.fixture
def snapshot(agentcal_home: Path):  # type: ignore[no-untyped-def]
    return lambda: db_snapshot(agentcal_home)


def subprocess_env(**extra: str) -> dict[str, str]:
    """Environment for running `python -m agentcal` in a child process from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env
