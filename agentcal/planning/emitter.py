"""The seed's `CalendarEventEmitter`: preferences -> concrete calendar events for the next N days.

For every active auto-scheduled preference and every day it happens in the user's time zone (its
days of the week, in its weeks when it repeats every N weeks: `occurs_on`), one
`calendar_events` row (unique per preference and local date, so a rerun creates nothing new).
Placement runs in priority order (1 first), and every decision is explained:

* an inflexible preference keeps its time, even over other events (the overlap is noted);
* a flexible one that collides with busy time (the store's events, events placed earlier in
  this run, and the calendar backend's busy times) moves to the nearest free slot within
  +/- AGENTCAL_FLEX_WINDOW_MINUTES; if there is none it is recorded as `unplaced` with the
  reason, never dropped silently;
* a wall-clock time that does not exist on a DST day (02:30 when clocks jump to 03:00) moves
  forward by the jump; one that happens twice (clocks go back) takes its first occurrence; both
  are noted. Every event lasts exactly its preference's duration (end = start + duration, in
  elapsed time), so one that spans the change ends at a different wall time.

Existing events are left where they are (the user may have moved them; a past placement is not
reshuffled) unless their preference changed after the event was last written, in which case the
event is placed again. Events of disabled, removed or suggestion-only preferences are cancelled
from now on, and so are upcoming events on days their preference no longer has (its days or
weeks changed). A cancelled event is not brought back, except one the emitter itself cancelled
(its preference was disabled, or the day left its schedule). Every change queues a
`calendar_sync` job.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from agentcal import validation as v
from agentcal.planning.preferences import occurs_on
from agentcal.service import Service
from agentcal.vocab import USUAL_TIME_NOTE

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.calendars.base import CalendarBackend
    from agentcal.planning.from_insights import SyncOutcome

log = logging.getLogger(__name__)

DISABLED_NOTE = "cancelled: its preference was disabled"
SUGGESTION_NOTE = "cancelled: its preference is only a suggestion now"
REMOVED_NOTE = "cancelled: its preference was removed"
OFF_SCHEDULE_NOTE = "cancelled: no longer on its preference's days"
_EMITTER_CANCEL_NOTES = (DISABLED_NOTE, SUGGESTION_NOTE, OFF_SCHEDULE_NOTE)
ACTIVE = ("planned", "confirmed")
SYNC_PRIORITY = 50
USERS_PER_BATCH = 200
# Calendars whose busy time lives outside the store (a local user's is in the store already).
REMOTE_CALENDARS = ("google", "caldav")


@dataclass(frozen=True)
class Busy:
    """A busy span. With `tz`, `text` is an event's title and the label ("“Gym” at 06:30") is
    built only when something collides with it (most spans never do)."""

    start: datetime
    end: datetime
    text: str
    tz: ZoneInfo | None = None

    @property
    def label(self) -> str:
        return self.text if self.tz is None else _label(self.text, self.start, self.tz)


@dataclass
class Placement:
    """One decision of the emitter, with its reason."""

    outcome: str  # planned | moved | unplaced | updated | cancelled | unchanged | skipped
    preference_id: int | None
    title: str
    local_date: date | None
    start: datetime | None
    end: datetime | None
    reason: str = ""
    event_id: int | None = None
    moved_minutes: int = 0
    avoided: str | None = None


@dataclass
class EmitResult:
    """What one emitter run did (or, with dry_run, would do) for one user."""

    user_id: str
    first_day: date
    days_ahead: int
    timezone: str
    dry_run: bool = False
    placements: list[Placement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    preferences: list[SyncOutcome] = field(default_factory=list)

    def of(self, *outcomes: str) -> list[Placement]:
        return [p for p in self.placements if p.outcome in outcomes]

    @property
    def changes(self) -> list[Placement]:
        return [p for p in self.placements if p.outcome not in ("unchanged", "skipped")]

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.placements:
            out[p.outcome] = out.get(p.outcome, 0) + 1
        return out


@dataclass(frozen=True)
class _Frame:
    """The days one time zone plans, and the window of events read around them."""

    tz: ZoneInfo
    days: list[date]
    window: tuple[datetime, datetime]

    @classmethod
    def of(cls, now: datetime, tz: ZoneInfo, days_ahead: int) -> _Frame:
        first = now.astimezone(tz).date()
        days = [first + timedelta(days=i) for i in range(days_ahead)]
        start = local_start(first, "00:00", tz)[0] - timedelta(days=1)
        end = local_start(days[-1], "00:00", tz)[0] + timedelta(days=2)
        return cls(tz, days, (start, end))


def local_start(day: date, hhmm: str, tz: ZoneInfo) -> tuple[datetime, str]:
    """The aware start of HH:MM on `day` in `tz`, and a note when DST moved it."""
    hours, minutes = (int(x) for x in hhmm.split(":"))
    naive = datetime.combine(day, time(hours, minutes))
    aware = naive.replace(tzinfo=tz)  # fold=0: the first of two ambiguous times
    utc = aware.astimezone(UTC)
    actual = utc.astimezone(tz)
    if actual.replace(tzinfo=None) != naive:
        return utc, f"{hhmm} does not exist on {day} (DST): starts at {actual:%H:%M}"
    if aware.replace(fold=1).utcoffset() != aware.utcoffset():
        return utc, f"{hhmm} happens twice on {day} (DST): placed at the first {hhmm}"
    return utc, ""


@lru_cache(maxsize=4096)
def _local_start_cached(day: date, hhmm: str, tz: ZoneInfo) -> tuple[datetime, str]:
    # Every preference at 06:30 shares one computation per day (tens of thousands per run).
    return local_start(day, hhmm, tz)


def nearest_free(
    busy: list[Busy], start: datetime, length: timedelta, window: timedelta
) -> datetime | None:
    """The free start closest to `start` within +/- window (earlier wins a tie), or None."""
    lo, hi = start - window, start + window + length
    spans = sorted((b.start, b.end) for b in busy if b.end > lo and b.start < hi)
    best: datetime | None = None
    cursor = lo
    for b_start, b_end in [*spans, (hi, hi)]:
        gap_end = min(b_start, hi)
        if gap_end - cursor >= length:
            candidate = min(max(start, cursor), gap_end - length)
            if best is None or abs(candidate - start) < abs(best - start):
                best = candidate
        cursor = max(cursor, b_end)
    return best


def _overlaps(busy: Iterable[Busy], start: datetime, end: datetime) -> list[Busy]:
    return [b for b in busy if b.start < end and b.end > start]


class CalendarEventEmitter(Service):
    """Turns preferences into events; `process_user_preferences` is the seed's entry point."""

    # -- entry points -----------------------------------------------------------------------

    def process_user_preferences(
        self,
        user_id: str,
        days_ahead: int = 7,
        *,
        dry_run: bool = False,
        now: datetime | None = None,
        backend: CalendarBackend | None = None,
        session: Session | None = None,
    ) -> EmitResult:
        """Plan (and unless dry_run, write) the user's events for the next `days_ahead` days."""
        user = v.user_id(user_id)
        return self.process_users(
            [user], days_ahead, dry_run=dry_run, now=now, backend=backend, session=session
        )[0]

    def process_users(
        self,
        user_ids: list[str],
        days_ahead: int = 7,
        *,
        dry_run: bool = False,
        now: datetime | None = None,
        backend: CalendarBackend | None = None,
        session: Session | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> list[EmitResult]:
        """`process_user_preferences` for many users, a batch of users per transaction.

        Each user is planned in their own time zone (their days, their DST) around the busy
        time of their own calendar. `backend` replaces every user's calendar as the source of
        busy time (tests); by default a Google or CalDAV user's own calendar is asked, while a
        local user's busy time is already in the store. One result per user, in `user_ids`'
        order (a user listed twice is planned once)."""
        from agentcal.models import utcnow
        from agentcal.settings import get_settings
        from agentcal.users.profiles import user_profiles_service

        if isinstance(days_ahead, bool) or not isinstance(days_ahead, int):
            raise v.ValidationError("days must be a whole number")
        if not 1 <= days_ahead <= 90:
            raise v.ValidationError(f"days must be between 1 and 90 (got {days_ahead})")
        settings = get_settings()
        now = now or utcnow()
        flex = timedelta(minutes=settings.flex_window_minutes)
        frames: dict[str, _Frame] = {}  # one per time zone
        profiles = user_profiles_service.profiles_for(user_ids, session=session)
        # Batches in the caller's order (`all_user_ids` sorts by id), not grouped by zone: a
        # batch of neighbouring ids writes to neighbouring index pages, while users grouped by
        # zone are spread over the whole id range and their inserts wrote 55 % more bytes
        # (docs/benchmarks.md). A batch over many zones reads its events over the union of
        # their windows, about a day wider than one zone's: each user plans from their own.
        order = list(dict.fromkeys(user_ids))

        results: list[EmitResult] = []
        for i in range(0, len(order), USERS_PER_BATCH):
            batch = order[i : i + USERS_PER_BATCH]
            batch_frames = {}
            for u in batch:
                zone = profiles[u].timezone
                if zone not in frames:
                    frames[zone] = _Frame.of(now, ZoneInfo(zone), days_ahead)
                batch_frames[u] = frames[zone]
            batch_results = [
                EmitResult(u, batch_frames[u].days[0], days_ahead, profiles[u].timezone, dry_run)
                for u in batch
            ]
            # Calendars are asked before the batch's transaction opens (never hold the write
            # lock across a remote call), each user's own calendar with their own credentials.
            external: dict[str, list[Busy]] = {}
            for r in batch_results:
                profile = profiles[r.user_id]
                if backend is None and profile.calendar not in REMOTE_CALENDARS:
                    continue
                frame = batch_frames[r.user_id]
                spans, warning = self._backend_busy(backend, r.user_id, *frame.window)
                external[r.user_id] = spans
                if warning:
                    r.warnings.append(warning)
            self._run_batch(
                batch_results,
                frames=batch_frames,
                now=now,
                flex=flex,
                external=external,
                dry_run=dry_run,
                session=session,
            )
            results.extend(batch_results)
            if progress is not None:
                progress(len(batch))
        by_user = {r.user_id: r for r in results}
        return [by_user[u] for u in user_ids]

    def all_user_ids(self) -> list[str]:
        """Every user with preferences or insights."""
        from sqlalchemy import select, union

        from agentcal.models import CalendarPreference, UserInsight

        stmt = union(
            select(CalendarPreference.user_id),  # type: ignore[call-overload]
            select(UserInsight.user_id),  # type: ignore[call-overload]
        )
        with self.transaction() as s:
            return sorted(str(u) for u in s.execute(stmt).scalars())

    def cancel_preference_events(
        self,
        user_id: str,
        preference_id: int,
        reason: str = DISABLED_NOTE,
        *,
        now: datetime | None = None,
        session: Session | None = None,
    ) -> list[int]:
        """Cancel the preference's events that have not started yet; returns their ids."""
        from sqlmodel import col, select

        from agentcal.models import CalendarEvent, utcnow

        now = now or utcnow()
        with self.transaction(session) as s:
            rows = s.exec(
                select(CalendarEvent).where(
                    CalendarEvent.user_id == user_id,
                    CalendarEvent.preference_id == preference_id,
                    col(CalendarEvent.start_at) > now,
                    col(CalendarEvent.status).in_((*ACTIVE, "unplaced")),
                )
            ).all()
            updates = [(e.id, {"status": "cancelled", "placement_note": reason}) for e in rows]
            self._apply(s, creates=[], updates=updates, revisions={e.id: e.revision for e in rows})
            return [e.id for e in rows if e.id is not None]

    # -- planning ---------------------------------------------------------------------------

    def _backend_busy(
        self, backend: CalendarBackend | None, user_id: str, start: datetime, end: datetime
    ) -> tuple[list[Busy], str]:
        try:
            if backend is None:
                from agentcal.users.profiles import user_profiles_service

                backend = user_profiles_service.backend_for(user_id)
            spans = backend.busy_times(start, end)
        except Exception as exc:  # any backend failure: plan from the store alone, and say so
            from agentcal.masking import mask

            log.warning("calendar busy times of %s unavailable: %s", user_id, mask(exc))
            return [], (
                f"the calendar did not answer ({mask(exc)}): placed using agentcal's events only"
            )
        label = f"busy in your {getattr(backend, 'name', 'calendar')} calendar"
        return [Busy(a, b, label) for a, b in spans], ""

    def _run_batch(
        self,
        results: list[EmitResult],
        *,
        frames: dict[str, _Frame],
        now: datetime,
        flex: timedelta,
        external: dict[str, list[Busy]],
        dry_run: bool,
        session: Session | None,
    ) -> None:
        from sqlmodel import Session as SqlSession

        from agentcal.planning.from_insights import insight_preference_sync

        own = session is None
        s = session if session is not None else SqlSession(self.engine, expire_on_commit=False)
        try:
            _one_emitter_at_a_time(s)
            users = [r.user_id for r in results]
            outcomes = insight_preference_sync.sync_users(users, session=s)
            window = (
                min(frames[u].window[0] for u in users),
                max(frames[u].window[1] for u in users),
            )
            prefs, events = self._load(s, users, window)
            creates: list[dict[str, Any]] = []
            updates: list[tuple[int | None, dict[str, Any]]] = []
            revisions: dict[int | None, int] = {}
            by_user = {r.user_id: r for r in results}
            for o in outcomes:
                by_user[o.user_id].preferences.append(o)
            cancelled = self._cancel_unwanted(s, prefs, now, by_user, updates, revisions)
            prefs_of: dict[str, list[dict[str, Any]]] = {}
            for pref in prefs:  # one pass (was a scan of the batch's preferences per user)
                prefs_of.setdefault(pref["user_id"], []).append(pref)
            for result in results:
                frame = frames[result.user_id]
                self._plan_user(
                    result,
                    prefs_of.get(result.user_id, []),
                    events.get(result.user_id, []),
                    days=frame.days,
                    now=now,
                    tz=frame.tz,
                    flex=flex,
                    external=external.get(result.user_id, []),
                    skip_ids=cancelled,
                    creates=creates,
                    updates=updates,
                    revisions=revisions,
                )  # fmt: skip
            new_ids = self._apply(s, creates=creates, updates=updates, revisions=revisions)
            for create, event_id in zip(creates, new_ids, strict=True):
                create["_placement"].event_id = event_id
            if dry_run:
                s.rollback()
            elif own:
                s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            if own:
                s.close()

    def _load(
        self, s: Session, users: list[str], window: tuple[datetime, datetime]
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
        for row in _read_events(s, users, window):
            events.setdefault(row.user_id, []).append(row)
        return prefs, events

    def _plan_user(
        self,
        result: EmitResult,
        prefs: list[dict[str, Any]],
        events: list[Any],
        *,
        days: list[date],
        now: datetime,
        tz: ZoneInfo,
        flex: timedelta,
        external: list[Busy],
        skip_ids: set[int],
        creates: list[dict[str, Any]],
        updates: list[tuple[int | None, dict[str, Any]]],
        revisions: dict[int | None, int],
    ) -> None:
        existing: dict[tuple[int, date], Any] = {}
        live = []
        # Preferences whose events may sit on days they no longer have (not every day).
        some_days = {
            p["id"]: p
            for p in prefs
            if p["is_active"] and p["auto_schedule"] and (p["day_of_week"] or p["anchor_date"])
        }
        cancellable = (*ACTIVE, "unplaced")
        for ev in events:
            if ev.id in skip_ids:
                continue
            revisions[ev.id] = ev.revision
            if ev.preference_id is not None and ev.local_date is not None:
                pref = some_days.get(ev.preference_id)
                if (
                    pref is not None
                    and not _scheduled(pref, ev.local_date)
                    and ev.start_at > now
                    and ev.status in cancellable
                ):
                    self._cancel_off_schedule(result, ev, updates)
                    continue
                existing[(ev.preference_id, ev.local_date)] = ev
            if ev.status in ACTIVE:
                live.append(ev)
        busy = _BusyTimes(external, live, tz)

        for pref in prefs:
            if not (pref["is_active"] and pref["auto_schedule"]):
                continue
            weekdays, anchor = pref["day_of_week"], pref["anchor_date"]
            for day in days:
                if weekdays and day.isoweekday() not in weekdays:
                    continue
                if anchor is not None and not occurs_on(day, None, pref["interval_weeks"], anchor):
                    continue  # not one of its weeks (every N weeks), or before it starts
                start, dst_note = _local_start_cached(day, pref["start_time"], tz)
                end = start + timedelta(minutes=pref["duration_minutes"])
                if start <= now:
                    continue  # today's occurrence already began: the past is not planned
                self._plan_one(
                    result, pref, day, start, end, dst_note, existing.get((pref["id"], day)),
                    busy, flex=flex, tz=tz, creates=creates, updates=updates,
                )  # fmt: skip

    def _cancel_off_schedule(
        self, result: EmitResult, ev: Any, updates: list[tuple[int | None, dict[str, Any]]]
    ) -> None:
        """An upcoming event on a day its preference no longer has (its days, weeks or start
        changed): cancelled, and placed again if the day comes back."""
        updates.append((ev.id, {"status": "cancelled", "placement_note": OFF_SCHEDULE_NOTE}))
        result.placements.append(
            Placement("cancelled", ev.preference_id, ev.title, ev.local_date, ev.start_at,
                      ev.end_at, OFF_SCHEDULE_NOTE, ev.id)
        )  # fmt: skip

    def _plan_one(
        self,
        result: EmitResult,
        pref: dict[str, Any],
        day: date,
        start: datetime,
        end: datetime,
        dst_note: str,
        ev: Any,
        busy: _BusyTimes,
        *,
        flex: timedelta,
        tz: ZoneInfo,
        creates: list[dict[str, Any]],
        updates: list[tuple[int | None, dict[str, Any]]],
    ) -> None:
        title = pref["title"]
        if ev is not None:
            if ev.status == "cancelled" and ev.placement_note not in _EMITTER_CANCEL_NOTES:
                result.placements.append(
                    Placement("skipped", pref["id"], ev.title, day, ev.start_at, ev.end_at,
                              "cancelled on the calendar: not recreated", ev.id)
                )  # fmt: skip
                return
            if ev.status in ACTIVE:
                same = ev.start_at == start and ev.end_at == end and ev.title == title
                changed_pref = pref["updated_at"] > ev.updated_at
                if same or not changed_pref:
                    result.placements.append(
                        Placement("unchanged", pref["id"], ev.title, day, ev.start_at, ev.end_at,
                                  ev.placement_note or "", ev.id)
                    )  # fmt: skip
                    return
                spans = busy.spans()
                mine = busy.by_id.get(ev.id)
                spans[:] = [b for b in spans if b is not mine]
        placement = self._place(pref, day, start, end, dst_note, busy.spans(), flex, tz)
        if ev is not None and ev.status == "unplaced" and placement.outcome == "unplaced":
            placement.outcome = "unchanged"
            placement.event_id = ev.id
            result.placements.append(placement)
            return
        if placement.outcome != "unplaced":
            busy.spans().append(Busy(placement.start, placement.end, title, tz))  # type: ignore[arg-type]
        values = {
            "title": title,
            "start_at": placement.start,
            "end_at": placement.end,
            "status": "unplaced" if placement.outcome == "unplaced" else "planned",
            "placement_note": placement.reason,
        }
        if ev is None:
            creates.append(
                {
                    **values,
                    "user_id": result.user_id,
                    "preference_id": pref["id"],
                    "local_date": day,
                    "timezone": result.timezone,
                    "origin": "emitter",
                    "_placement": placement,
                }
            )
        else:
            placement.event_id = ev.id
            why = {"unplaced": "room now", "cancelled": "preference enabled again"}.get(
                ev.status, "its preference changed"
            )
            if ev.placement_note == OFF_SCHEDULE_NOTE:
                why = "back on its preference's days"
            placement.reason = f"{why}; {placement.reason}"
            if placement.outcome == "planned":
                placement.outcome = "updated"
            updates.append((ev.id, values))
        result.placements.append(placement)

    def _place(
        self,
        pref: dict[str, Any],
        day: date,
        start: datetime,
        end: datetime,
        dst_note: str,
        busy: list[Busy],
        flex: timedelta,
        tz: ZoneInfo,
    ) -> Placement:
        notes = [dst_note] if dst_note else []
        clashes = _overlaps(busy, start, end)
        base = Placement("planned", pref["id"], pref["title"], day, start, end)
        if not clashes:
            base.reason = "; ".join([*notes, USUAL_TIME_NOTE])
            return base
        avoided = clashes[0].label
        if not pref["is_flexible"]:
            base.reason = "; ".join([*notes, f"fixed time, overlaps {avoided}"])
            base.avoided = avoided
            return base
        length = end - start
        slot = nearest_free(busy, start, length, flex)
        if slot is None:
            base.outcome = "unplaced"
            base.avoided = avoided
            hours = flex.total_seconds() / 3600
            base.reason = "; ".join(
                [*notes, f"no free {int(length.total_seconds() // 60)} min within ±{hours:g} h "
                 f"of {start.astimezone(tz):%H:%M}: {avoided} is in the way"]
            )  # fmt: skip
            return base
        minutes = int((slot - start).total_seconds() // 60)
        base.outcome = "moved"
        base.start, base.end = slot, slot + length
        base.moved_minutes = minutes
        base.avoided = avoided
        sign = "+" if minutes > 0 else "-"
        hhmm = f"{abs(minutes) // 60}:{abs(minutes) % 60:02d}"
        base.reason = "; ".join(
            [*notes, f"moved {sign}{hhmm} h to {slot.astimezone(tz):%H:%M} to avoid {avoided}"]
        )
        return base

    def _cancel_unwanted(
        self,
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

    # -- writing ----------------------------------------------------------------------------

    def _apply(
        self,
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
        db = _Db(s)
        now = db.time(utcnow())
        syncs: list[dict[str, Any]] = []
        new_ids = self._insert_events(db, creates, now)
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

    def _insert_events(self, db: _Db, creates: list[dict[str, Any]], now: Any) -> list[int]:
        """Insert the new events, several rows a statement; their ids in `creates` order."""
        if not creates:
            return []
        columns = (*_CREATE_COLUMNS, "uid", "revision", "created_at", "updated_at")
        uids = _new_uids(len(creates))
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


# In the order _insert_events writes them.
_CREATE_COLUMNS = (
    "title", "start_at", "end_at", "status", "placement_note", "user_id", "preference_id",
    "local_date", "timezone", "origin",
)  # fmt: skip


def _new_uids(n: int) -> list[str]:
    """`calendar_events.new_uid()` n times (random version-4 UUIDs), without uuid.UUID's
    per-call validation."""
    raw = os.urandom(16 * n)
    out = []
    for i in range(n):
        value = int.from_bytes(raw[16 * i : 16 * i + 16], "big")
        value = (value & ~(0xF000 << 64) | (4 << 76)) & ~(0xC000 << 48) | (0x8000 << 48)
        out.append(f"{value:032x}@agentcal")
    return out


class _Db:
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


class _Event(NamedTuple):
    """An existing event, as planning needs it."""

    id: int
    user_id: str
    preference_id: int | None
    title: str
    local_date: date | None
    start_at: datetime
    end_at: datetime
    status: str
    placement_note: str | None
    revision: int
    updated_at: datetime


def _read_events(s: Session, users: list[str], window: tuple[datetime, datetime]) -> list[_Event]:
    """The users' events overlapping the window, read raw (typing each value through
    SQLAlchemy was most of a rerun)."""
    db = _Db(s)
    marks = ", ".join([db.mark] * len(users))
    sql = (
        f"SELECT {', '.join(_Event._fields)} FROM calendar_events "
        f"WHERE user_id IN ({marks}) AND start_at < {db.mark} AND end_at > {db.mark}"
    )
    rows = db.fetchall(sql, [*users, db.time(window[1]), db.time(window[0])])
    if db.dialect == "sqlite":
        # Naive UTC text + "+00:00" parses straight to an aware UTC datetime (datetime.replace
        # costs eight times the parse).
        t, d = datetime.fromisoformat, date.fromisoformat
        return [
            _Event(i, u, p, title, d(day) if day else None, t(a + "+00:00"), t(b + "+00:00"),
                   st, note, rev, t(upd + "+00:00"))
            for i, u, p, title, day, a, b, st, note, rev, upd in rows
        ]  # fmt: skip
    return [
        _Event(i, u, p, title, day, a.replace(tzinfo=UTC), b.replace(tzinfo=UTC), st, note, rev,
               upd.replace(tzinfo=UTC))
        for i, u, p, title, day, a, b, st, note, rev, upd in rows
    ]  # fmt: skip


class _BusyTimes:
    """A user's busy spans (the backend's, then the user's active events), built at first
    need: a rerun in which every event is already in place never needs them."""

    def __init__(self, external: list[Busy], events: list[_Event], tz: ZoneInfo) -> None:
        self._external = external
        self._events = events
        self._tz = tz
        self._spans: list[Busy] | None = None
        self.by_id: dict[int, Busy] = {}

    def spans(self) -> list[Busy]:
        if self._spans is None:
            self._spans = list(self._external)
            for ev in self._events:
                self.by_id[ev.id] = Busy(ev.start_at, ev.end_at, ev.title, self._tz)
                self._spans.append(self.by_id[ev.id])
        return self._spans


# Any constant shared by every emitter process (the migrations lock on 472193).
EMITTER_LOCK = 472194


def _one_emitter_at_a_time(s: Session) -> None:
    """Several daemons on one PostgreSQL store: their emitter batches take turns, so the second
    sees the first one's events instead of inserting the same (preference, day) again. SQLite
    needs nothing: BEGIN IMMEDIATE already serialises writers."""
    from sqlalchemy import text

    if s.connection().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EMITTER_LOCK})


def _scheduled(pref: dict[str, Any], day: date) -> bool:
    return occurs_on(day, pref["day_of_week"], pref["interval_weeks"], pref["anchor_date"])


def sync_job(event_id: int, revision: int, user_id: str) -> dict[str, Any]:
    """The `calendar_sync` job of one event revision, for `JobQueue.enqueue_many`."""
    return {
        "kind": "calendar_sync",
        "payload": {"event_id": event_id, "revision": revision},
        "unique_key": f"calendar_sync:{event_id}:{revision}",
        "user_id": user_id,
        "priority": SYNC_PRIORITY,
    }


def _label(title: str, start: datetime, tz: ZoneInfo) -> str:
    return f"“{title}” at {start.astimezone(tz):%H:%M}"


calendar_event_emitter = CalendarEventEmitter()
