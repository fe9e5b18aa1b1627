"""The durable job queue in the store.

Kinds: `update_insight` (payload: the seed's /user-insights/update body plus user_id,
agent_run_id, source_request_id), `emit_preference_events` (user_id, days_ahead),
`calendar_sync` (event_id, revision).

A unique key deduplicates: while a job with that key is queued or running, enqueueing it again
returns the existing job (a partial unique index enforces it, so it holds across processes).

Claiming is one statement: `UPDATE jobs SET state='running', lease_token=... WHERE id=(SELECT
id ... LIMIT 1) RETURNING ...`, inside SQLite's `BEGIN IMMEDIATE` (see db.py) or with
`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers never get the same job. Complete, fail
and release only touch a job whose lease token still matches: a worker that lost its lease
(it was too slow, or presumed dead and reaped) cannot overwrite the result of the next one.
Failures retry with exponential backoff and jitter until `max_attempts`, then the job is dead.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcal import validation as v
from agentcal.errors import ValidationError
from agentcal.reader import columns
from agentcal.records import JobRow
from agentcal.service import Service
from agentcal.vocab import JOB_KINDS

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import Job

DEFAULT_PRIORITY = 100
ACTIVE_STATES = ("queued", "running")
BACKOFF_BASE_SECONDS = 10.0
BACKOFF_CAP_SECONDS = 3600.0
MAX_ERROR_CHARS = 4000


@dataclass(frozen=True)
class ClaimedJob:
    """A job a worker holds: what the handler needs, and the token that proves the lease."""

    id: int
    kind: str
    payload: Any
    attempts: int
    max_attempts: int
    user_id: str | None
    lease_token: str


@dataclass(frozen=True)
class FailOutcome:
    """What `fail` did: re-queued for `retry_at`, or dead. `lost` when the lease was gone."""

    state: str  # queued | dead | lost
    retry_at: datetime | None = None


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Exponential backoff with full jitter in [base/2, base*1.5) * 2**(attempts-1), capped."""
    base = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    return base * (0.5 + (rng or random).random())


def _new_token() -> str:
    import secrets

    return secrets.token_hex(16)


class JobQueue(Service):
    """Enqueue and inspect jobs. Workers claim them (see agentcal.workers)."""

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        unique_key: str | None = None,
        run_at: datetime | None = None,
        priority: int = DEFAULT_PRIORITY,
        max_attempts: int | None = None,
        user_id: str | None = None,
        session: Session | None = None,
    ) -> Job:
        """Add a job, or return the active job with the same `unique_key`."""
        from sqlalchemy import insert, select

        from agentcal.models import Job, utcnow

        v.one_of(kind, JOB_KINDS, "job kind")
        if not isinstance(payload, dict):
            raise ValidationError("a job payload must be a JSON object")
        payload = v.json_value(payload, "payload")
        if run_at is not None and run_at.tzinfo is None:
            raise ValidationError("run_at must carry a time zone")
        if max_attempts is None:
            from agentcal.settings import get_settings

            max_attempts = get_settings().job_max_attempts
        now = utcnow()
        values = {
            "kind": kind,
            "payload": payload,
            "state": "queued",
            "priority": int(priority),
            "attempts": 0,
            "max_attempts": int(max_attempts),
            "run_at": run_at or now,
            "unique_key": unique_key,
            "user_id": user_id,
            "acknowledged": False,
            "created_at": now,
            "updated_at": now,
        }
        table = Job.__table__  # type: ignore[attr-defined]
        engine = self.engine if session is None else None
        if engine is not None and engine.dialect.name in ("sqlite", "postgresql"):
            return self._enqueue_raw(engine, values)
        with self.transaction(session) as s:
            dialect = s.get_bind().dialect.name
            if unique_key is not None and dialect in ("sqlite", "postgresql"):
                stmt = _insert_ignoring_active_duplicate(dialect, table, values)
                new_id = s.execute(stmt).scalar()
                if new_id is None:
                    existing = s.execute(
                        select(table.c.id).where(
                            table.c.unique_key == unique_key,
                            table.c.state.in_(("queued", "running")),
                        )
                    ).scalar()
                    new_id = existing
            else:
                new_id = s.execute(insert(table).values(**values).returning(table.c.id)).scalar()
            job = s.get(Job, new_id)
            assert job is not None
            return job

    def _enqueue_raw(self, engine: Any, values: dict[str, Any]) -> Job:
        """`enqueue` without a caller's session: one statement on the raw connection."""
        import json

        dialect = engine.dialect.name
        now_value = _db_time(values["created_at"], dialect)  # created_at == updated_at
        run_at = values["run_at"]
        params = {
            **values,
            "payload": json.dumps(values["payload"], sort_keys=True),
            "run_at": now_value if run_at is values["created_at"] else _db_time(run_at, dialect),
            "created_at": now_value,
            "updated_at": now_value,
        }
        if dialect == "postgresql":
            from psycopg.types.json import Jsonb

            params["payload"] = Jsonb(values["payload"])

        def steps(cur: Any, dialect: str) -> tuple[Any, Any]:
            cur.execute(_paramstyle(_ENQUEUE_SQL, dialect), params)
            row = cur.fetchone()
            if row is not None:
                return row[0], None
            # An active job has this key: return it.
            cur.execute(_paramstyle(_ACTIVE_KEY_SQL, dialect), {"key": values["unique_key"]})
            found = cur.fetchone()
            if found is None:
                raise RuntimeError("job insert was ignored but no active job has its key")
            return None, found[0]

        new_id, existing = _run_raw(engine, steps)
        if existing is not None:
            return _job_from_values(self.get(existing)._asdict())
        return _job_from_values({"id": new_id, **values})

    def enqueue_many(self, jobs: list[dict[str, Any]], session: Session | None = None) -> int:
        """Enqueue several jobs in one statement; each dict has kind, payload and optionally
        unique_key, user_id, priority, run_at. Keys already active are skipped. Returns the
        number of jobs added."""
        from sqlalchemy import insert

        from agentcal.models import utcnow
        from agentcal.settings import get_settings

        if not jobs:
            return 0
        now = utcnow()
        max_attempts = get_settings().job_max_attempts
        rows = []
        for job in jobs:
            v.one_of(job["kind"], JOB_KINDS, "job kind")
            rows.append(
                {
                    "kind": job["kind"],
                    "payload": v.json_text(job["payload"], "payload"),
                    "state": "queued",
                    "priority": int(job.get("priority", DEFAULT_PRIORITY)),
                    "attempts": 0,
                    "max_attempts": max_attempts,
                    "run_at": job.get("run_at") or now,
                    "unique_key": job.get("unique_key"),
                    "user_id": job.get("user_id"),
                    "acknowledged": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        with self.transaction(session) as s:
            dialect = s.get_bind().dialect.name
            if dialect in ("sqlite", "postgresql"):
                return _enqueue_many_raw(s, dialect, rows)
            import json

            t = _table()
            for row in rows:
                row["payload"] = json.loads(row["payload"])
            stmt: Any = insert(t)
            if dialect in ("sqlite", "postgresql"):
                stmt = _insert_ignoring_active_duplicate(dialect, t, None)
            result = s.execute(stmt, rows)
            return int(result.rowcount)  # type: ignore[attr-defined]

    def get(self, job_id: int, session: Session | None = None) -> JobRow:
        from agentcal.errors import NotFoundError

        with self.reading(session) as r:
            rows = r.records(
                JobRow, f"SELECT {columns(JobRow)} FROM jobs WHERE id = :id", {"id": job_id}
            )
        if not rows:
            raise NotFoundError(f"no job with id {job_id}")
        return rows[0]

    def active_id(self, unique_key: str) -> int | None:
        """The id of the queued or running job with this unique key, if there is one."""
        from sqlalchemy import select

        t = _table()
        with self.transaction() as s:
            return s.execute(
                select(t.c.id).where(t.c.unique_key == unique_key, t.c.state.in_(ACTIVE_STATES))
            ).scalar()

    # -- the worker side ------------------------------------------------------------------

    def claim(
        self,
        worker_id: str,
        *,
        kinds: tuple[str, ...] | None = None,
        lease_seconds: int | None = None,
        now: datetime | None = None,
    ) -> ClaimedJob | None:
        """Take the next due job (highest priority, oldest first) with a lease, or None."""
        jobs = self.claim_many(worker_id, 1, kinds=kinds, lease_seconds=lease_seconds, now=now)
        return jobs[0] if jobs else None

    def claim_many(
        self,
        worker_id: str,
        limit: int,
        *,
        kinds: tuple[str, ...] | None = None,
        ids: tuple[int, ...] | None = None,
        lease_seconds: int | None = None,
        now: datetime | None = None,
    ) -> list[ClaimedJob]:
        """Take up to `limit` due jobs in one transaction, each with its own lease token, in
        claim order (priority, then due time, then id); with `ids`, only among those jobs.
        Every one counts an attempt: a worker that stops before running some must `release`
        them."""
        import json

        from agentcal.models import utcnow

        if limit < 1:
            raise ValidationError("claim limit must be at least 1")
        now = now or utcnow()
        if lease_seconds is None:
            from agentcal.settings import get_settings

            lease_seconds = get_settings().job_lease_seconds
        token = _new_token()
        engine = self.engine
        dialect = engine.dialect.name
        params: dict[str, Any] = {
            "token": token + "-",
            "worker": worker_id,
            "until": _db_time(now + timedelta(seconds=lease_seconds), dialect),
            "now": _db_time(now, dialect),
            "limit": int(limit),
        }
        kind_filter = ""
        if kinds:
            names = [f"k{i}" for i in range(len(kinds))]
            params.update(zip(names, kinds, strict=True))
            kind_filter = f" AND kind IN ({', '.join(':' + n for n in names)})"
        if ids:
            names = [f"i{i}" for i in range(len(ids))]
            params.update(zip(names, (int(i) for i in ids), strict=True))
            kind_filter += f" AND id IN ({', '.join(':' + n for n in names)})"
        sql = _paramstyle(
            _CLAIM_SQL.format(
                kinds=kind_filter,
                lock=" FOR UPDATE SKIP LOCKED" if dialect == "postgresql" else "",
            ),
            dialect,
        )

        def steps(cur: Any, _dialect: str) -> list[Any]:
            cur.execute(sql, params)
            return list(cur.fetchall())

        if dialect == "sqlite" and not _any_due(engine, kind_filter, params):
            return []  # an idle worker must not take the write lock from the producers
        rows = _run_raw(engine, steps)
        rows.sort(key=lambda r: (r[6], r[7], r[0]))  # RETURNING order is not guaranteed
        return [
            ClaimedJob(
                id=row[0],
                kind=row[1],
                payload=json.loads(row[2]) if isinstance(row[2], str | bytes) else row[2],
                attempts=row[3],
                max_attempts=row[4],
                user_id=row[5],
                lease_token=f"{token}-{row[0]}",
            )
            for row in rows
        ]

    def complete(self, job: ClaimedJob, result: Any = None, *, now: datetime | None = None) -> bool:
        """Mark the job done; False if the lease was lost (someone else owns the job now)."""
        from agentcal.models import utcnow

        engine = self.engine
        dialect = engine.dialect.name
        params = {
            "now": _db_time(now or utcnow(), dialect),
            "result": _result_json(result),
            "id": job.id,
            "token": job.lease_token,
        }
        params = _params(params, dialect)
        sql = _paramstyle(_COMPLETE_SQL, dialect)

        def steps(cur: Any, _dialect: str) -> int:
            cur.execute(sql, params)
            return int(cur.rowcount)

        return _run_raw(engine, steps) == 1

    def complete_many(
        self, done: list[tuple[ClaimedJob, Any]], *, now: datetime | None = None
    ) -> list[bool]:
        """Complete several (job, result) pairs in one transaction, each under its own lease
        check; returns, in order, whether each one still held its lease."""
        from agentcal.models import utcnow

        if not done:
            return []
        engine = self.engine
        dialect = engine.dialect.name
        now_value = _db_time(now or utcnow(), dialect)
        rows = [
            _params(
                {
                    "now": now_value,
                    "result": _result_json(result),
                    "id": job.id,
                    "token": job.lease_token,
                },
                dialect,
            )
            for job, result in done
        ]
        sql = _paramstyle(_COMPLETE_SQL, dialect)

        def steps(cur: Any, _dialect: str) -> list[bool]:
            out = []
            for params in rows:  # one row each: executemany's rowcount is a total
                cur.execute(sql, params)
                out.append(int(cur.rowcount) == 1)
            return out

        return _run_raw(engine, steps)

    def fail(
        self,
        job: ClaimedJob,
        error: str,
        *,
        permanent: bool = False,
        now: datetime | None = None,
        rng: random.Random | None = None,
    ) -> FailOutcome:
        """Record a failure: retry later with backoff, or dead when permanent or out of attempts."""
        from agentcal.masking import mask
        from agentcal.models import utcnow

        now = now or utcnow()
        error = mask(error)[:MAX_ERROR_CHARS]
        if permanent or job.attempts >= job.max_attempts:
            values = {
                "state": "dead",
                "lease_token": None,
                "locked_until": None,
                "last_error": error,
                "finished_at": now,
                "updated_at": now,
                "acknowledged": False,
            }
            retry_at = None
        else:
            retry_at = now + timedelta(seconds=backoff_seconds(job.attempts, rng))
            values = {
                "state": "queued",
                "lease_token": None,
                "locked_by": None,
                "locked_until": None,
                "last_error": error,
                "run_at": retry_at,
                "updated_at": now,
            }
        if self._update_leased(job, values) != 1:
            return FailOutcome("lost")
        return FailOutcome(str(values["state"]), retry_at)

    def defer(
        self, job: ClaimedJob, error: str, seconds: float, *, now: datetime | None = None
    ) -> bool:
        """Put a job back to run in `seconds` without using up an attempt: what it needs is
        down (the calendar server, its quota), not broken. False when the lease was gone."""
        from agentcal.masking import mask
        from agentcal.models import utcnow

        now = now or utcnow()
        return self.release(
            job,
            now=now,
            last_error=mask(error)[:MAX_ERROR_CHARS],
            run_at=now + timedelta(seconds=max(seconds, 1.0)),
        )

    def release(self, job: ClaimedJob, *, now: datetime | None = None, **also: Any) -> bool:
        """Give a claimed job back untouched (the worker is stopping): the attempt is not counted."""
        from agentcal.models import utcnow

        t = _table()
        now = now or utcnow()
        values = {
            "state": "queued",
            "attempts": t.c.attempts - 1,
            "lease_token": None,
            "locked_by": None,
            "locked_until": None,
            "updated_at": now,
            **also,
        }
        return self._update_leased(job, values) == 1

    def _update_leased(self, job: ClaimedJob, values: dict[str, Any]) -> int:
        from sqlalchemy import update

        t = _table()
        stmt = (
            update(t)
            .where(t.c.id == job.id, t.c.lease_token == job.lease_token, t.c.state == "running")
            .values(**values)
        )
        with self.engine.begin() as conn:
            return int(conn.execute(stmt).rowcount)

    def reap(self, *, now: datetime | None = None) -> list[tuple[int, str]]:
        """Re-queue running jobs whose lease expired (their worker died); returns (id, new state).

        A job whose lease expired on its last attempt goes to dead: a job that kills its worker
        every time must not crash-loop the workers forever.
        """
        from sqlalchemy import select, update

        from agentcal.models import utcnow

        t = _table()
        now = now or utcnow()
        out: list[tuple[int, str]] = []
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(t.c.id, t.c.attempts, t.c.max_attempts, t.c.locked_by).where(
                    t.c.state == "running", t.c.locked_until < now
                )
            ).all()
            for row in rows:
                expired = f"lease expired: worker {row.locked_by} stopped answering"
                if row.attempts >= row.max_attempts:
                    values: dict[str, Any] = {
                        "state": "dead",
                        "finished_at": now,
                        "acknowledged": False,
                        "last_error": f"{expired} on the last of {row.max_attempts} attempts",
                    }
                else:
                    values = {"state": "queued", "last_error": expired}  # due again at once
                values.update(lease_token=None, locked_by=None, locked_until=None, updated_at=now)
                conn.execute(
                    update(t).where(t.c.id == row.id, t.c.state == "running").values(**values)
                )
                out.append((row.id, str(values["state"])))
        return out

    # -- inspection and maintenance ---------------------------------------------------------

    def list_jobs(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
        session: Session | None = None,
    ) -> list[JobRow]:
        """Newest first, optionally of one state and/or kind."""
        from agentcal.vocab import JOB_STATES

        where: list[str] = []
        params: dict[str, Any] = {"limit": limit}
        if state is not None:
            where.append("state = :state")
            params["state"] = v.one_of(state, JOB_STATES, "state")
        if kind is not None:
            where.append("kind = :kind")
            params["kind"] = v.one_of(kind, JOB_KINDS, "kind")
        if user_id is not None:
            where.append("user_id = :user")
            params["user"] = user_id
        if limit < 1:
            raise ValidationError("limit must be at least 1")
        sql = f"SELECT {columns(JobRow)} FROM jobs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self.reading(session) as r:
            return r.records(JobRow, sql + " ORDER BY id DESC LIMIT :limit", params)

    def retry(self, job_id: int, session: Session | None = None) -> Job:
        """Put a dead (or done) job back in the queue now, with a fresh set of attempts."""
        from agentcal.errors import ConflictError, NotFoundError
        from agentcal.models import Job, utcnow

        with self.transaction(session) as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFoundError(f"no job with id {job_id}")
            if job.state in ACTIVE_STATES:
                raise ConflictError(f"job {job_id} is already {job.state}")
            now = utcnow()
            job.state = "queued"
            job.attempts = 0
            job.run_at = now
            job.updated_at = now
            job.finished_at = None
            job.acknowledged = False
            s.add(job)
            try:
                s.flush()
            except Exception as exc:  # the unique key is active again in another job
                from sqlalchemy.exc import IntegrityError

                if isinstance(exc, IntegrityError):
                    raise ConflictError(
                        f"job {job_id}: an active job with key {job.unique_key!r} exists"
                    ) from None
                raise
            return job

    def retry_dead(self, kind: str | None = None, *, user_id: str | None = None) -> list[int]:
        """Retry every dead job (of one kind, of one user); returns their ids."""
        from agentcal.errors import ConflictError

        ids = [
            j.id for j in self.list_jobs(state="dead", kind=kind, user_id=user_id, limit=100_000)
        ]
        done = []
        for job_id in ids:
            assert job_id is not None
            try:
                self.retry(job_id)
            except ConflictError:  # its key is active in a newer job: nothing to redo
                continue
            done.append(job_id)
        return done

    def purge(
        self,
        *,
        states: tuple[str, ...] = ("done",),
        older_than: timedelta = timedelta(0),
        now: datetime | None = None,
    ) -> int:
        """Delete finished jobs (done and/or dead) that finished before now - older_than."""
        from sqlalchemy import delete

        from agentcal.models import utcnow

        for state in states:
            if state not in ("done", "dead"):
                raise ValidationError(f"only done or dead jobs can be purged (got {state!r})")
        t = _table()
        cutoff = (now or utcnow()) - older_than
        with self.engine.begin() as conn:
            result = conn.execute(delete(t).where(t.c.state.in_(states), t.c.finished_at <= cutoff))
            return int(result.rowcount)

    def acknowledge(self, job_ids: list[int], session: Session | None = None) -> int:
        """Mark dead jobs as seen, so `agentcal status` stops reporting them."""
        from sqlalchemy import update

        t = _table()
        with self.transaction(session) as s:
            result = s.execute(
                update(t).where(t.c.id.in_(job_ids), t.c.state == "dead").values(acknowledged=True)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def counts(self, session: Session | None = None) -> dict[str, int]:
        """Number of jobs in each state (every state present, zero included)."""
        from agentcal.vocab import JOB_STATES

        with self.reading(session) as r:
            rows = r.tuples("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        out = dict.fromkeys(JOB_STATES, 0)
        out.update({state: int(n) for state, n in rows})
        return out

    def oldest_due(
        self, *, now: datetime | None = None, session: Session | None = None
    ) -> datetime | None:
        """When the oldest job that is due but not yet picked up became due."""
        from agentcal.reader import parse_time

        with self.reading(session) as r:
            value = r.scalar(
                "SELECT MIN(run_at) FROM jobs WHERE state = 'queued' AND run_at <= :now",
                {"now": r.time(now or datetime.now(UTC))},
            )
        return parse_time(value)

    def past_lease(
        self, *, now: datetime | None = None, session: Session | None = None
    ) -> list[JobRow]:
        """Jobs still `running` after their lease ended: their worker is stuck or dead (a live
        worker's reaper re-queues them)."""
        sql = (
            f"SELECT {columns(JobRow)} FROM jobs WHERE state = 'running' AND locked_until < :now "
            "ORDER BY id"
        )
        with self.reading(session) as r:
            return r.records(JobRow, sql, {"now": r.time(now or datetime.now(UTC))})

    def unacknowledged_dead(self, session: Session | None = None) -> int:
        with self.reading(session) as r:
            return int(
                r.scalar(
                    "SELECT COUNT(*) FROM jobs WHERE state = 'dead' AND acknowledged = :no",
                    {"no": False},
                )
                or 0
            )


# -- the raw DBAPI path ---------------------------------------------------------------------------
#
# Enqueue, claim, complete, fail and release are the queue's hot path. Going through a
# SQLAlchemy Connection cost more than the database work (pool checkout and reset, the `begin`
# event, result wrapping: ~5x the bare sqlite3 time, bench/bench_jobs.py), so each thread keeps
# one DBAPI connection per engine, checked out of the engine's pool (so it has the pool's
# pragmas), and runs one short transaction per call on it: `BEGIN IMMEDIATE` ... `COMMIT` on
# SQLite, the driver's implicit transaction + commit on PostgreSQL. A failed call rolls back and
# drops the connection (the next call takes a fresh one); the engine's disposal closes them all.

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


job_queue = JobQueue()
