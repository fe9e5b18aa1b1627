"""Migrations build the schema the models describe, on a blank database and from a wheel."""

import json
import sqlite3
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from agentcal.db import SCHEMA_HEAD, alembic_config, current_revision, make_engine, upgrade_schema

ROOT = Path(__file__).resolve().parent.parent


def test_blank_database_upgrades_to_head_and_matches_models(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlmodel import SQLModel

    engine = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
    assert current_revision(engine) is None
    assert upgrade_schema(engine) == SCHEMA_HEAD

    script = ScriptDirectory.from_config(alembic_config(engine))
    assert script.get_current_head() == SCHEMA_HEAD

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, SQLModel.metadata)
    assert diff == []
    engine.dispose()


def test_upgrade_is_idempotent(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'db.db'}")
    upgrade_schema(engine)
    upgrade_schema(engine)
    assert current_revision(engine) == SCHEMA_HEAD
    engine.dispose()


@pytest.mark.sqlite_only
def test_sqlite_connection_settings(engine):
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


@pytest.mark.sqlite_only
def test_seed_columns_exist(engine):
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        cols = {row[1] for row in raw.execute("PRAGMA table_info(agent_observability)")}
    seed = {
        "agent_run_id", "agent_action", "llm_model", "llm_prompt_tokens", "llm_completion_tokens",
        "llm_total_tokens", "llm_cost_usd", "user_message", "agent_response", "agent_state",
        "tool_result", "execution_time_ms", "intent_category", "entities",
    }  # fmt: skip
    assert seed <= cols


def test_db_upgrade_command(cli, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    monkeypatch.setenv("AGENTCAL_DATABASE_URL", url)
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert f"upgraded empty -> {SCHEMA_HEAD}" in result.output
    result = cli("db", "upgrade")
    assert f"already at {SCHEMA_HEAD}" in result.output
    conn = sqlite3.connect(tmp_path / "other.db")
    assert conn.execute("select version_num from alembic_version").fetchone() == (SCHEMA_HEAD,)


def test_a_populated_store_upgrades_from_each_earlier_revision(engine, cli):
    """Every migration after the first runs on a store with data in it (the engine fixture's
    store: SQLite, or PostgreSQL in the postgres run), keeps every row, and downgrades back."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect, text

    from agentcal.db import dispose_engines
    from tests.observability.test_costs_cli import _log

    _log()
    cfg = alembic_config(engine)
    revisions = [r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()][::-1]
    assert revisions[0] == "0001_initial" and revisions[-1] == SCHEMA_HEAD

    def rows() -> int:
        with engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM agent_observability")).scalar_one()

    stored = rows()
    assert stored > 0
    command.downgrade(cfg, "0001_initial")
    assert current_revision(engine) == "0001_initial"
    with engine.connect() as conn:
        indexes = {i["name"] for i in inspect(conn).get_indexes("agent_observability")}
    assert "ix_obs_user_latency" not in indexes
    assert rows() == stored
    # The next command finds the store behind, upgrades it and answers from the same rows.
    dispose_engines()
    result = cli("costs", "--json", "--all-users")
    assert result.exit_code == 0, result.output
    assert current_revision(engine) == SCHEMA_HEAD
    assert rows() == stored
    assert json.loads(result.stdout)["totals"]["calls"] == stored


def test_bad_database_url_is_one_line(cli, monkeypatch):
    monkeypatch.setenv("AGENTCAL_DATABASE_URL", "nosuchdialect://x")
    result = cli("insights", "list")
    assert result.exit_code == 1
    assert result.output.startswith("Error: unusable database URL")
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_migrations_work_from_an_installed_wheel(tmp_path):
    """Build the wheel, install it in a fresh venv without deps re-download, migrate a blank db."""
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(dist.glob("agentcal-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    py = venv / "bin" / "python"
    # The dependencies come from this environment's site-packages, listed *after* the new venv's
    # own (a .pth line), so the freshly installed wheel, not this checkout, is what gets imported.
    new_site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(new_site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    home = tmp_path / "home"
    env = {"AGENTCAL_HOME": str(home), "PATH": "/usr/bin:/bin", "AGENTCAL_USER": "w"}
    code = (
        "import agentcal.db as d; print(d.migrations_dir());"
        "from agentcal.db import get_engine, current_revision; print(current_revision(get_engine()))"
    )
    proc = subprocess.run(
        [str(py), "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    where, revision = proc.stdout.split()
    assert "site-packages/agentcal/_migrations" in where
    assert revision == SCHEMA_HEAD


@pytest.mark.postgres
def test_postgres_blank_database_upgrades_to_head_and_matches_models(pg_server):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    pg_server.drop_database("blank_migration_test")
    engine = make_engine(pg_server.create_database("blank_migration_test"))
    assert current_revision(engine) is None
    assert upgrade_schema(engine) == SCHEMA_HEAD
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, SQLModel.metadata) == []
        indexes = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_jobs_active_key'"
        ).scalar()
    assert "WHERE" in indexes and "queued" in indexes
    engine.dispose()
