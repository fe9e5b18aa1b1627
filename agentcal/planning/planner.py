"""The planner: a person's preferences, their existing events and their busy time -> placements.

For every active auto-scheduled preference and every day it happens in the user's time zone (its
days of the week, in its weeks when it repeats every N weeks: `occurs_on`), one event (unique per
preference and local date, so a rerun creates nothing new). Preferences come in priority order
(1 first), and every decision is a `Placement` with its reason (the rules: `placement`):

* an inflexible preference keeps its time, even over other events (the overlap is noted);
* a flexible one that collides with busy time (the store's events, events placed earlier in
  this run, and the calendar backend's busy times) moves to the nearest free slot within
  +/- AGENTCAL_FLEX_WINDOW_MINUTES; if there is none it is recorded as `unplaced` with the
  reason, never dropped silently;
* a wall-clock time that does not exist on a DST day moves forward by the jump; one that
  happens twice takes its first occurrence; both are noted.

Existing events are left where they are (the user may have moved them; a past placement is not
reshuffled) unless their preference changed after the event was last written, in which case the
event is placed again. Upcoming events on days their preference no longer has (its days or
weeks changed) are cancelled. A cancelled event is not brought back, except one the emitter
itself cancelled (its preference was disabled, or the day left its schedule).

Pure: `plan_user` reads plain rows and appends the rows to create and update; the emitter
(`emitter`) reads and writes them (`event_store`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from agentcal.planning.placement import Busy, Placement, local_start, local_start_cached, place
from agentcal.planning.recurrence import occurs_on

if TYPE_CHECKING:
    from agentcal.planning.from_insights import SyncOutcome

DISABLED_NOTE = "cancelled: its preference was disabled"
SUGGESTION_NOTE = "cancelled: its preference is only a suggestion now"
REMOVED_NOTE = "cancelled: its preference was removed"
OFF_SCHEDULE_NOTE = "cancelled: no longer on its preference's days"
EMITTER_CANCEL_NOTES = (DISABLED_NOTE, SUGGESTION_NOTE, OFF_SCHEDULE_NOTE)
ACTIVE = ("planned", "confirmed")


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
class Frame:
    """The days one time zone plans, and the window of events read around them."""

    tz: ZoneInfo
    days: list[date]
    window: tuple[datetime, datetime]

    @classmethod
    def of(cls, now: datetime, tz: ZoneInfo, days_ahead: int) -> Frame:
        first = now.astimezone(tz).date()
        days = [first + timedelta(days=i) for i in range(days_ahead)]
        start = local_start(first, "00:00", tz)[0] - timedelta(days=1)
        end = local_start(days[-1], "00:00", tz)[0] + timedelta(days=2)
        return cls(tz, days, (start, end))


class Event(NamedTuple):
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


class BusyTimes:
    """A user's busy spans (the backend's, then the user's active events), built at first
    need: a rerun in which every event is already in place never needs them."""

    def __init__(self, external: list[Busy], events: list[Event], tz: ZoneInfo) -> None:
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


def plan_user(
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
    """Plan one user's `days`: every decision goes to `result.placements`, the events to insert
    to `creates`, the changes to existing ones to `updates` (their revisions in `revisions`).
    `events` are the user's stored events around the days; `external` their calendar's busy
    time; `skip_ids` events already cancelled in this run."""
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
                _cancel_off_schedule(result, ev, updates)
                continue
            existing[(ev.preference_id, ev.local_date)] = ev
        if ev.status in ACTIVE:
            live.append(ev)
    busy = BusyTimes(external, live, tz)

    for pref in prefs:
        if not (pref["is_active"] and pref["auto_schedule"]):
            continue
        weekdays, anchor = pref["day_of_week"], pref["anchor_date"]
        for day in days:
            if weekdays and day.isoweekday() not in weekdays:
                continue
            if anchor is not None and not occurs_on(day, None, pref["interval_weeks"], anchor):
                continue  # not one of its weeks (every N weeks), or before it starts
            start, dst_note = local_start_cached(day, pref["start_time"], tz)
            end = start + timedelta(minutes=pref["duration_minutes"])
            if start <= now:
                continue  # today's occurrence already began: the past is not planned
            _plan_one(
                result, pref, day, start, end, dst_note, existing.get((pref["id"], day)),
                busy, flex=flex, tz=tz, creates=creates, updates=updates,
            )  # fmt: skip


def _cancel_off_schedule(
    result: EmitResult, ev: Any, updates: list[tuple[int | None, dict[str, Any]]]
) -> None:
    """An upcoming event on a day its preference no longer has (its days, weeks or start
    changed): cancelled, and placed again if the day comes back."""
    updates.append((ev.id, {"status": "cancelled", "placement_note": OFF_SCHEDULE_NOTE}))
    result.placements.append(
        Placement("cancelled", ev.preference_id, ev.title, ev.local_date, ev.start_at,
                  ev.end_at, OFF_SCHEDULE_NOTE, ev.id)
    )  # fmt: skip


def _plan_one(
    result: EmitResult,
    pref: dict[str, Any],
    day: date,
    start: datetime,
    end: datetime,
    dst_note: str,
    ev: Any,
    busy: BusyTimes,
    *,
    flex: timedelta,
    tz: ZoneInfo,
    creates: list[dict[str, Any]],
    updates: list[tuple[int | None, dict[str, Any]]],
) -> None:
    title = pref["title"]
    if ev is not None:
        if ev.status == "cancelled" and ev.placement_note not in EMITTER_CANCEL_NOTES:
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
    placement = place(pref, day, start, end, dst_note, busy.spans(), flex, tz)
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


def _scheduled(pref: dict[str, Any], day: date) -> bool:
    return occurs_on(day, pref["day_of_week"], pref["interval_weeks"], pref["anchor_date"])
