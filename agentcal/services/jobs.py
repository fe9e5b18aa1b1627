"""The durable job queue in the store: enqueue side.

Kinds: `update_insight` (payload: the seed's /user-insights/update body plus user_id,
agent_run_id, source_request_id), `emit_preference_events` (user_id, days_ahead),
`calendar_sync` (event_id, revision).

A unique key deduplicates: while a job with that key is queued or running, enqueueing it again
returns the existing job (a partial unique index enforces it, so it holds across processes).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcal.errors import ValidationError
from agentcal.services import validation as v
from agentcal.services.base import Service
from agentcal.vocab import JOB_KINDS

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import Job

DEFAULT_PRIORITY = 100


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

    def get(self, job_id: int, session: Session | None = None) -> Job:
        from agentcal.errors import NotFoundError
        from agentcal.models import Job

        with self.transaction(session) as s:
            job = s.get(Job, job_id)
            if job is None:
                raise NotFoundError(f"no job with id {job_id}")
            return job


def _insert_ignoring_active_duplicate(dialect: str, table: Any, values: dict[str, Any]) -> Any:
    from sqlalchemy import text

    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
    return (
        dialect_insert(table)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=["unique_key"], index_where=text("state IN ('queued', 'running')")
        )
        .returning(table.c.id)
    )


job_queue = JobQueue()
