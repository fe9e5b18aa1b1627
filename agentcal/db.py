"""Engines, sessions and schema upgrades.

SQLite connections get WAL, foreign keys, a busy timeout and `BEGIN IMMEDIATE` (the write lock
is taken when a transaction starts, so concurrent writers queue instead of failing with
"database is locked" halfway through). The schema is upgraded with Alembic on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from agentcal.errors import ConfigError
from agentcal.schema import SCHEMA_HEAD as SCHEMA_HEAD  # the newest migration: see schema.py
from agentcal.schema import migrations_dir as migrations_dir

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session


_engines: dict[str, Engine] = {}
_upgraded: set[str] = set()
_lock = threading.Lock()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str) -> Engine:
    """A new engine for `url`, with SQLite tuned for several processes sharing one file."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        if is_sqlite(url):
            _prepare_sqlite_file(url)
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            _tune_sqlite(engine, event)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigError(f"unusable database URL: {exc}") from None
    except ImportError as exc:
        raise ConfigError(f"the database driver is not installed: {exc}") from None
    return engine


def is_memory_database(url: str) -> bool:
    """A SQLite URL whose data vanishes with the connection."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    database = parsed.database or ""
    return is_sqlite(url) and (
        database in ("", ":memory:")
        or "mode=memory" in database
        or parsed.query.get("mode") == "memory"
    )


def _prepare_sqlite_file(url: str) -> None:
    """Check an existing store file (storecheck: not a link, intact) before anything opens it,
    or create it private from the first byte."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    from agentcal.files import create_private
    from agentcal.storecheck import verify_sqlite_file

    try:
        path = Path(database).expanduser()
    except RuntimeError:  # ~user of an unknown user
        raise ConfigError(
            f"cannot find the home directory in {database}: use a full path"
        ) from None
    verify_sqlite_file(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created here so the file is private from the first byte; a link in its place is
        # refused.
        create_private(
            path,
            what="the database",
            fix="point AGENTCAL_DATABASE_URL at the real file, or remove the link",
        )
    except OSError as exc:
        raise ConfigError(
            f"cannot create the database {path} ({exc.strerror}): set AGENTCAL_HOME or "
            "AGENTCAL_DATABASE_URL to a writable place"
        ) from None


def _tune_sqlite(engine: Engine, event) -> None:  # type: ignore[no-untyped-def]
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy issue BEGIN itself (see _on_begin); pysqlite's implicit BEGIN is deferred.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine(url: str | None = None, *, upgrade: bool = True) -> Engine:
    """The process-wide engine for `url` (default: the settings' URL), schema upgraded."""
    if url is None:
        from agentcal.settings import get_settings

        settings = get_settings()
        if settings.database_url is None:
            settings.ensure_data_dir()
        url = settings.db_url
        if is_memory_database(url):
            raise ConfigError(
                "AGENTCAL_DATABASE_URL is an in-memory database: whatever agentcal wrote would "
                "vanish when the command ends; use a file, e.g. sqlite:////path/to/agentcal.db"
            )
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        if upgrade and url not in _upgraded:
            upgrade_schema(engine)
            _upgraded.add(url)
    return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, forked workers), and the stdlib write path's
    connections (agentcal.writer)."""
    import sys

    writer = sys.modules.get("agentcal.writer")
    if writer is not None:
        writer.close_all()
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _upgraded.clear()


def current_revision(engine: Engine) -> str | None:
    return _revision_and_tables(engine)[0]


def _revision_and_tables(engine: Engine) -> tuple[str | None, bool]:
    """The schema revision, and whether the database holds any other table."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import DBAPIError

    from agentcal.storecheck import describe_failure

    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            revision = None
            if "alembic_version" in tables:
                revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            return revision, bool(tables - {"alembic_version"})
    except DBAPIError as exc:
        where = engine.url.render_as_string(hide_password=True).removeprefix("sqlite:///")
        message = describe_failure(exc, where) or f"cannot open the database: {exc.orig}"
        raise ConfigError(message) from None


def alembic_config(engine: Engine):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["engine"] = engine
    return cfg


def _quiet_alembic() -> None:
    """Alembic logs every migration step at INFO: a first `daemon --once` (INFO logging)
    printed eleven such lines. They still show with AGENTCAL_LOG_LEVEL=DEBUG."""
    import logging
    import os

    logger = logging.getLogger("alembic")
    if (
        logger.level == logging.NOTSET
        and os.environ.get("AGENTCAL_LOG_LEVEL", "").upper() != "DEBUG"
    ):
        logger.setLevel(logging.WARNING)


def upgrade_schema(engine: Engine, revision: str = "head") -> str | None:
    """Apply pending migrations; returns the revision the database is at afterwards.

    A database from a newer agentcal, or one that lost its alembic_version table, is refused
    (storecheck.check_revision) before anything is written; so is an unknown `revision`.
    """
    from agentcal.storecheck import check_revision, known_revisions

    current, has_tables = _revision_and_tables(engine)
    if revision == "head" and current == SCHEMA_HEAD:
        return SCHEMA_HEAD
    _quiet_alembic()  # before alembic is imported: it logs its plugins as it loads them
    where = engine.url.render_as_string(hide_password=True).removeprefix("sqlite:///")
    check_revision(current, has_tables, where)
    if revision not in ("head", "heads") and revision not in known_revisions():
        from agentcal.errors import ValidationError

        raise ValidationError(
            f"unknown revision {revision!r}: use head or one of "
            + ", ".join(sorted(known_revisions()))
        )
    from alembic import command

    command.upgrade(alembic_config(engine), revision)
    return current_revision(engine)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    from sqlmodel import Session

    session = Session(engine or get_engine(), expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
