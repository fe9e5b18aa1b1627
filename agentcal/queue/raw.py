"""The raw DBAPI path under the queue (its `_` names are for agentcal.queue's own modules).

Enqueue, claim, complete, fail and release are the queue's hot path. Going through a
SQLAlchemy Connection cost more than the database work (pool checkout and reset, the `begin`
event, result wrapping: ~5x the bare sqlite3 time, bench/bench_jobs.py), so each thread keeps
one DBAPI connection per engine, checked out of the engine's pool (so it has the pool's
pragmas), and runs one short transaction per call on it: `BEGIN IMMEDIATE` ... `COMMIT` on
SQLite, the driver's implicit transaction + commit on PostgreSQL. A failed call rolls back and
drops the connection (the next call takes a fresh one); the engine's disposal closes them all.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcal import validation as v

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import Job

ACTIVE_STATES = ("queued", "running")


_raw_lock = threading.Lock()
_raw_conns: dict[tuple[int, int], tuple[Any, Any]] = {}  # (id(engine), thread) -> (engine, fairy)
_raw_pid = os.getpid()


def _raw_fairy(engine: Any) -> Any:
    global _raw_pid
    key = (id(engine), threading.get_ident())
    pid = os.getpid()
    if pid != _raw_pid:  # a forked child must not use (or close) its parent's connections
        with _raw_lock:
            _raw_conns.clear()
            _raw_pid = pid
    held = _raw_conns.get(key)
    if held is not None and held[0] is engine:
        return held[1]
    fairy = engine.raw_connection()
    if engine.dialect.name == "sqlite":
        # No sleeping busy handler on this connection: its first wait is 1 ms, ten times a
        # whole queue transaction. `_begin_immediate` retries with short waits instead.
        fairy.driver_connection.execute("PRAGMA busy_timeout=0")
    with _raw_lock:
        _raw_conns[key] = (engine, fairy)
    from sqlalchemy import event

    if not event.contains(engine, "engine_disposed", _close_raw_for):
        event.listen(engine, "engine_disposed", _close_raw_for)
    return fairy


def _close_raw_for(engine: Any) -> None:
    """Close the connections held for `engine` (it is being disposed)."""
    with _raw_lock:
        keys = [k for k, (e, _) in _raw_conns.items() if e is engine]
        fairies = [_raw_conns.pop(k)[1] for k in keys]
    for fairy in fairies:
        _quiet_close(fairy)


def _quiet_close(fairy: Any) -> None:
    # invalidate() really closes the DBAPI connection (not back to the pool); an error means
    # it was already broken or closed: nothing to release.
    with contextlib.suppress(Exception):
        fairy.invalidate()


def _drop_raw(engine: Any) -> None:
    held = _raw_conns.pop((id(engine), threading.get_ident()), None)
    if held is not None:
        _quiet_close(held[1])


def _run_raw(engine: Any, steps: Any) -> Any:
    """Run `steps(cursor, dialect)` in one write transaction on this thread's raw connection."""
    fairy = _raw_fairy(engine)
    dbapi_conn = fairy.driver_connection
    sqlite = engine.dialect.name == "sqlite"
    cursor = dbapi_conn.cursor()
    try:
        if sqlite:
            _begin_immediate(cursor)
        out = steps(cursor, engine.dialect.name)
        if sqlite:
            cursor.execute("COMMIT")
        else:
            dbapi_conn.commit()
        return out
    except BaseException:
        try:
            if sqlite:
                if dbapi_conn.in_transaction:
                    dbapi_conn.execute("ROLLBACK")
            else:
                dbapi_conn.rollback()
        except Exception:  # the connection itself is gone
            pass
        _drop_raw(engine)
        raise
    finally:
        with contextlib.suppress(Exception):  # a cursor of a dead connection
            cursor.close()


BUSY_TIMEOUT_SECONDS = 30.0


def _begin_immediate(cursor: Any) -> None:
    """`BEGIN IMMEDIATE`, waiting for the write lock in steps of 0.1 ms to 2 ms (not SQLite's
    1, 2, 5, 10... ms) for up to BUSY_TIMEOUT_SECONDS, then the usual "database is locked"."""
    import sqlite3
    import time

    wait = 0.0001
    deadline = None
    while True:
        try:
            cursor.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + BUSY_TIMEOUT_SECONDS
            elif now >= deadline:
                raise
            time.sleep(wait * (0.5 + random.random()))
            wait = min(wait * 2, 0.002)


def _any_due(engine: Any, kind_filter: str, params: dict[str, Any]) -> bool:
    """Whether a job looks due, read without a write lock (WAL readers never wait). Only a
    hint: the claim itself decides, under `BEGIN IMMEDIATE`."""
    fairy = _raw_fairy(engine)
    import sqlite3

    try:
        cursor = fairy.driver_connection.execute(_DUE_SQL.format(kinds=kind_filter), params)
        return cursor.fetchone() is not None
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return True  # let the claim wait for the lock and decide
        _drop_raw(engine)
        raise
    except BaseException:
        _drop_raw(engine)
        raise


_JOB_FIELDS: dict[str, Any] | None = None


def _job_from_values(values: dict[str, Any]) -> Job:
    """A transient Job holding `values`, without pydantic/ORM attribute events (~3 us instead
    of ~100 us for `Job(**values)`, which dominated enqueue)."""
    global _JOB_FIELDS
    from agentcal.models import Job

    if _JOB_FIELDS is None:
        from sqlalchemy.orm import configure_mappers

        configure_mappers()
        _JOB_FIELDS = dict.fromkeys(Job.model_fields)
    job = Job.__mapper__.class_manager.new_instance()  # type: ignore[attr-defined]
    job.__dict__.update(_JOB_FIELDS)
    job.__dict__.update(values)
    object.__setattr__(job, "__pydantic_fields_set__", set(values))
    return job


_ENQUEUE_SQL = (
    "INSERT INTO jobs (kind, payload, state, priority, attempts, max_attempts, run_at, "
    "unique_key, user_id, acknowledged, created_at, updated_at) VALUES (:kind, :payload, "
    ":state, :priority, :attempts, :max_attempts, :run_at, :unique_key, :user_id, "
    ":acknowledged, :created_at, :updated_at) "
    "ON CONFLICT (unique_key) WHERE state IN ('queued', 'running') DO NOTHING RETURNING id"
)
_ENQUEUE_MANY_SQL = _ENQUEUE_SQL.removesuffix(" RETURNING id")
_ACTIVE_KEY_SQL = "SELECT id FROM jobs WHERE unique_key = :key AND state IN ('queued', 'running')"
_CLAIM_SQL = (
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
    "lease_token = :token || CAST(id AS TEXT), "
    "locked_by = :worker, locked_until = :until, updated_at = :now "
    "WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' AND run_at <= :now{kinds} "
    "ORDER BY priority, run_at, id LIMIT :limit{lock}) "
    "RETURNING id, kind, payload, attempts, max_attempts, user_id, priority, run_at"
)
_DUE_SQL = "SELECT 1 FROM jobs WHERE state = 'queued' AND run_at <= :now{kinds} LIMIT 1"
_COMPLETE_SQL = (
    "UPDATE jobs SET state = 'done', lease_token = NULL, locked_until = NULL, "
    "finished_at = :now, updated_at = :now, last_error = NULL, result = :result "
    "WHERE id = :id AND lease_token = :token AND state = 'running'"
)


def _enqueue_many_raw(s: Session, dialect: str, rows: list[dict[str, Any]]) -> int:
    """`enqueue_many`'s insert as one DBAPI `executemany` inside the session's transaction:
    SQLAlchemy's per-value bind processing cost more than SQLite itself (the emitter queues
    tens of thousands). The partial unique index still skips keys that are already active."""
    s.flush()
    first = rows[0]["created_at"]
    stamp = _db_time(first, dialect)
    for row in rows:
        row["run_at"] = stamp if row["run_at"] is first else _db_time(row["run_at"], dialect)
        row["created_at"] = row["updated_at"] = stamp
    if dialect == "postgresql":
        import json

        from psycopg.types.json import Jsonb

        for row in rows:
            row["payload"] = Jsonb(json.loads(row["payload"]))
    cursor = s.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(_paramstyle(_ENQUEUE_MANY_SQL, dialect), rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _result_json(result: Any) -> str | None:
    """A job's result as stored: JSON, with any secret a message in it carried masked."""
    import json

    from agentcal.masking import mask_json

    if result is None:
        return None
    return json.dumps(mask_json(v.json_value(result, "job result")))


def _paramstyle(sql: str, dialect: str) -> str:
    """`:name` (sqlite3's named style) -> `%(name)s` for PostgreSQL drivers."""
    if dialect == "sqlite":
        return sql
    import re

    return re.sub(r"(?<!:):([a-z_][a-z0-9_]*)", r"%(\1)s", sql)


def _params(params: dict[str, Any], dialect: str) -> dict[str, Any]:
    if dialect == "postgresql" and params.get("result") is not None:
        from psycopg.types.json import Jsonb  # type: ignore[import-not-found]

        return {**params, "result": Jsonb(__import__("json").loads(params["result"]))}
    return params


def _db_time(value: datetime, dialect: str) -> Any:
    """A UTC time as the UTCDateTime column stores it (naive UTC; SQLite: ISO text)."""
    from datetime import UTC

    naive = value.astimezone(UTC).replace(tzinfo=None)
    if dialect == "sqlite":  # SQLAlchemy's format; isoformat is ~3x faster than strftime
        return naive.isoformat(" ", "microseconds")
    return naive


def _table() -> Any:
    from agentcal.models import Job

    return Job.__table__  # type: ignore[attr-defined]


def _insert_ignoring_active_duplicate(
    dialect: str, table: Any, values: dict[str, Any] | None
) -> Any:
    from sqlalchemy import text

    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
    stmt = dialect_insert(table).on_conflict_do_nothing(
        index_elements=["unique_key"], index_where=text("state IN ('queued', 'running')")
    )
    if values is None:  # executemany: the rows come with execute()
        return stmt
    return stmt.values(**values).returning(table.c.id)
