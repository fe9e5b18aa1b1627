"""chat_threads: every conversation a chat session has had, with the session's name

Revision ID: 0010_chat_threads
Revises: 0009_obs_running
Create Date: 2026-12-02 16:40:00

chat_sessions keeps one thread per (user, name): the current one. A thread replaced by
`chat --new`, `/new` or the next one-off `chat -m` lost its name, so `costs --by session`
showed its raw id and `logs list --session` did not find it. From now on every thread a
session opens is also written here, and stays.

Existing stores: each session's current thread is copied (its start: its first call, else the
session's creation). Threads replaced before this migration are not: nothing in the store says
which name they had (a call row carries its thread id only), so they keep showing their ids.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import agentcal.models  # noqa: F401  (UTCDateTime)

revision: str = "0010_chat_threads"
down_revision: str | None = "0009_obs_running"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("thread_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", agentcal.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("thread_id"),
    )
    op.create_index(
        "ix_chat_threads_name", "chat_threads", ["user_id", "name", "thread_id"], unique=False
    )
    op.execute(
        "INSERT INTO chat_threads (user_id, name, thread_id, created_at)"
        " SELECT s.user_id, s.name, s.thread_id, COALESCE((SELECT MIN(o.created_at)"
        " FROM agent_observability o WHERE o.session_id = s.thread_id), s.created_at)"
        " FROM chat_sessions s ORDER BY s.id"
    )


def downgrade() -> None:
    op.drop_index("ix_chat_threads_name", table_name="chat_threads")
    op.drop_table("chat_threads")
