"""The emitter's reads and writes: events read raw for the planner, new and changed events
written in bulk with one `calendar_sync` job per new revision, and one emitter at a time.

Plain DBAPI statements inside the session's transaction: SQLAlchemy's per-value bind processing
and ORM objects cost more than the database itself here (docs/benchmarks.md).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from agentcal.planning.planner import (
    ACTIVE,
    DISABLED_NOTE,
    SUGGESTION_NOTE,
    EmitResult,
    Event,
    Placement,
)
from agentcal.queue.calendar_sync import sync_job

if TYPE_CHECKING:
    from sqlmodel import Session

# Any constant shared by every emitter process (the migrations lock on 472193).
EMITTER_LOCK = 472194


def load(
    s: Session, users: list[str], window: tuple[datetime, datetime]
) -> tuple[list[dict[str, Any]], dict[str, list[Any]]]:
    from sqlalchemy import select

    from agentcal.models import CalendarPreference

    p = CalendarPreference.__table__  # type: ignore[attr-defined]
    one = len(users) == 1
    pref_rows = s.execute(
        select(p)
        .where(p.c.user_id == users[0] if one else p.c.user_id.in_(users))
        .order_by(p.c.priority, p.c.id)
    ).mappings()
    prefs = [dict(r) for r in pref_rows]
    events: dict[str, list[Any]] = {}
    for row in read_events(s, users, window):
        events.setdefault(row.user_id, []).append(row)
    return prefs, events


def cancel_unwanted(
    s: Session,
    prefs: list[dict[str, Any]],
    now: datetime,
    by_user: dict[str, EmitResult],
    updates: list[tuple[int | None, dict[str, Any]]],
    revisions: dict[int | None, int],
) -> set[int]:
    """Cancel the future events of disabled or suggestion-only preferences."""
    from sqlalchemy import select

    from agentcal.models import CalendarEvent

    unwanted = {p["id"]: p for p in prefs if not (p["is_active"] and p["auto_schedule"])}
    if not unwanted:
        return set()
    e = CalendarEvent.__table__  # type: ignore[attr-defined]
    rows = s.execute(
        select(e.c.id, e.c.user_id, e.c.preference_id, e.c.title, e.c.local_date,
               e.c.start_at, e.c.end_at, e.c.revision)
        .where(e.c.preference_id.in_(list(unwanted)), e.c.start_at > now,
               e.c.status.in_((*ACTIVE, "unplaced")))
        .order_by(e.c.start_at)
    ).all()  # fmt: skip
    for row in rows:
        pref = unwanted[row.preference_id]
        note = DISABLED_NOTE if not pref["is_active"] else SUGGESTION_NOTE
        updates.append((row.id, {"status": "cancelled", "placement_note": note}))
        revisions[row.id] = row.revision
        by_user[row.user_id].placements.append(
            Placement("cancelled", row.preference_id, row.title, row.local_date,
                      row.start_at, row.end_at, note, row.id)
        )  # fmt: skip
    return {row.id for row in rows}


def cancel_preference_events(
    s: Session, user_id: str, preference_id: int, reason: str, now: datetime
) -> list[int]:
    """Cancel the preference's events that have not started yet; returns their ids."""
    from sqlmodel import col, select

    from agentcal.models import CalendarEvent

    rows = s.exec(
        select(CalendarEvent).where(
            CalendarEvent.user_id == user_id,
            CalendarEvent.preference_id == preference_id,
            col(CalendarEvent.start_at) > now,
            col(CalendarEvent.status).in_((*ACTIVE, "unplaced")),
        )
    ).all()
    updates = [(e.id, {"status": "cancelled", "placement_note": reason}) for e in rows]
    apply(s, creates=[], updates=updates, revisions={e.id: e.revision for e in rows})
    return [e.id for e in rows if e.id is not None]


def apply(
    s: Session,
    *,
    creates: list[dict[str, Any]],
    updates: list[tuple[int | None, dict[str, Any]]],
    revisions: dict[int | None, int],
) -> list[int]:
    """Insert and update events in bulk and queue one calendar_sync job per new revision.

    Plain DBAPI statements inside the session's transaction: SQLAlchemy's per-value bind
    processing (and, for INSERT ... RETURNING in parameter order on SQLite, one statement
    per row) cost more than SQLite itself."""
    from agentcal.models import utcnow
    from agentcal.queue.jobs import job_queue

    if not creates and not updates:
        return []  # a rerun that changes nothing writes nothing
    db = Db(s)
    now = db.time(utcnow())
    syncs: list[dict[str, Any]] = []
    new_ids = insert_events(db, creates, now)
    for create, new_id in zip(creates, new_ids, strict=True):
        if create["status"] != "unplaced":
            syncs.append(sync_job(new_id, 1, create["user_id"]))
    if updates:
        user_of = db.users_of([event_id for event_id, _ in updates])
        by_columns: dict[tuple[str, ...], list[list[Any]]] = {}
        for event_id, values in updates:
            assert event_id is not None
            revision = revisions[event_id] + 1
            revisions[event_id] = revision
            columns = tuple(values)
            row = [db.value(values[c]) for c in columns]
            by_columns.setdefault(columns, []).append([*row, revision, now, event_id])
            syncs.append(sync_job(event_id, revision, user_of[event_id]))
        for columns, rows in by_columns.items():
            sets = ", ".join(f"{c} = {db.mark}" for c in (*columns, "revision", "updated_at"))
            db.executemany(f"UPDATE calendar_events SET {sets} WHERE id = {db.mark}", rows)
    if syncs:
        from agentcal.planning.push import note_changed

        job_queue.enqueue_many(syncs, session=s)
        for user in {job["user_id"] for job in syncs}:
            note_changed(user, s)
    return new_ids


def insert_events(db: Db, creates: list[dict[str, Any]], now: Any) -> list[int]:
    """Insert the new events, several rows a statement; their ids in `creates` order."""
    if not creates:
        return []
    columns = (*CREATE_COLUMNS, "uid", "revision", "created_at", "updated_at")
    uids = new_uids(len(creates))
    ids: dict[str, int] = {}
    per = 500
    for i in range(0, len(creates), per):
        chunk = creates[i : i + per]
        params: list[Any] = []
        t, d = db.time, db.date
        for c, uid in zip(chunk, uids[i : i + per], strict=True):
            params += (
                c["title"], t(c["start_at"]), t(c["end_at"]), c["status"], c["placement_note"],
                c["user_id"], c["preference_id"], d(c["local_date"]), c["timezone"],
                c["origin"], uid, 1, now, now,
            )  # fmt: skip
        one = f"({', '.join([db.mark] * len(columns))})"
        sql = (
            f"INSERT INTO calendar_events ({', '.join(columns)}) "
            f"VALUES {', '.join([one] * len(chunk))} RETURNING id, uid"
        )
        ids.update((uid, event_id) for event_id, uid in db.fetchall(sql, params))
    return [ids[uid] for uid in uids]


# In the order insert_events writes them.
CREATE_COLUMNS = (
    "title", "start_at", "end_at", "status", "placement_note", "user_id", "preference_id",
    "local_date", "timezone", "origin",
)  # fmt: skip


def new_uids(n: int) -> list[str]:
    """`calendar_events.new_uid()` n times (random version-4 UUIDs), without uuid.UUID's
    per-call validation."""
    raw = os.urandom(16 * n)
    out = []
    for i in range(n):
        value = int.from_bytes(raw[16 * i : 16 * i + 16], "big")
        value = (value & ~(0xF000 << 64) | (4 << 76)) & ~(0xC000 << 48) | (0x8000 << 48)
        out.append(f"{value:032x}@agentcal")
    return out


class Db:
    """The DBAPI connection under a session's transaction, with the store's value formats."""

    def __init__(self, s: Session) -> None:
        s.flush()  # pending ORM changes first: raw statements bypass autoflush
        conn = s.connection()
        self.dialect = conn.dialect.name
        self.raw: Any = conn.connection.driver_connection
        self.mark = "?" if self.dialect == "sqlite" else "%s"

    def time(self, value: datetime) -> Any:
        """A UTC time as the UTCDateTime column stores it (SQLite: ISO text)."""
        if self.dialect == "sqlite" and value.tzinfo is UTC:  # datetime.replace is slow
            return value.isoformat(" ", "microseconds")[:-6]  # without "+00:00"
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return naive.isoformat(" ", "microseconds") if self.dialect == "sqlite" else naive

    def date(self, value: date | None) -> Any:
        return value.isoformat() if value is not None and self.dialect == "sqlite" else value

    def value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            return self.time(value)
        if isinstance(value, date):
            return self.date(value)
        return value

    def fetchall(self, sql: str, params: list[Any]) -> list[Any]:
        cursor = self.raw.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def executemany(self, sql: str, rows: list[list[Any]]) -> None:
        cursor = self.raw.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def users_of(self, ids: list[int | None]) -> dict[int, str]:
        out: dict[int, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ", ".join([self.mark] * len(chunk))
            sql = f"SELECT id, user_id FROM calendar_events WHERE id IN ({marks})"
            out.update(self.fetchall(sql, chunk))
        return out


def read_events(s: Session, users: list[str], window: tuple[datetime, datetime]) -> list[Event]:
    """The users' events overlapping the window, read raw (typing each value through
    SQLAlchemy was most of a rerun)."""
    db = Db(s)
    marks = ", ".join([db.mark] * len(users))
    sql = (
        f"SELECT {', '.join(Event._fields)} FROM calendar_events "
        f"WHERE user_id IN ({marks}) AND start_at < {db.mark} AND end_at > {db.mark}"
    )
    rows = db.fetchall(sql, [*users, db.time(window[1]), db.time(window[0])])
    if db.dialect == "sqlite":
        # Naive UTC text + "+00:00" parses straight to an aware UTC datetime (datetime.replace
        # costs eight times the parse).
        t, d = datetime.fromisoformat, date.fromisoformat
        return [
            Event(i, u, p, title, d(day) if day else None, t(a + "+00:00"), t(b + "+00:00"),
                   st, note, rev, t(upd + "+00:00"))
            for i, u, p, title, day, a, b, st, note, rev, upd in rows
        ]  # fmt: skip
    return [
        Event(i, u, p, title, day, a.replace(tzinfo=UTC), b.replace(tzinfo=UTC), st, note, rev,
               upd.replace(tzinfo=UTC))
        for i, u, p, title, day, a, b, st, note, rev, upd in rows
    ]  # fmt: skip


def one_emitter_at_a_time(s: Session) -> None:
    """Several daemons on one PostgreSQL store: their emitter batches take turns, so the second
    sees the first one's events instead of inserting the same (preference, day) again. SQLite
    needs nothing: BEGIN IMMEDIATE already serialises writers."""
    from sqlalchemy import text

    if s.connection().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EMITTER_LOCK})
