"""per-user latency index for agentcal costs

Revision ID: 0002_obs_user_latency
Revises: 0001_initial
Create Date: 2026-11-26 05:05:00

`agentcal costs` reads a user's latency percentiles by walking this index in latency order:
it visits only that user's calls (ix_obs_latency visits every user's), and `--by user` walks
it once per user instead of sorting every call in a window query.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_obs_user_latency"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain CREATE INDEX on both databases: no table copy, the rows stay where they are.
    op.create_index(
        "ix_obs_user_latency",
        "agent_observability",
        ["user_id", "execution_time_ms", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_obs_user_latency", table_name="agent_observability")
