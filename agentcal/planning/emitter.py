"""The seed's `CalendarEventEmitter`: preferences -> concrete calendar events for the next N days.

One run, a batch of users per transaction:

1. ask each Google or CalDAV user's own calendar for their busy time, before the transaction
   opens (a local user's busy time is in the store already);
2. turn their schedulable insights into preferences (`from_insights`, the seed's step 4);
3. read their preferences and events (`event_store`), cancel the future events of disabled or
   suggestion-only preferences;
4. plan each user in their own time zone (`planner`: the rules of where an event goes);
5. write the new and changed events and queue one `calendar_sync` job per new revision
   (`event_store`); with dry_run, roll it all back and only report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from agentcal import validation as v
from agentcal.planning import event_store
from agentcal.planning.placement import Busy
from agentcal.planning.planner import DISABLED_NOTE, EmitResult, Frame, plan_user
from agentcal.service import Service

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.calendars.base import CalendarBackend

log = logging.getLogger(__name__)

USERS_PER_BATCH = 200
# Calendars whose busy time lives outside the store (a local user's is in the store already).
REMOTE_CALENDARS = ("google", "caldav")


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
        frames: dict[str, Frame] = {}  # one per time zone
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
                    frames[zone] = Frame.of(now, ZoneInfo(zone), days_ahead)
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
        from agentcal.models import utcnow

        with self.transaction(session) as s:
            return event_store.cancel_preference_events(
                s, user_id, preference_id, reason, now or utcnow()
            )

    # -- one batch ----------------------------------------------------------------------

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
        frames: dict[str, Frame],
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
            event_store.one_emitter_at_a_time(s)
            users = [r.user_id for r in results]
            outcomes = insight_preference_sync.sync_users(users, session=s)
            window = (
                min(frames[u].window[0] for u in users),
                max(frames[u].window[1] for u in users),
            )
            prefs, events = event_store.load(s, users, window)
            creates: list[dict[str, Any]] = []
            updates: list[tuple[int | None, dict[str, Any]]] = []
            revisions: dict[int | None, int] = {}
            by_user = {r.user_id: r for r in results}
            for o in outcomes:
                by_user[o.user_id].preferences.append(o)
            cancelled = event_store.cancel_unwanted(s, prefs, now, by_user, updates, revisions)
            prefs_of: dict[str, list[dict[str, Any]]] = {}
            for pref in prefs:  # one pass (was a scan of the batch's preferences per user)
                prefs_of.setdefault(pref["user_id"], []).append(pref)
            for result in results:
                frame = frames[result.user_id]
                plan_user(
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
            new_ids = event_store.apply(s, creates=creates, updates=updates, revisions=revisions)
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


calendar_event_emitter = CalendarEventEmitter()
