"""the running turns of a user, for reserve_call's sweep of turns a dead process left running

Revision ID: 0009_obs_running
Revises: 0008_obs_session_usage
Create Date: 2026-12-02 14:00:00

Every chat turn (and every changing MCP call) first closes the user's turns still `running`
after an hour. With only (user_id, created_at) to go on, that sweep read every older row of
the user to test its status: ~280 ms per turn for a user with 100,000 calls, a fifth of
LangGraph's own import (docs/benchmarks.md). A partial index holds only the running rows, a
handful at most, on both databases.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_obs_running"
down_revision: str | None = "0008_obs_session_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNING = "status = 'running'"


def upgrade() -> None:
    op.create_index(
        "ix_obs_running",
        "agent_observability",
        ["user_id", "created_at"],
        unique=False,
        sqlite_where=sa.text(RUNNING),
        postgresql_where=sa.text(RUNNING),
    )


def downgrade() -> None:
    op.drop_index("ix_obs_running", table_name="agent_observability")
