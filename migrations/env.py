"""Alembic environment. Used by `agentcal db upgrade`, by the automatic upgrade on first use,
and by `alembic` run from the checkout (configured in pyproject.toml's [tool.alembic])."""

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import agentcal.models  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata


def _engine():
    engine = config.attributes.get("engine")
    if engine is None:
        from agentcal.db import get_engine

        engine = get_engine(upgrade=False)
    return engine


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several processes may start at once on a fresh database: one migrates.
                connection.execute(text("SELECT pg_advisory_xact_lock(472193)"))
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run against a database")
run_migrations_online()
