"""Named chat sessions: a name per user mapped to a LangGraph checkpoint thread id.

`chat_sessions` points each name at its current thread; `chat_threads` keeps every thread a
name ever had (a new one comes with `--new`, `/new` and each one-off `chat -m`), so a
replaced conversation still shows the name the user typed in `costs --by session`,
`sessions list` and `logs list --session`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from agentcal import validation as v
from agentcal.records import ChatSessionRow, ChatThreadRow
from agentcal.service import Service

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import ChatSession
    from agentcal.reader import Reader

DEFAULT_SESSION = "default"
# `chat -m` without --session or --continue: a fresh conversation each time, under this name.
ONE_OFF_SESSION = "one-off"
NAMES_PER_QUERY = 500  # bound parameters per query: SQLite allows 32,766, psycopg 65,535
SEEK_NAMES = 5_000  # more threads' names than this: read them all (session_names)


class SessionSummary(NamedTuple):
    """A named chat session and what all its conversations did (`thread_id`: the current one)."""

    name: str
    thread_id: str
    created_at: datetime
    last_used_at: datetime
    conversations: int
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

        from agentcal.models import ChatSession, ChatThread, utcnow

        with self.transaction(session) as s:
            now = utcnow()
            row = s.exec(
                select(ChatSession).where(ChatSession.user_id == user, ChatSession.name == name)
            ).first()
            if row is None:
                row = ChatSession(user_id=user, name=name, thread_id=uuid4().hex, created_at=now)
            elif new:
                row.thread_id = uuid4().hex
            if row.id is None or new:
                s.add(ChatThread(user_id=user, name=name, thread_id=row.thread_id, created_at=now))
            row.last_used_at = now
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
        """The user's named sessions, last used first, with the conversations, turns and cost
        of each name over all its threads (`--new`, `/new` and each one-off `chat -m` start
        another conversation under the same name)."""
        # The threads of a name come in name order from ix_chat_threads_name, the calls of
        # each thread from ix_obs_session_usage (session_id first, covering): no sort. The
        # conversations are counted apart: COUNT(DISTINCT) in the join sorted every call
        # (45 -> 34 ms CPU for 50,000 threads and 100,000 calls, docs/benchmarks.md).
        sql = (
            "SELECT s.name, s.thread_id, s.created_at, s.last_used_at,"
            " (SELECT COUNT(*) FROM chat_threads c"
            "  WHERE c.user_id = s.user_id AND c.name = s.name) AS conversations,"
            " COALESCE(a.turns, 0) AS turns, COALESCE(a.tokens, 0) AS tokens,"
            " COALESCE(a.cost_usd, 0) AS cost_usd, a.last_turn_at"
            " FROM chat_sessions s LEFT JOIN ("
            "SELECT t.name, COUNT(*) AS turns, SUM(o.llm_total_tokens) AS tokens,"
            " SUM(o.llm_cost_usd) AS cost_usd, MAX(o.created_at) AS last_turn_at"
            " FROM chat_threads t JOIN agent_observability o ON o.session_id = t.thread_id"
            " WHERE t.user_id = :user GROUP BY t.name"
            ") AS a ON a.name = s.name"
            " WHERE s.user_id = :user ORDER BY s.last_used_at DESC, s.id DESC"
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
            row = created._replace(id=writer.insert(c, "chat_sessions", ChatSessionRow, values))
        else:
            stored = ChatSessionRow._make(found)
            row = stored._replace(
                created_at=parse_time(stored.created_at) or now,
                thread_id=uuid4().hex if new else stored.thread_id,
                last_used_at=now,
            )
            changes = {"thread_id": row.thread_id, "last_used_at": now}
            writer.update(c, "chat_sessions", ChatSessionRow, changes, "id = :id", {"id": row.id})
            if not new:
                return row
        thread = {"user_id": user, "name": name, "thread_id": row.thread_id, "created_at": now}
        writer.insert(c, "chat_threads", ChatThreadRow, thread)
        return row


def session_names(r: Reader, thread_ids: Iterable[str | None]) -> dict[str, str]:
    """Thread id -> session name on reader `r` (a report's own snapshot), for every thread
    a session ever had. A table's few threads are sought by the unique index on thread_id,
    NAMES_PER_QUERY per query; an export's thousands by reading the whole table, cheaper a
    row (on the bench store, 50,000 of 50,000 threads: ~240 ms sought, ~60-140 ms read)."""
    wanted = {t for t in thread_ids if t is not None}
    if len(wanted) > SEEK_NAMES:
        rows = r.tuples("SELECT thread_id, name FROM chat_threads")
        return {str(t): str(n) for t, n in rows if t in wanted}
    out: dict[str, str] = {}
    ordered = sorted(wanted)
    for i in range(0, len(ordered), NAMES_PER_QUERY):
        params: dict[str, Any] = {}
        where = r.one_of("thread_id", ordered[i : i + NAMES_PER_QUERY], params, "t")
        rows = r.tuples(f"SELECT thread_id, name FROM chat_threads WHERE {where}", params)
        out.update((str(t), str(n)) for t, n in rows)
    return out


def session_threads(name: str, user_id: str | None) -> tuple[str, dict[str, Any]]:
    """A query of the ids of every thread the session called `name` has had (one user's, or
    with `user_id` None every user's), and its parameters: to run, or to use as a subquery."""
    sql = "SELECT thread_id FROM chat_threads WHERE name = :session_name"
    params = {"session_name": name}
    if user_id is not None:
        sql += " AND user_id = :session_user"
        params["session_user"] = user_id
    return sql, params


chat_sessions_service = ChatSessionsService()
