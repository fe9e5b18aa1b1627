"""monitoring: each worker's heartbeat interval, and what an alert is about

Revision ID: 0003_monitoring
Revises: 0002_obs_user_latency
Create Date: 2026-12-02 07:30:00

`worker_heartbeats.heartbeat_seconds`: how often the worker promised to beat; it is stale after
three missed beats, whatever the settings of the process that looks. `alerts.subject`: what an
alert is about (`process:<host>:<pid>`, `lease:<job id>:<attempt>`), so the monitor raises one
alert per problem and clears it when the problem is resolved.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003_monitoring"
down_revision: str | None = "0002_obs_user_latency"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns without defaults: ALTER TABLE ADD COLUMN on both databases, no copy.
    op.add_column("worker_heartbeats", sa.Column("heartbeat_seconds", sa.Float(), nullable=True))
    op.add_column(
        "alerts",
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    )
    op.create_index("ix_alerts_subject", "alerts", ["subject"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_alerts_subject", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("subject")
    with op.batch_alter_table("worker_heartbeats") as batch:
        batch.drop_column("heartbeat_seconds")
