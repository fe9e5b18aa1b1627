"""Free time: finding the free stretches in a window, and booking the earliest one (a window of
whole days means the user's working hours on those days)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.agent.context import AgentContext
from agentcal.agent.operations._common import event_dict, events_service, parse_time
from agentcal.errors import ValidationError

MAX_FREE_SLOTS = 50


def find_free_time(
    ctx: AgentContext,
    window_start: str,
    window_end: str,
    duration_minutes: int,
    limit: int = 5,
) -> dict[str, Any]:
    """The free stretches of at least `duration_minutes` in the window, earliest first."""
    from agentcal import validation as v
    from agentcal.calendars.base import free_slots

    begin = parse_time(window_start, ctx.timezone, "window_start")
    finish = parse_time(window_end, ctx.timezone, "window_end")
    if finish <= begin:
        raise ValidationError("window_end must be after window_start")
    length = timedelta(minutes=v.duration_minutes(duration_minutes, "duration_minutes"))
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_FREE_SLOTS:
        raise ValidationError(f"limit must be between 1 and {MAX_FREE_SLOTS}")
    busy = events_service(ctx).busy_intervals(ctx.user_id, begin, finish)
    zone = ZoneInfo(ctx.timezone)
    return {
        "window": {
            "start": begin.astimezone(zone).isoformat(timespec="minutes"),
            "end": finish.astimezone(zone).isoformat(timespec="minutes"),
        },
        "duration_minutes": duration_minutes,
        "free": [
            {
                "start": a.astimezone(zone).isoformat(timespec="minutes"),
                "end": b.astimezone(zone).isoformat(timespec="minutes"),
            }
            for a, b in free_slots(busy, begin, finish, length, limit)
        ],
    }


def _is_midnight(value: datetime, tz: str) -> bool:
    return value.astimezone(ZoneInfo(tz)).time() == time(0)


def whole_day_windows(
    begin: datetime, finish: datetime, tz: str, hours: Any, now: datetime
) -> list[tuple[datetime, datetime]] | None:
    """For a window of whole days (midnight to midnight): each working day's working hours in
    it, from now on. None when the window is not whole days (it is then used as given)."""
    if not (_is_midnight(begin, tz) and _is_midnight(finish, tz)) or finish <= begin:
        return None
    zone = ZoneInfo(tz)
    day = begin.astimezone(zone).date()
    last = finish.astimezone(zone).date()
    out = []
    while day < last:
        if hours.days is None or day.isoweekday() in hours.days:
            a = max(datetime.combine(day, hours.start, tzinfo=zone), now)
            b = datetime.combine(day, hours.end, tzinfo=zone)
            if a < b:
                out.append((a, b))
        day += timedelta(days=1)
    return out


def schedule_event(
    ctx: AgentContext, title: str, duration_minutes: int, window_start: str, window_end: str
) -> dict[str, Any]:
    """Book the earliest free slot of the given length inside the window; a window of whole
    days means the user's working hours on those days (from now on)."""
    from agentcal.agent.facts import load_working_hours

    service = events_service(ctx)
    begin = parse_time(window_start, ctx.timezone, "window_start")
    finish = parse_time(window_end, ctx.timezone, "window_end")
    if finish <= begin:
        raise ValidationError("window_end must be after window_start")
    hours = load_working_hours(ctx.user_id, ctx.engine)
    windows = whole_day_windows(begin, finish, ctx.timezone, hours, datetime.now(UTC))
    slot = None
    for a, b in windows if windows is not None else [(begin, finish)]:
        slot = service.find_free_slot(ctx.user_id, a, b, duration_minutes)
        if slot is not None:
            break
    where = f"{begin.isoformat(timespec='minutes')} and {finish.isoformat(timespec='minutes')}"
    if windows is not None:
        where += f", within working hours {hours.describe()}"
        if not hours.known:
            where += " (a default: the user never gave theirs)"
    if slot is None:
        return {
            "scheduled": None,
            "reason": f"no free {duration_minutes}-minute slot between {where}",
        }
    event = service.create_event(
        user_id=ctx.user_id, title=title, start=slot[0], end=slot[1], timezone=ctx.timezone
    )
    return {"scheduled": event_dict(event, ctx.timezone), "searched": where}
