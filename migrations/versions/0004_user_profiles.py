"""user profiles: per-person time zone, calendar backend and budget

Revision ID: 0004_user_profiles
Revises: 0003_monitoring
Create Date: 2026-11-27 09:00:00

Only a new table: existing rows of every user stay as they are. Users without a profile are
resolved at run time (agentcal.users.profiles): the configured user (AGENTCAL_USER)
keeps the environment's settings, everyone else gets the local calendar.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

import agentcal.models  # noqa: F401  (UTCDateTime)

revision: str = "0004_user_profiles"
down_revision: str | None = "0003_monitoring"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_profiles",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("timezone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("calendar", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            "google_calendar_id", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True
        ),
        sa.Column("caldav_url", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
        sa.Column("caldav_username", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("caldav_calendar", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("daily_budget_usd", sa.Float(), nullable=True),
        sa.Column("created_at", agentcal.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", agentcal.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    op.drop_table("user_profiles")
