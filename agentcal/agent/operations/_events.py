"""Reading and changing the user's events (and listing their recurring blocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agentcal.agent.context import AgentContext
from agentcal.agent.operations._common import (
    calendar_note,
    day_bounds,
    event_dict,
    events_service,
    parse_time,
)
from agentcal.agent.operations._confirmation import require_confirmation
from agentcal.errors import ValidationError


def create_event(
    ctx: AgentContext,
    title: str,
    start: str,
    end: str | None = None,
    duration_minutes: int | None = None,
    location: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    begin = parse_time(start, ctx.timezone, "start")
    finish = parse_time(end, ctx.timezone, "end") if end else None
    if finish is None and duration_minutes is None:
        duration_minutes = 60
    event = events_service(ctx).create_event(
        user_id=ctx.user_id, title=title, start=begin, end=finish,
        duration_minutes=duration_minutes, timezone=ctx.timezone, location=location,
        description=description,
    )  # fmt: skip
    return {"created": event_dict(event, ctx.timezone)}


def list_events(
    ctx: AgentContext, start: str | None = None, end: str | None = None
) -> dict[str, Any]:
    """Events overlapping [start, end); default today and the next 6 days, a bare date one day."""
    default_start, default_end = day_bounds(datetime.now(UTC), ctx.timezone, 7)
    begin = parse_time(start, ctx.timezone, "start") if start else default_start
    finish = parse_time(end, ctx.timezone, "end") if end else None
    if finish is None:
        finish = begin + timedelta(days=1) if start and len(start.strip()) == 10 else default_end
    events = events_service(ctx).list_events(ctx.user_id, begin, finish)
    return {
        "from": begin.isoformat(timespec="minutes"),
        "to": finish.isoformat(timespec="minutes"),
        "events": [event_dict(e, ctx.timezone) for e in events],
    }


def update_event(
    ctx: AgentContext,
    event_id: int,
    title: str | None = None,
    start: str | None = None,
    end: str | None = None,
    duration_minutes: int | None = None,
    location: str | None = None,
) -> dict[str, Any]:
    event = events_service(ctx).update_event(
        ctx.user_id, event_id, title=title,
        start=parse_time(start, ctx.timezone, "start") if start else None,
        end=parse_time(end, ctx.timezone, "end") if end else None,
        duration_minutes=duration_minutes, location=location,
    )  # fmt: skip
    return {"updated": event_dict(event, ctx.timezone), **calendar_note(event)}


def delete_event(ctx: AgentContext, event_id: int) -> dict[str, Any]:
    event = events_service(ctx).cancel_event(ctx.user_id, event_id)
    return {"deleted": event_dict(event, ctx.timezone), **calendar_note(event, cancelling=True)}


def move_event(
    ctx: AgentContext,
    event_id: int,
    start: str,
    end: str | None = None,
    duration_minutes: int | None = None,
    confirmed: bool = False,
) -> dict[str, Any]:
    """Move an event (keeping its length unless end/duration is given); a past one if confirmed."""
    event = events_service(ctx).get_event(ctx.user_id, event_id)
    require_confirmation([event], confirmed=confirmed, verb="moving", now=datetime.now(UTC))
    return update_event(ctx, event_id, start=start, end=end, duration_minutes=duration_minutes)


def cancel_events(
    ctx: AgentContext, event_ids: list[int], confirmed: bool = False
) -> dict[str, Any]:
    """Cancel events by id, all or none; several at once, or past ones, only if confirmed."""
    if not isinstance(event_ids, list) or not event_ids:
        raise ValidationError("give at least one event id")
    if any(isinstance(i, bool) or not isinstance(i, int) for i in event_ids):
        raise ValidationError("event ids are whole numbers")
    ids = list(dict.fromkeys(event_ids))
    service = events_service(ctx)
    with service.transaction() as s:  # one transaction: an unknown id cancels nothing
        events = [service.get_event(ctx.user_id, i, session=s) for i in ids]
        require_confirmation(events, confirmed=confirmed, verb="cancelling", now=datetime.now(UTC))
        done = [service.cancel_event(ctx.user_id, i, session=s) for i in ids]
        notes = [n["note"] for e in done if (n := calendar_note(e, cancelling=True))]
        return {
            "cancelled": [event_dict(e, ctx.timezone) for e in done],
            **({"notes": notes} if notes else {}),
        }


def search_events(
    ctx: AgentContext, query: str, start: str | None = None, end: str | None = None
) -> dict[str, Any]:
    """Default range: 30 days back to 1 year ahead."""
    now = datetime.now(UTC)
    begin = parse_time(start, ctx.timezone, "start") if start else now - timedelta(days=30)
    finish = parse_time(end, ctx.timezone, "end") if end else now + timedelta(days=366)
    events = events_service(ctx).search_events(ctx.user_id, query, begin, finish)
    return {"query": query, "events": [event_dict(e, ctx.timezone) for e in events]}


def list_preferences(ctx: AgentContext, active_only: bool = False) -> dict[str, Any]:
    """The user's recurring blocks (gym, sleep, focus...), by priority."""
    from agentcal.planning.preferences import CalendarPreferencesService

    prefs = CalendarPreferencesService(ctx.engine).list_preferences(
        ctx.user_id, active_only=active_only
    )
    return {
        "preferences": [
            {
                "id": p.id,
                "preference_type": p.preference_type,
                "title": p.title,
                "days": p.day_of_week,
                "interval_weeks": p.interval_weeks,
                "anchor_date": p.anchor_date.isoformat() if p.anchor_date else None,
                "start_time": p.start_time,
                "duration_minutes": p.duration_minutes,
                "auto_schedule": p.auto_schedule,
                "priority": p.priority,
                "is_flexible": p.is_flexible,
                "is_active": p.is_active,
            }
            for p in prefs
        ]
    }
