"""The read path: one way for every read-only query to reach the store.

Queries are plain SQL text with `:named` parameters, written once in the services, and run by
a `Reader`. On the default store (a plain SQLite file already at the schema head) the reader
is a read-only stdlib `sqlite3` connection: no SQLAlchemy import (~250 ms with the table
classes) and no per-statement overhead. Anywhere else (PostgreSQL, a URL with options, a store
that needs migrating or cannot be opened, a service bound to an engine, a caller's session) the
same text runs on a SQLAlchemy connection. The reader hides the few dialect differences
(time parameters, IN lists, case-insensitive search, SQLite index hints) and turns rows into
the records of `agentcal.records`, whose values are what the models hold (aware UTC
times, decoded JSON, booleans, dates).

A sqlite3 reader holds one read transaction for its life, so a report sees one snapshot, and
is opened read-only (`mode=ro`): the read path can never change the store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from agentcal.errors import ConfigError
from agentcal.schema import sqlite_file

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlmodel import Session

R = TypeVar("R")


def open_store() -> sqlite3.Connection | None:
    """A read-only connection to the configured store, inside one read transaction (a single
    snapshot until it is closed), or None (use SQLAlchemy, which migrates or reports)."""
    from agentcal.basics import get_basics
    from agentcal.schema import SCHEMA_HEAD
    from agentcal.storecheck import check_revision, verify_sqlite_file

    path = sqlite_file(get_basics().db_url)
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
    return conn


def parse_json(value: Any, decoded: bool = False) -> Any:
    """A stored JSON value. SQLite gives text (or a number: the JSON column has NUMERIC
    affinity); PostgreSQL's driver has already decoded JSONB (`decoded`)."""
    if decoded or value is None or isinstance(value, int | float):
        return value
    return json.loads(value)


def parse_time(value: str | datetime | None) -> datetime | None:
    """A stored time (naive UTC; text on SQLite) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def parse_date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


class Reader:
    """Runs read-only SQL text on one connection (stdlib sqlite3 or SQLAlchemy)."""

    def __init__(self, conn: sqlite3.Connection | Connection) -> None:
        self.raw: sqlite3.Connection | None = None
        self.alchemy: Connection | None = None
        if isinstance(conn, sqlite3.Connection):
            self.raw = conn
            self.dialect = "sqlite"
        else:
            self.alchemy = conn
            self.dialect = conn.dialect.name

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    # -- running SQL ------------------------------------------------------------------------

    def tuples(self, sql: str, params: dict[str, Any] | None = None) -> list[Sequence[Any]]:
        """The rows of `sql` as plain sequences, in the order of its columns."""
        if self.raw is not None:
            return self.raw.execute(sql, params or {}).fetchall()
        return list(self._execute(sql, params).all())

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The rows of `sql` as dicts by column name."""
        if self.raw is not None:
            cursor = self.raw.execute(sql, params or {})
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor]
        return [dict(row) for row in self._execute(sql, params).mappings()]

    def scalar(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        if self.raw is not None:
            row = self.raw.execute(sql, params or {}).fetchone()
            return None if row is None else row[0]
        return self._execute(sql, params).scalar()

    def records(self, cls: type[R], sql: str, params: dict[str, Any] | None = None) -> list[R]:
        """The rows of `sql` (which selects `columns(cls)`) as `cls` records."""
        convert = _converters(cls, self.dialect != "sqlite")  # type: ignore[arg-type]
        make = cls._make  # type: ignore[attr-defined]
        return [
            make([f(v) if f else v for f, v in zip(convert, row, strict=True)])
            for row in self.tuples(sql, params)
        ]

    def _execute(self, sql: str, params: dict[str, Any] | None) -> Any:
        from sqlalchemy import text

        assert self.alchemy is not None
        return self.alchemy.execute(text(sql), params or {})

    # -- dialect differences ----------------------------------------------------------------

    def time(self, value: datetime) -> Any:
        """A time parameter compared with stored times: naive UTC, as text on SQLite (the
        format SQLAlchemy stores, so that string order is time order)."""
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return naive.isoformat(" ", "microseconds") if self.sqlite else naive

    @staticmethod
    def one_of(column: str, values: Iterable[Any], params: dict[str, Any], name: str) -> str:
        """`column IN (...)` with one parameter per value, added to `params`."""
        keys = []
        for i, value in enumerate(values):
            keys.append(f":{name}{i}")
            params[f"{name}{i}"] = value
        return f"{column} IN ({', '.join(keys)})" if keys else "1 = 0"

    def contains(self, columns: Sequence[str], text: str, params: dict[str, Any], name: str) -> str:
        """Any of `columns` contains `text`, ignoring case (LIKE with `\\` escapes)."""
        params[name] = (
            "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        if self.sqlite:
            tests = [f"lower({c}) LIKE lower(:{name}) ESCAPE '\\'" for c in columns]
        else:
            tests = [f"{c} ILIKE :{name} ESCAPE '\\'" for c in columns]
        return "(" + " OR ".join(tests) + ")"

    def binary_order(self, expr: str) -> str:
        """`expr` for ORDER BY in code point order, as Python sorts strings (PostgreSQL would
        otherwise use the database's collation)."""
        return expr if self.sqlite else f'({expr}) COLLATE "C"'

    def indexed(self, table: str, index: str) -> str:
        """`table`, pinned to `index` on SQLite: its planner, without statistics, sometimes
        prefers a narrower index and then reads every wide row."""
        return f"{table} INDEXED BY {index}" if self.sqlite else table


def columns(cls: Any) -> str:
    """The SELECT list of a record class (a NamedTuple): its fields, in order."""
    return ", ".join(cls._fields)


@cache
def _converters(cls: Any, decoded_json: bool) -> list[Any]:
    """Per field of `cls`, the function turning a stored value into the record's (or None)."""
    from agentcal.records import field_types

    out: list[Any] = []
    for hint in field_types(cls).values():
        if hint is datetime:
            out.append(parse_time)
        elif hint is date:
            out.append(parse_date)
        elif hint is bool:
            out.append(bool)
        elif hint is Any:
            out.append(None if decoded_json else parse_json)
        else:
            out.append(None)
    return out


@contextmanager
def reading(engine: Engine | None = None, session: Session | None = None) -> Iterator[Reader]:
    """A reader: on the caller's session (its transaction, its pending changes flushed), on
    `engine`, or on the configured store (read-only sqlite3 when possible). An SQLite error
    while reading (a damaged file, an I/O error) becomes one `ConfigError` line."""
    if session is not None:
        session.flush()
        yield Reader(session.connection())
        return
    raw = open_store() if engine is None else None
    if raw is not None:
        try:
            yield Reader(raw)
        except sqlite3.Error as exc:
            raise ConfigError(_read_failure(exc)) from None
        finally:
            raw.close()
        return
    if engine is None:
        from agentcal.db import get_engine

        engine = get_engine()
    with engine.connect() as conn:
        yield Reader(conn)


@contextmanager
def own_snapshot() -> Iterator[Reader | None]:
    """Another read-only sqlite3 reader of the configured store (for a helper thread), or
    None when the store cannot be read that way (the caller then does the work itself)."""
    raw = open_store()
    if raw is None:
        yield None
        return
    try:
        yield Reader(raw)
    except sqlite3.Error as exc:
        raise ConfigError(_read_failure(exc)) from None
    finally:
        raw.close()


def _read_failure(exc: sqlite3.Error) -> str:
    """One line for an SQLite error on the read path (a damaged file, an I/O error)."""
    from agentcal.storecheck import describe_failure

    return describe_failure(exc) or f"cannot read the database: {exc}"
