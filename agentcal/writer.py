"""Small writes without SQLAlchemy, on the default store: the write-side twin of `reader`.

A chat turn writes a few rows (its reserved call, the completed call and its steps, the
session's last use). Through the ORM those writes cost importing SQLAlchemy, SQLModel and the
table classes (~0.6 s, about half of LangGraph's own import: bench/bench_commands.py), more
than the turn itself. On the default store (a plain SQLite file already at the schema head,
the read path's test: `reader.open_store`) `open_writer` gives this process's stdlib sqlite3
connection, with the engine's pragmas, and `transaction` runs one `BEGIN IMMEDIATE` ...
`COMMIT` on it.
Anywhere else (PostgreSQL, a URL with options, a store that needs migrating or does not exist
yet) it gives None and the caller uses the ORM, which migrates or reports first.

Values are stored exactly as SQLAlchemy stores them (`encode`, by the field types of the
table's record in `agentcal.records`): aware times as naive UTC text, JSON as `json.dumps`
text (None as `null`), booleans as 0/1. tests/test_writer.py writes the same rows both ways
and compares them column by column.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agentcal.schema import sqlite_file


def open_writer() -> sqlite3.Connection | None:
    """This process's read-write connection to the configured store when it is a plain SQLite
    file at the schema head, else None (use the ORM: it creates, migrates or refuses the
    store). Use it through `transaction`."""
    from agentcal.basics import get_basics

    path = sqlite_file(get_basics().db_url)
    if path is None:
        return None
    key = str(path)
    with _lock:
        _forget_after_fork()
        conn = _conns.get(key)
        if conn is None:
            conn = _open(path)
            if conn is not None:
                _conns[key] = conn
                _close_at_exit_once()
    return conn


def close_all() -> None:
    """Close this process's write connections (`db.dispose_engines`: tests, forked workers)."""
    with _lock:
        conns = list(_conns.values())
        _conns.clear()
    for conn in conns:
        conn.close()


def _close_at_exit_once() -> None:
    global _exit_hook
    if not _exit_hook:
        import atexit

        atexit.register(_close_at_exit)
        _exit_hook = True


def _close_at_exit() -> None:
    """Close this process's connections to its stores (the ORM's too) itself, so that the
    store check's stamp follows the checkpoint the last close makes (storecheck.
    closing_own_connections). A thread still running may still write: then the interpreter
    closes them as before and the next command checks the store."""
    import sys

    from agentcal.storecheck import closing_own_connections

    if threading.active_count() > 1 or os.getpid() != _pid:
        return
    db = sys.modules.get("agentcal.db")
    closing_own_connections(
        [Path(key) for key in _conns], db.dispose_engines if db is not None else close_all
    )


_exit_hook = False


# One connection per store for the life of the process, as the ORM's pool keeps its own: a
# connection that closes may find itself the store's last one and checkpoint and delete the
# WAL, which loses the writes of any other process whose locks are not where SQLite expects
# them (a POSIX lock is dropped by *any* close of the file in that process).
_conns: dict[str, sqlite3.Connection] = {}
_lock = threading.RLock()
_pid = os.getpid()


def _forget_after_fork() -> None:
    global _pid
    if os.getpid() != _pid:  # a forked child must not use (or close) its parent's connection
        _conns.clear()
        _pid = os.getpid()


def _open(path: Path) -> sqlite3.Connection | None:
    from agentcal.schema import SCHEMA_HEAD
    from agentcal.storecheck import verify_sqlite_file

    if not path.is_file():
        return None
    verify_sqlite_file(path)  # the same checks as both other paths, before any write
    try:
        conn = sqlite3.connect(
            f"file:{quote(str(path.resolve()))}?mode=rw",
            uri=True,
            timeout=30,
            isolation_level=None,
            check_same_thread=False,  # used by one thread at a time, under _lock
        )
    except sqlite3.Error:
        return None
    try:
        # The engine's pragmas (agentcal.db._tune_sqlite); WAL is a property of the file.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        row = None
    if row is None or row[0] != SCHEMA_HEAD:
        conn.close()
        return None
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on `conn` (the write lock taken up front); one thread at a time."""
    with _lock:
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def insert(conn: sqlite3.Connection, table: str, record: Any, values: Mapping[str, Any]) -> int:
    """INSERT `values` (column -> value, typed as `record`'s fields) into `table`; the new id."""
    row = encode(record, values)
    names = ", ".join(row)
    marks = ", ".join(f":{name}" for name in row)
    cursor = conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", row)
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def update(
    conn: sqlite3.Connection,
    table: str,
    record: Any,
    values: Mapping[str, Any],
    where: str,
    params: Mapping[str, Any],
) -> int:
    """UPDATE `table` SET `values` WHERE `where` (its parameters in `params`, names not
    starting with `set_`); the number of rows changed."""
    row = encode(record, values)
    assignments = ", ".join(f"{name} = :set_{name}" for name in row)
    bound = {**params, **{f"set_{name}": value for name, value in row.items()}}
    return conn.execute(f"UPDATE {table} SET {assignments} WHERE {where}", bound).rowcount


def encode(record: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` as SQLAlchemy binds them on SQLite, by the types of `record`'s fields."""
    encoders = _encoders(record)
    out = {}
    for name, value in values.items():
        encoder = encoders[name]  # a KeyError: not a column of this table
        out[name] = encoder(value) if encoder is not None else value
    return out


def db_time(value: datetime | None) -> str | None:
    """An aware time as the UTCDateTime column stores it on SQLite (naive UTC text)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _json(value: Any) -> str:
    return json.dumps(value)  # SQLAlchemy's JSON type: json.dumps, None as 'null'


def _date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


@cache
def _encoders(record: Any) -> dict[str, Callable[[Any], Any] | None]:
    from agentcal.records import field_types

    out: dict[str, Callable[[Any], Any] | None] = {}
    for name, hint in field_types(record).items():
        if hint is datetime:
            out[name] = db_time
        elif hint is date:
            out[name] = _date
        elif hint is bool:
            out[name] = _bool
        elif hint is Any:
            out[name] = _json
        else:
            out[name] = None
    return out
