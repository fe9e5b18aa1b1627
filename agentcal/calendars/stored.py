"""agentcal's events as the store keeps them: the local calendar's events (its calendar is the
store) and the base of `agentcal.planning.events`, which adds writing, searching and free time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcal import validation as v
from agentcal.errors import ValidationError
from agentcal.reader import columns
from agentcal.records import EventRow
from agentcal.service import Service

if TYPE_CHECKING:
    from sqlmodel import Session


MAX_EVENT_MINUTES = 7 * 24 * 60


def aware(value: Any, field: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValidationError(f"{field} must be a date and time with a time zone")
    return value


class StoredEvents(Service):
    """Reads a user's events."""

    def list_events(
        self,
        user_id: str,
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        include_cancelled: bool = False,
        statuses: Iterable[str] | None = None,
        session: Session | None = None,
    ) -> list[EventRow]:
        """The user's events overlapping [start, end), by start time. Only planned and
        confirmed ones unless `statuses` (or `include_cancelled`) says otherwise."""
        params: dict[str, Any] = {"user": v.user_id(user_id)}
        where = ["user_id = :user"]
        with self.reading(session) as r:
            if start is not None:
                start = aware(start, "start")
                # No event lasts longer than MAX_EVENT_MINUTES, so none starting earlier than
                # this can overlap: the bound keeps the (user_id, start_at) index scan to the
                # window instead of every older event.
                where += ["end_at > :start", "start_at > :earliest"]
                params["start"] = r.time(start)
                params["earliest"] = r.time(start - timedelta(minutes=MAX_EVENT_MINUTES))
            if end is not None:
                where.append("start_at < :end")
                params["end"] = r.time(aware(end, "end"))
            if statuses is None and not include_cancelled:
                statuses = ("planned", "confirmed")
            if statuses is not None:
                where.append(r.one_of("status", statuses, params, "status"))
            sql = (
                f"SELECT {columns(EventRow)} FROM calendar_events WHERE {' AND '.join(where)} "
                "ORDER BY start_at, id"
            )
            return r.records(EventRow, sql, params)
