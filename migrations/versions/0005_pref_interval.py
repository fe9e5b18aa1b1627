"""preferences every N weeks: calendar_preferences.interval_weeks and anchor_date

Revision ID: 0005_pref_interval
Revises: 0004_user_profiles
Create Date: 2026-12-02 09:00:00

A preference repeats every `interval_weeks` weeks on its days (1, the default and every
existing row: every week), counting weeks from the week of `anchor_date`, the first day it
may happen ("every other Wednesday" from the Wednesday it starts).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_pref_interval"
down_revision: str | None = "0004_user_profiles"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN with a constant default on both databases: no table copy; existing rows read 1.
    op.add_column(
        "calendar_preferences",
        sa.Column("interval_weeks", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column("calendar_preferences", sa.Column("anchor_date", sa.Date(), nullable=True))


def downgrade() -> None:
    # A plain ALTER TABLE DROP COLUMN on both databases (SQLite >= 3.35), not a batch table
    # copy: dropping the old table would null every event's preference_id (ON DELETE SET NULL).
    op.drop_column("calendar_preferences", "anchor_date")
    op.drop_column("calendar_preferences", "interval_weeks")
