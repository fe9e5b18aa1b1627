"""A week at a glance (`agentcal week`): the events of seven local days, with agentcal's own
blocks told apart, and where two events overlap.

An item is an `event` (the user's or the agent's), a `habit` (placed by the emitter from a
preference), or a `suggestion` (an active preference that is only suggested, so it is not on
the calendar: shown where it would go). A habit the emitter had to move away from its usual time
is `moved`; events of the same day that overlap are `conflict`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agentcal import validation as v
from agentcal.service import Service

MOVED_PREFIX = "moved "  # the emitter's placement note for a moved block


@dataclass
class WeekItem:
    kind: str  # event | habit | suggestion
    title: str
    start: datetime  # aware, in the user's zone
    end: datetime
    event_id: int | None = None
    preference_id: int | None = None
    moved: bool = False
    conflict: bool = False
    note: str | None = None


@dataclass
class WeekDay:
    day: date
    items: list[WeekItem] = field(default_factory=list)


@dataclass
class Week:
    user_id: str
    timezone: str
    start: date  # a Monday
    days: list[WeekDay]

    def to_dict(self) -> dict[str, Any]:
        def item(i: WeekItem) -> dict[str, Any]:
            return {
                "kind": i.kind,
                "title": i.title,
                "start": i.start.isoformat(),
                "end": i.end.isoformat(),
                "event_id": i.event_id,
                "preference_id": i.preference_id,
                "moved": i.moved,
                "conflict": i.conflict,
                "note": i.note,
            }

        return {
            "user": self.user_id,
            "timezone": self.timezone,
            "start": self.start.isoformat(),
            "end": (self.start + timedelta(days=6)).isoformat(),
            "days": [
                {"date": d.day.isoformat(), "items": [item(i) for i in d.items]} for d in self.days
            ],
        }


def monday_of(day: date, weeks_ahead: int = 0) -> date:
    return day - timedelta(days=day.weekday()) + timedelta(weeks=weeks_ahead)


class WeekService(Service):
    def week(self, user_id: str, start: date, tz: str) -> Week:
        """The seven days from `start` (a Monday) in zone `tz`."""
        from agentcal.planning.events import CalendarEventsService
        from agentcal.planning.preferences import CalendarPreferencesService

        user = v.user_id(user_id)
        zone = ZoneInfo(tz)
        days = [WeekDay(start + timedelta(days=i)) for i in range(7)]
        lo = datetime.combine(start, time(0), tzinfo=zone)
        hi = datetime.combine(start + timedelta(days=7), time(0), tzinfo=zone)
        by_day = {d.day: d for d in days}
        events = CalendarEventsService(self._engine).list_events(user, lo, hi)
        for e in events:
            if e.start_at is None or e.end_at is None:
                continue
            local = e.start_at.astimezone(zone)
            note = e.placement_note or None
            item = WeekItem(
                kind="habit" if e.preference_id is not None else "event", title=e.title,
                start=local, end=e.end_at.astimezone(zone), event_id=e.id,
                preference_id=e.preference_id,
                moved=bool(note and note.startswith(MOVED_PREFIX)), note=note,
            )  # fmt: skip
            if local.date() in by_day:
                by_day[local.date()].items.append(item)
        for d in days:
            _mark_conflicts(d.items)
        prefs = CalendarPreferencesService(self._engine).list_preferences(user, active_only=True)
        for p in prefs:
            if p.auto_schedule:
                continue
            hour, minute = (int(x) for x in p.start_time.split(":"))
            for d in days:
                if p.day_of_week and d.day.isoweekday() not in p.day_of_week:
                    continue
                at = datetime.combine(d.day, time(hour, minute), tzinfo=zone)
                d.items.append(WeekItem(
                    kind="suggestion", title=p.title, start=at,
                    end=at + timedelta(minutes=p.duration_minutes), preference_id=p.id,
                ))  # fmt: skip
        for d in days:
            d.items.sort(key=lambda i: (i.start, i.kind == "suggestion", i.title))
        return Week(user, tz, start, days)


def _mark_conflicts(items: list[WeekItem]) -> None:
    """Events of one day whose times overlap are all marked as conflicts."""
    ordered = sorted(items, key=lambda i: i.start)
    latest: WeekItem | None = None  # the item reaching furthest so far
    for item in ordered:
        if latest is not None and item.start < latest.end:
            item.conflict = latest.conflict = True
        if latest is None or item.end > latest.end:
            latest = item


week_service = WeekService()
