"""What the calendar tools do, as plain functions: (context, arguments) -> JSON-able data.

The chat's LangChain tools (`agentcal.agent.tools`) and the MCP server (`agentcal.mcp`) both
call these, so the two cannot drift: the same time parsing, defaults, validation and per-user
isolation (the user comes from the context, never from the arguments). Nothing here imports
LangChain. Domain errors (`agentcal.errors`) are raised for the caller to report.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.agent.context import AgentContext
from agentcal.errors import ValidationError

# Tool name -> the seed's agent_action.
TOOL_ACTIONS = {
    "create_event": "create",
    "list_events": "read",
    "update_event": "update",
    "delete_event": "delete",
    "search_events": "search",
    "schedule_event": "schedule",
    "record_user_insight": "insight",
}
# agent_action -> the seed's intent_category.
INTENTS = {
    "create": "calendar_change",
    "update": "calendar_change",
    "delete": "calendar_change",
    "schedule": "calendar_change",
    "read": "calendar_query",
    "search": "calendar_query",
    "insight": "user_insight",
    "answer": "conversation",
}
MAX_FREE_SLOTS = 50


class ConfirmationNeeded(ValidationError):
    """A destructive change the user has not confirmed yet."""


def confirmation_reason(events: list[Any], *, now: datetime, already: int = 0) -> str | None:
    """The rule for destructive changes (deleting or moving): why these events need the user's
    yes, or None. Several events (counting `already` changed ones), or one that has started.
    The MCP server's tools and the chat's confirmation gate (agentcal.agent.confirm) share it."""
    several = already + len(events) > 1
    started = any(e.start_at is not None and e.start_at <= now for e in events)
    if several and started:
        return "several events, some in the past"
    if several:
        return "several events"
    return "in the past" if started else None


def require_confirmation(events: list[Any], *, confirmed: bool, verb: str, now: datetime) -> None:
    """The rule for destructive changes: several events at once, or an event that has already
    started, only once the user has confirmed (the caller asks, then says `confirmed`)."""
    if confirmed or confirmation_reason(events, now=now) is None:
        return
    if len(events) > 1:
        raise ConfirmationNeeded(
            f"{verb} {len(events)} events at once needs the user's confirmation: ask them, then "
            "call again with confirmed=true; nothing was changed"
        )
    started = [e for e in events if e.start_at is not None and e.start_at <= now]
    if started:
        raise ConfirmationNeeded(
            f"event {started[0].id} has already started: {verb} it needs the user's "
            "confirmation (confirmed=true); nothing was changed"
        )


def parse_time(text: Any, tz: str, field: str) -> datetime:
    """ISO date or date-time -> aware datetime; no offset means the user's zone."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(f"{field} must be an ISO date-time like 2026-05-04T14:30")
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{field} {text!r} is not an ISO date-time like 2026-05-04T14:30"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value


def day_bounds(now: datetime, tz: str, days: int) -> tuple[datetime, datetime]:
    """Midnight today in the user's zone, and midnight `days` later."""
    start = datetime.combine(now.astimezone(ZoneInfo(tz)).date(), time(0), tzinfo=ZoneInfo(tz))
    return start, start + timedelta(days=days)


def event_dict(event: Any, tz: str) -> dict[str, Any]:
    zone = ZoneInfo(tz)
    return {
        "id": event.id,
        "title": event.title,
        "start": event.start_at.astimezone(zone).isoformat(timespec="minutes"),
        "end": event.end_at.astimezone(zone).isoformat(timespec="minutes"),
        "status": event.status,
        **({"location": event.location} if event.location else {}),
        **({"description": event.description} if event.description else {}),
    }


def calendar_note(event: Any, *, cancelling: bool = False) -> dict[str, str]:
    """A note for the answer when the user deleted or moved the event in their calendar app:
    agentcal's change stays in agentcal and the calendar keeps what the user did there."""
    note = getattr(event, "sync_note", None) or ""
    kind, _, where = note.partition(" in ")
    if kind == "deleted":
        rest = "nothing to remove" if cancelling else "I left it deleted there"
        return {"note": f"“{event.title}” is no longer in your {where} calendar: {rest}."}
    if kind == "moved" and not cancelling:
        return {
            "note": f"“{event.title}” was moved in your {where} calendar: I left it where you "
            "put it there; this change is in agentcal only."
        }
    return {}


def _events(ctx: AgentContext):  # type: ignore[no-untyped-def]
    from agentcal.planning.events import CalendarEventsService

    return CalendarEventsService(ctx.engine)


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
    event = _events(ctx).create_event(
        user_id=ctx.user_id, title=title, start=begin, end=finish,
        duration_minutes=duration_minutes, timezone=ctx.timezone, location=location,
        description=description,
    )  # fmt: skip
    return {"created": event_dict(event, ctx.timezone)}


def list_events(
    ctx: AgentContext, start: str | None = None, end: str | None = None
) -> dict[str, Any]:
    """Events overlapping [start, end); default today and the next 6 days, a bare date one day."""
    from agentcal.models import utcnow

    default_start, default_end = day_bounds(utcnow(), ctx.timezone, 7)
    begin = parse_time(start, ctx.timezone, "start") if start else default_start
    finish = parse_time(end, ctx.timezone, "end") if end else None
    if finish is None:
        finish = begin + timedelta(days=1) if start and len(start.strip()) == 10 else default_end
    events = _events(ctx).list_events(ctx.user_id, begin, finish)
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
    event = _events(ctx).update_event(
        ctx.user_id, event_id, title=title,
        start=parse_time(start, ctx.timezone, "start") if start else None,
        end=parse_time(end, ctx.timezone, "end") if end else None,
        duration_minutes=duration_minutes, location=location,
    )  # fmt: skip
    return {"updated": event_dict(event, ctx.timezone), **calendar_note(event)}


def delete_event(ctx: AgentContext, event_id: int) -> dict[str, Any]:
    event = _events(ctx).cancel_event(ctx.user_id, event_id)
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
    from agentcal.models import utcnow

    event = _events(ctx).get_event(ctx.user_id, event_id)
    require_confirmation([event], confirmed=confirmed, verb="moving", now=utcnow())
    return update_event(ctx, event_id, start=start, end=end, duration_minutes=duration_minutes)


def cancel_events(
    ctx: AgentContext, event_ids: list[int], confirmed: bool = False
) -> dict[str, Any]:
    """Cancel events by id, all or none; several at once, or past ones, only if confirmed."""
    from agentcal.models import utcnow

    if not isinstance(event_ids, list) or not event_ids:
        raise ValidationError("give at least one event id")
    if any(isinstance(i, bool) or not isinstance(i, int) for i in event_ids):
        raise ValidationError("event ids are whole numbers")
    ids = list(dict.fromkeys(event_ids))
    service = _events(ctx)
    with service.transaction() as s:  # one transaction: an unknown id cancels nothing
        events = [service.get_event(ctx.user_id, i, session=s) for i in ids]
        require_confirmation(events, confirmed=confirmed, verb="cancelling", now=utcnow())
        done = [service.cancel_event(ctx.user_id, i, session=s) for i in ids]
        notes = [n["note"] for e in done if (n := calendar_note(e, cancelling=True))]
        return {
            "cancelled": [event_dict(e, ctx.timezone) for e in done],
            **({"notes": notes} if notes else {}),
        }


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
    busy = _events(ctx).busy_intervals(ctx.user_id, begin, finish)
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


def search_events(
    ctx: AgentContext, query: str, start: str | None = None, end: str | None = None
) -> dict[str, Any]:
    """Default range: 30 days back to 1 year ahead."""
    from agentcal.models import utcnow

    now = utcnow()
    begin = parse_time(start, ctx.timezone, "start") if start else now - timedelta(days=30)
    finish = parse_time(end, ctx.timezone, "end") if end else now + timedelta(days=366)
    events = _events(ctx).search_events(ctx.user_id, query, begin, finish)
    return {"query": query, "events": [event_dict(e, ctx.timezone) for e in events]}


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
    from agentcal.models import utcnow

    service = _events(ctx)
    begin = parse_time(window_start, ctx.timezone, "window_start")
    finish = parse_time(window_end, ctx.timezone, "window_end")
    if finish <= begin:
        raise ValidationError("window_end must be after window_start")
    hours = load_working_hours(ctx.user_id, ctx.engine)
    windows = whole_day_windows(begin, finish, ctx.timezone, hours, utcnow())
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


def record_user_insight(
    ctx: AgentContext,
    insight_type: str,
    category: str,
    key: str,
    value: Any,
    confidence: float,
    preference_type: str | None = None,
) -> dict[str, Any]:
    """Validate the seed's insight body and queue the `update_insight` job (returns at once).

    `preference_type` (a calendar block type, or "none") is stored in the value, so the
    emitter does not guess the block from the key; the result says whether and which events
    the insight becomes."""
    from agentcal import validation as v
    from agentcal.insights.user_insights import InsightBody
    from agentcal.queue.jobs import JobQueue
    from agentcal.vocab import PREFERENCE_TYPES

    if preference_type is not None:
        v.one_of(preference_type, (*PREFERENCE_TYPES, "none"), "preference_type")
        if not isinstance(value, dict):
            raise ValidationError("value must be an object when preference_type is given")
        value = {**value, "preference_type": preference_type}
    if isinstance(value, dict) and value.get("interval_weeks") not in (None, 1):
        value = _with_anchor(value, ctx.timezone)
    body = InsightBody.parse(
        {
            "insight_type": insight_type,
            "category": category,
            "key": key,
            "value": value,
            "confidence": confidence,
        }
    )
    run = ctx.agent_run_id or "norun"
    job = JobQueue(ctx.engine).enqueue(
        "update_insight",
        {
            **body.as_dict(),
            "user_id": ctx.user_id,
            "agent_run_id": ctx.agent_run_id,
            "source_request_id": ctx.source_request_id,
        },
        unique_key=f"update_insight:{ctx.user_id}:{body.category}:{body.key}:{run}",
        user_id=ctx.user_id,
    )
    return {
        "queued": {"job_id": job.id, "category": body.category, "key": body.key},
        "calendar": calendar_outcome(body),
    }


def _with_anchor(value: dict[str, Any], timezone: str) -> dict[str, Any]:
    """A repetition every N weeks starts on its next day from the user's today unless the
    value says when; the insight keeps that date, so later syncs count the same weeks."""
    from agentcal import validation as v
    from agentcal.planning.recurrence import next_day_on

    v.interval_weeks(value["interval_weeks"])
    if value.get("anchor_date") is not None:
        v.a_date(value["anchor_date"])
        return value
    today = datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()
    first = next_day_on(v.days(value.get("days")), today)
    return {**value, "anchor_date": first.isoformat()}


def calendar_outcome(body: Any) -> dict[str, Any]:
    """Whether an insight body will become calendar events, and which."""
    from types import SimpleNamespace

    from agentcal import validation as v
    from agentcal.planning.from_insights import spec_from_insight
    from agentcal.settings import get_settings

    threshold = get_settings().auto_schedule_threshold
    insight = SimpleNamespace(
        key=body.key, category=body.category, value=body.value, confidence=body.confidence
    )
    spec, why = spec_from_insight(insight, threshold)
    if spec is None:
        return {"becomes_events": False, "why": why}
    block = {
        "title": spec.title,
        "days": v.format_schedule(spec.day_of_week, spec.interval_weeks, spec.anchor_date),
        "time": spec.start_time,
        "duration_minutes": spec.duration_minutes,
    }
    if not spec.auto_schedule:
        return {
            "becomes_events": False,
            "why": f"confidence {body.confidence:.2f} is below the auto-schedule threshold "
            f"{threshold:.2f}: kept as a suggested preference, off until the user turns it on "
            "(agentcal prefs)",
            "suggested": block,
        }
    return {"becomes_events": True, **block}
