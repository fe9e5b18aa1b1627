"""What every service shares: where its engine comes from, and how it opens a transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.engine import Engine
    from sqlmodel import Session


class Service:
    """A service bound to an engine, or (engine=None) to the configured store at call time."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        if self._engine is not None:
            return self._engine
        from agentcal.db import get_engine

        return get_engine()

    def sqlite_reader(self) -> sqlite3.Connection | None:
        """A read-only stdlib sqlite3 connection to the configured store when it is a SQLite
        file at the schema head and this service is not bound to an engine; else None (see
        `agentcal.sqlite_reader`). The caller closes it."""
        if self._engine is not None:
            return None
        from agentcal.sqlite_reader import open_store

        return open_store()

    @contextmanager
    def transaction(self, session: Session | None = None) -> Iterator[Session]:
        """Use the caller's session as is, or open one that commits on success."""
        if session is not None:
            yield session
            return
        from agentcal.db import session_scope

        with session_scope(self.engine) as own:
            yield own
