"""calendar_events.sync_note (what the calendar did with an event: deleted or moved there) and
backend_etag (CalDAV: the ETag of the object agentcal last wrote whole)

Revision ID: 0007_event_sync_note
Revises: 0006_user_sync_health
Create Date: 2026-12-02 10:30:00

Nullable columns only; they fill as calendar syncs run.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0007_event_sync_note"
down_revision: str | None = "0006_user_sync_health"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "calendar_events",
        sa.Column("sync_note", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    )
    op.add_column(
        "calendar_events",
        sa.Column("backend_etag", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("calendar_events") as batch:
        batch.drop_column("backend_etag")
        batch.drop_column("sync_note")
