"""Each person's calendar sync health, for `agentcal status`: when their calendar last took a
sync, and since when and why it has been failing.

`calendar_sync` jobs record the outcome of their own event here (one small upsert per job; a
job's error is already masked). A user is failing when their latest outcome is a failure; the
first success afterwards clears it. Kept apart from the jobs table so it survives
`agentcal jobs purge` and costs status one indexed read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcal.service import Service

if TYPE_CHECKING:
    from sqlmodel import Session


@dataclass(frozen=True)
class SyncFailure:
    user_id: str
    backend: str | None
    failing_since: datetime
    failures: int  # consecutive failed syncs
    last_success_at: datetime | None
    last_error: str | None


class SyncHealthService(Service):
    def record(
        self,
        user_id: str,
        backend: str | None,
        *,
        error: str | None = None,
        now: datetime | None = None,
        session: Session | None = None,
    ) -> None:
        """Note one sync of the user's calendar: a success (error None) or a failure."""
        from sqlalchemy import func

        from agentcal.masking import mask
        from agentcal.models import UserSyncHealth, utcnow

        now = now or utcnow()
        t = UserSyncHealth.__table__  # type: ignore[attr-defined]
        values: dict[str, Any]
        on_conflict: dict[str, Any]
        if error is None:
            values = {"backend": backend, "last_success_at": now, "failing_since": None,
                      "failures": 0, "updated_at": now}  # fmt: skip
            on_conflict = values
        else:
            error = mask(error)[:2000]
            values = {"backend": backend, "failing_since": now, "failures": 1,
                      "last_failure_at": now, "last_error": error, "updated_at": now}  # fmt: skip
            on_conflict = {
                **values,
                "failing_since": func.coalesce(t.c.failing_since, now),
                "failures": t.c.failures + 1,
            }
        with self.transaction(session) as s:
            insert = _insert_for(s.connection().dialect.name)
            stmt = insert(t).values(user_id=user_id, **values)
            s.execute(stmt.on_conflict_do_update(index_elements=[t.c.user_id], set_=on_conflict))

    def failing(self, session: Session | None = None) -> list[SyncFailure]:
        """The users whose latest calendar sync failed, longest failing first (read path)."""
        from agentcal.reader import parse_time

        sql = (
            "SELECT user_id, backend, failing_since, failures, last_success_at, last_error "
            "FROM user_sync_health WHERE failing_since IS NOT NULL "
            "ORDER BY failing_since, user_id"
        )
        with self.reading(session) as r:
            rows = r.tuples(sql)
        return [
            SyncFailure(user, backend, parse_time(since), failures, parse_time(last), error)  # type: ignore[arg-type]
            for user, backend, since, failures, last, error in rows
        ]


def _insert_for(dialect: str) -> Any:
    """INSERT with ON CONFLICT DO UPDATE, in the store's dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


sync_health = SyncHealthService()
