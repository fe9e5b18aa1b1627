"""Inspecting and maintaining the queue: list, retry, retry the dead, purge, acknowledge, and
the counts behind `agentcal status`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcal import validation as v
from agentcal.errors import ValidationError
from agentcal.queue.raw import ACTIVE_STATES, _table
from agentcal.reader import columns
from agentcal.records import JobRow
from agentcal.service import Service
from agentcal.vocab import JOB_KINDS

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import Job


class QueueMaintenance(Service):
    """What `agentcal jobs` and `agentcal status` do with the queue."""

    def get(self, job_id: int, session: Session | None = None) -> JobRow:
        from agentcal.errors import NotFoundError

        with self.reading(session) as r:
            rows = r.records(
                JobRow, f"SELECT {columns(JobRow)} FROM jobs WHERE id = :id", {"id": job_id}
            )
        if not rows:
            raise NotFoundError(f"no job with id {job_id}")
        return rows[0]

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
