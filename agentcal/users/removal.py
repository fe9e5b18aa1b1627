"""What a user owns, counted (`users show`, `users remove`) and deleted (`users remove --purge`):
their rows of every kind, their secret files and ICS file, and their chat checkpoints."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentcal import validation as v
from agentcal.errors import ConflictError, NotFoundError
from agentcal.service import Service
from agentcal.users.profile import resolve

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.settings import Settings


@dataclass
class RemoveResult:
    user_id: str
    calendar: str  # where their events went: what a purge cannot reach
    deleted: dict[str, int] = field(default_factory=dict)  # kind -> rows
    files: list[str] = field(default_factory=list)  # files deleted from the data dir


# Rows a user owns, by kind (what `users remove` counts and `--purge` deletes), in delete order.
DATA_KINDS = (
    ("jobs", "jobs"),
    ("calendar events", "calendar_events"),
    ("preferences", "calendar_preferences"),
    ("insights", "user_insights"),
    ("chat sessions", "chat_sessions"),
    ("agent calls", "agent_observability"),
)


class UserData(Service):
    """Counts and deletes the rows a user owns."""

    def data_counts(self, user_id: str, session: Session | None = None) -> dict[str, int]:
        """How many rows of each kind the user owns."""
        from sqlalchemy import func, select, table

        out: dict[str, int] = {}
        with self.transaction(session) as s:
            for kind, name in DATA_KINDS:
                t = table(name, user_column())
                out[kind] = s.execute(
                    select(func.count()).select_from(t).where(t.c.user_id == user_id)
                ).scalar_one()
        return out

    def remove(self, user_id: str, *, purge: bool = False) -> RemoveResult:
        """Delete a profile; with `purge`, also every row and secret file of the user.

        Without `purge` a user who still has data is refused (nothing is deleted)."""
        from sqlalchemy import delete, table

        from agentcal import user_files
        from agentcal.models import UserProfile
        from agentcal.settings import get_settings

        user = v.user_id(user_id)
        settings = get_settings()
        with self.transaction() as s:
            row = s.get(UserProfile, user)
            result = RemoveResult(user, resolve(user, row, settings).calendar)
            counts = self.data_counts(user, s)
            files = [*user_files.secret_files(settings, user)]
            ics = user_files.ics_path(settings, user)
            if ics.exists():
                files.append(ics)
            if row is None and not any(counts.values()) and not files:
                raise NotFoundError(f"no user {user!r}")
            if any(counts.values()) and not purge:
                held = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
                raise ConflictError(
                    f"user {user!r} still has data ({held}): "
                    f"`agentcal users remove {shlex.quote(user)} --purge` deletes it"
                )
            threads = _chat_threads(s, user) if purge else []
            for kind, name in DATA_KINDS:
                if counts[kind]:
                    t = table(name, user_column())
                    s.execute(delete(t).where(t.c.user_id == user))
                    result.deleted[kind] = counts[kind]
            # Part of their chat sessions (every thread a session had), and of their health.
            for name in ("chat_threads", "user_sync_health"):
                t = table(name, user_column())
                s.execute(delete(t).where(t.c.user_id == user))
            if row is not None:
                s.delete(row)
                result.deleted["profile"] = 1
        # After the commit: a file removed before a failed commit would be lost for nothing.
        for path in files:
            path.unlink(missing_ok=True)
            result.files.append(str(path))
        if threads:
            _forget_chat_threads(settings, threads)
        return result


def user_column() -> Any:
    from sqlalchemy import column

    return column("user_id")


def _chat_threads(s: Session, user_id: str) -> list[str]:
    from sqlmodel import select

    from agentcal.models import ChatThread

    return [
        str(t) for t in s.exec(select(ChatThread.thread_id).where(ChatThread.user_id == user_id))
    ]


def _forget_chat_threads(settings: Settings, threads: list[str]) -> None:
    """Delete the chat checkpoints (the conversations) of the given threads."""
    import sqlite3

    path = settings.checkpoint_path
    if not path.exists():
        return
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        with conn:
            for name in ("checkpoints", "writes"):
                if name in tables:
                    conn.executemany(
                        f"DELETE FROM {name} WHERE thread_id = ?", [(t,) for t in threads]
                    )
    finally:
        conn.close()
