"""per-user calendar sync health for agentcal status

Revision ID: 0006_user_sync_health
Revises: 0005_pref_interval
Create Date: 2026-12-02 09:30:00

A new table only; it fills as calendar_sync jobs run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import agentcal.models  # noqa: F401  (UTCDateTime)

revision: str = "0006_user_sync_health"
down_revision: str | None = "0005_pref_interval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_sync_health",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("backend", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("last_success_at", agentcal.models.UTCDateTime(), nullable=True),
        sa.Column("failing_since", agentcal.models.UTCDateTime(), nullable=True),
        sa.Column("last_failure_at", agentcal.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("updated_at", agentcal.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("user_sync_health")
