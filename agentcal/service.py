"""What every service shares: where its engine comes from, how it reads and how it opens a
transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from agentcal.reader import Reader


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

    @contextmanager
    def reading(self, session: Session | Reader | None = None) -> Iterator[Reader]:
        """A reader for read-only queries (see `agentcal.reader`): the caller's own reader
        (several reads, one snapshot), on the caller's session, on this service's engine, or on
        the configured store (read-only sqlite3 when it can)."""
        from agentcal.reader import Reader, reading

        if isinstance(session, Reader):
            yield session
            return
        with reading(self._engine, session) as reader:
            yield reader

    def raw_writer(self, session: Session | None = None) -> sqlite3.Connection | None:
        """A stdlib connection for a short write (`agentcal.writer`) when this service works
        on the configured default store and no caller's session; else None (use the ORM)."""
        if session is not None or self._engine is not None:
            return None
        from agentcal.writer import open_writer

        return open_writer()

    @contextmanager
    def transaction(self, session: Session | None = None) -> Iterator[Session]:
        """Use the caller's session as is, or open one that commits on success."""
        if session is not None:
            yield session
            return
        from agentcal.db import session_scope

        with session_scope(self.engine) as own:
            yield own
