"""The worker side of the queue: claim with a lease, complete, fail (retry with backoff, or
dead), defer, release, and reap the leases of workers that died.

Complete, fail and release only touch a job whose lease token still matches: a worker that lost
its lease (it was too slow, or presumed dead and reaped) cannot overwrite the result of the next
one. Failures retry with exponential backoff and jitter until `max_attempts`, then the job is dead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcal.errors import ValidationError
from agentcal.queue.raw import (
    _CLAIM_SQL,
    _COMPLETE_SQL,
    _any_due,
    _db_time,
    _params,
    _paramstyle,
    _result_json,
    _run_raw,
    _table,
)
from agentcal.service import Service

if TYPE_CHECKING:
    pass

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


class QueueLeases(Service):
    """What workers do with the queue (see agentcal.workers)."""

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
