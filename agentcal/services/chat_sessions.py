"""Named chat sessions: a name per user mapped to a LangGraph checkpoint thread id."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcal.services import validation as v
from agentcal.services.base import Service

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import ChatSession

DEFAULT_SESSION = "default"
# `chat -m` without --session or --continue: a fresh conversation each time, under this name.
ONE_OFF_SESSION = "one-off"


class ChatSessionsService(Service):
    """Open, restart and list chat sessions."""

    def open_session(
        self, user_id: str, name: str = DEFAULT_SESSION, *, new: bool = False,
        session: Session | None = None,
    ) -> ChatSession:  # fmt: skip
        """The session called `name`, created if missing; `new=True` gives it a fresh thread."""
        from uuid import uuid4

        from sqlmodel import select

        from agentcal.models import ChatSession, utcnow

        user = v.user_id(user_id)
        name = v.non_empty(name, "session name", 200)
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

    def list_sessions(self, user_id: str, session: Session | None = None) -> list[ChatSession]:
        from sqlmodel import col, select

        from agentcal.models import ChatSession

        stmt = select(ChatSession).where(ChatSession.user_id == v.user_id(user_id))
        with self.transaction(session) as s:
            return list(s.exec(stmt.order_by(col(ChatSession.last_used_at).desc())))


chat_sessions_service = ChatSessionsService()
