"""agent_observability: ix_obs_session_usage, the usage columns in session order, replaces the
single-column index on session_id

Revision ID: 0008_obs_session_usage
Revises: 0007_event_sync_note
Create Date: 2026-12-02 13:20:00

`costs --by session` grouped a year of calls (100,000 calls, 43,000 sessions) with a sort of
every call in the window; on this index SQLite groups them in session order without one. Its
first column is session_id, so the session lookups the old index served use it as well, and a
logged call still updates one session index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_obs_session_usage"
down_revision: str | None = "0007_event_sync_note"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = [
    "session_id", "created_at", "user_id", "status", "execution_time_ms", "llm_cost_usd",
    "llm_prompt_tokens", "llm_completion_tokens", "llm_cached_tokens", "llm_total_tokens",
]  # fmt: skip


def upgrade() -> None:
    op.create_index("ix_obs_session_usage", "agent_observability", COLUMNS, unique=False)
    op.drop_index("ix_agent_observability_session_id", table_name="agent_observability")


def downgrade() -> None:
    op.create_index(
        "ix_agent_observability_session_id", "agent_observability", ["session_id"], unique=False
    )
    op.drop_index("ix_obs_session_usage", table_name="agent_observability")
