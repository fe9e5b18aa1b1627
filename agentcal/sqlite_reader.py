"""Read-only access to the default store with the stdlib sqlite3 module, no SQLAlchemy.

Importing SQLAlchemy (and the SQLModel tables) takes about 250 ms, more than half of what a
command like `agentcal insights list` or `agentcal costs` costs. Commands that only read
therefore open the store directly when it is a plain SQLite file already at the schema head;
anything else (PostgreSQL, a URL with options, a file that needs migrating or cannot be
opened) gets `None` and takes the SQLAlchemy path, which migrates as usual.

Values come back in SQLAlchemy's SQLite storage format: times as naive UTC text and JSON as
text (`parse_time` and `parse_json` turn them into what the models hold), booleans as 0/1.
The connection is read-only (`mode=ro`): a read path can never change the store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agentcal.errors import ConfigError


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///path` URL; None for any other URL (or one with options)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :]
    if not path or path == ":memory:" or path.startswith("file:") or any(c in path for c in "?%"):
        return None
    return Path(path).expanduser()


def open_store() -> sqlite3.Connection | None:
    """A read-only connection to the configured store, inside one read transaction (a single
    snapshot until it is closed), or None (use SQLAlchemy)."""
    from agentcal.db import SCHEMA_HEAD
    from agentcal.settings import get_settings
    from agentcal.storecheck import check_revision, verify_sqlite_file

    path = sqlite_file(get_settings().db_url)
    if path is None or not path.is_file():
        return None
    verify_sqlite_file(path)  # the same checks as the SQLAlchemy path, before any read
    try:
        conn = sqlite3.connect(
            f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=30, isolation_level=None
        )
    except sqlite3.Error:
        return None
    try:
        # One read transaction for the connection's life: every query sees the same snapshot
        # (writers are not blocked: WAL readers never hold the write lock).
        conn.execute("BEGIN")
        (revision,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or (None,)
    except sqlite3.Error:
        revision = None
    if revision != SCHEMA_HEAD:
        try:
            (tables,) = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                "AND name NOT IN ('alembic_version') AND name NOT LIKE 'sqlite_%'"
            ).fetchone()
        except sqlite3.Error:
            tables = 0
        conn.close()
        check_revision(revision, bool(tables), str(path))  # newer, or lost its revision
        return None
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def reading(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Use `conn`, then close it. An SQLite error while reading (a damaged file, an I/O
    error) becomes one `ConfigError` line, as it does on the SQLAlchemy path at open."""
    from agentcal.storecheck import describe_failure

    try:
        yield conn
    except sqlite3.Error as exc:
        raise ConfigError(describe_failure(exc) or f"cannot read the database: {exc}") from None
    finally:
        conn.close()


def parse_json(value: str | float | None) -> Any:
    """A stored JSON value. The JSON column has NUMERIC affinity on SQLite, so a JSON number
    comes back as a number (SQLAlchemy's SQLite JSON type returns those as they are, too)."""
    if value is None or isinstance(value, int | float):
        return value
    return json.loads(value)


def parse_time(value: str | datetime | None) -> datetime | None:
    """A stored time (naive UTC, as text on SQLite) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)
