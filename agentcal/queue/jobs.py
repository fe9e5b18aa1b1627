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

Here: enqueueing. Claiming and finishing: `leases`; listing, retrying, purging and the counts
of `agentcal status`: `maintenance`; the DBAPI fast path under them all: `raw`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcal import validation as v
from agentcal.errors import ValidationError
from agentcal.queue.leases import ClaimedJob, FailOutcome, QueueLeases, backoff_seconds
from agentcal.queue.maintenance import QueueMaintenance
from agentcal.queue.raw import (
    _ACTIVE_KEY_SQL,
    _ENQUEUE_SQL,
    ACTIVE_STATES,
    _db_time,
    _enqueue_many_raw,
    _insert_ignoring_active_duplicate,
    _job_from_values,
    _paramstyle,
    _run_raw,
    _table,
)
from agentcal.vocab import JOB_KINDS

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import Job

__all__ = ["ClaimedJob", "FailOutcome", "JobQueue", "backoff_seconds", "job_queue"]

DEFAULT_PRIORITY = 100


class JobQueue(QueueLeases, QueueMaintenance):
    """Enqueue and inspect jobs (here and in `maintenance`); workers claim them (`leases`)."""

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

    def active_id(self, unique_key: str) -> int | None:
        """The id of the queued or running job with this unique key, if there is one."""
        from sqlalchemy import select

        t = _table()
        with self.transaction() as s:
            return s.execute(
                select(t.c.id).where(t.c.unique_key == unique_key, t.c.state.in_(ACTIVE_STATES))
            ).scalar()


job_queue = JobQueue()
