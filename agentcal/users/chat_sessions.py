"""Named chat sessions: a name per user mapped to a LangGraph checkpoint thread id."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from agentcal import validation as v
from agentcal.records import ChatSessionRow
from agentcal.service import Service

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import ChatSession
    from agentcal.reader import Reader

DEFAULT_SESSION = "default"
# `chat -m` without --session or --continue: a fresh conversation each time, under this name.
ONE_OFF_SESSION = "one-off"


class SessionSummary(NamedTuple):
    """A named chat session and what its current conversation did."""

    name: str
    thread_id: str
    created_at: datetime
    last_used_at: datetime
    turns: int
    tokens: int
    cost_usd: float
    last_turn_at: datetime | None


class ChatSessionsService(Service):
    """Open, restart and list chat sessions."""

    def open_session(
        self, user_id: str, name: str = DEFAULT_SESSION, *, new: bool = False,
        session: Session | None = None,
    ) -> ChatSession | ChatSessionRow:  # fmt: skip
        """The session called `name`, created if missing; `new=True` gives it a fresh thread."""
        from uuid import uuid4

        user = v.user_id(user_id)
        name = v.non_empty(name, "session name", 200)
        raw = self.raw_writer(session)
        if raw is not None:
            return _open_raw(raw, user, name, new)
        from sqlmodel import select

        from agentcal.models import ChatSession, utcnow

        with self.transaction(session) as s:
            row = s.exec(
                select(ChatSession).where(ChatSession.user_id == user, ChatSession.name == name)
            ).first()
            if row is None:
                row = ChatSession(user_id=user, name=name, thread_id=uuid4().hex)
            elif new:
                row.thread_id = uuid4().hex
            row.last_used_at = utcnow()
            s.add(row)
            s.flush()
            return row

    def find_session(self, user_id: str, name: str | None = None) -> ChatSessionRow | None:
        """The user's session called `name`, or (name None) the one used last; None if none.
        One row: a turn needs no aggregate of the calls as `list_sessions` gives."""
        from agentcal.reader import columns

        sql = f"SELECT {columns(ChatSessionRow)} FROM chat_sessions WHERE user_id = :user"
        params = {"user": v.user_id(user_id)}
        if name is not None:
            sql += " AND name = :name"
            params["name"] = name
        with self.reading() as r:
            rows = r.records(
                ChatSessionRow, sql + " ORDER BY last_used_at DESC, id DESC LIMIT 1", params
            )
        return rows[0] if rows else None

    def list_sessions(self, user_id: str, session: Session | None = None) -> list[SessionSummary]:
        """The user's named sessions, last used first, with the turns and cost of each one's
        current conversation (`--new` or `/new` starts another)."""
        sql = (
            "SELECT s.name, s.thread_id, s.created_at, s.last_used_at, COUNT(o.id) AS turns,"
            " COALESCE(SUM(o.llm_total_tokens), 0) AS tokens,"
            " COALESCE(SUM(o.llm_cost_usd), 0) AS cost_usd, MAX(o.created_at) AS last_turn_at"
            " FROM chat_sessions s LEFT JOIN agent_observability o ON o.session_id = s.thread_id"
            " WHERE s.user_id = :user GROUP BY s.id ORDER BY s.last_used_at DESC, s.id DESC"
        )
        with self.reading(session) as r:
            return r.records(SessionSummary, sql, {"user": v.user_id(user_id)})

    def session_names(self, thread_ids: Iterable[str | None]) -> dict[str, str]:
        """Thread id -> session name, for the threads that belong to a named session."""
        with self.reading() as r:
            return session_names(r, thread_ids)


def _open_raw(conn: Any, user: str, name: str, new: bool) -> ChatSessionRow:
    """`open_session` on the stdlib write path (agentcal.writer)."""
    from datetime import UTC
    from uuid import uuid4

    from agentcal import writer
    from agentcal.reader import columns, parse_time

    now = datetime.now(UTC)
    with writer.transaction(conn) as c:
        found = c.execute(
            f"SELECT {columns(ChatSessionRow)} FROM chat_sessions "
            "WHERE user_id = :user AND name = :name",
            {"user": user, "name": name},
        ).fetchone()
        if found is None:
            created = ChatSessionRow(0, user, name, uuid4().hex, now, now)
            values = created._asdict()
            del values["id"]
            return created._replace(id=writer.insert(c, "chat_sessions", ChatSessionRow, values))
        stored = ChatSessionRow._make(found)
        row = stored._replace(
            created_at=parse_time(stored.created_at) or now,
            thread_id=uuid4().hex if new else stored.thread_id,
            last_used_at=now,
        )
        changes = {"thread_id": row.thread_id, "last_used_at": now}
        writer.update(c, "chat_sessions", ChatSessionRow, changes, "id = :id", {"id": row.id})
        return row


def session_names(r: Reader, thread_ids: Iterable[str | None]) -> dict[str, str]:
    """Thread id -> session name on reader `r` (a report's own snapshot)."""
    wanted = {t for t in thread_ids if t is not None}
    if not wanted:
        return {}
    rows = r.tuples("SELECT thread_id, name FROM chat_sessions")
    return {str(t): str(n) for t, n in rows if t in wanted}


chat_sessions_service = ChatSessionsService()
