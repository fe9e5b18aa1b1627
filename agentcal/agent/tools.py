"""The agent's tools: thin wrappers over the calendar events service and the job queue.

Times the model passes are ISO 8601; a time without an offset is the user's local time.
Each tool returns JSON text (the model and the recorder read the same thing). Domain errors
are raised and turned into error tool messages by the graph, so the model can correct itself.
"""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from langchain.tools import ToolRuntime, tool

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

Runtime = ToolRuntime[AgentContext]


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


def _day_bounds(now: datetime, tz: str, days: int) -> tuple[datetime, datetime]:
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


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


def _events(ctx: AgentContext):  # type: ignore[no-untyped-def]
    from agentcal.services.calendar_events import CalendarEventsService

    return CalendarEventsService(ctx.engine)


@tool
def create_event(
    title: str,
    start: str,
    runtime: Runtime,
    end: str | None = None,
    duration_minutes: int | None = None,
    location: str | None = None,
    description: str | None = None,
) -> str:
    """Create a calendar event. start/end are ISO date-times (local time if no offset); give an end or a duration (default 60 minutes)."""
    ctx = runtime.context
    begin = parse_time(start, ctx.timezone, "start")
    finish = parse_time(end, ctx.timezone, "end") if end else None
    if finish is None and duration_minutes is None:
        duration_minutes = 60
    event = _events(ctx).create_event(
        user_id=ctx.user_id, title=title, start=begin, end=finish,
        duration_minutes=duration_minutes, timezone=ctx.timezone, location=location,
        description=description,
    )  # fmt: skip
    return _dump({"created": event_dict(event, ctx.timezone)})


@tool
def list_events(runtime: Runtime, start: str | None = None, end: str | None = None) -> str:
    """List the user's events overlapping [start, end) (ISO dates or date-times). Default: today and the next 6 days."""
    from agentcal.models import utcnow

    ctx = runtime.context
    default_start, default_end = _day_bounds(utcnow(), ctx.timezone, 7)
    begin = parse_time(start, ctx.timezone, "start") if start else default_start
    finish = parse_time(end, ctx.timezone, "end") if end else None
    if finish is None:
        finish = begin + timedelta(days=1) if start and len(start.strip()) == 10 else default_end
    events = _events(ctx).list_events(ctx.user_id, begin, finish)
    return _dump(
        {
            "from": begin.isoformat(timespec="minutes"),
            "to": finish.isoformat(timespec="minutes"),
            "events": [event_dict(e, ctx.timezone) for e in events],
        }
    )


@tool
def update_event(
    event_id: int,
    runtime: Runtime,
    title: str | None = None,
    start: str | None = None,
    end: str | None = None,
    duration_minutes: int | None = None,
    location: str | None = None,
) -> str:
    """Rename, move or resize an event by id. Moving keeps its length unless end or duration_minutes is given."""
    ctx = runtime.context
    event = _events(ctx).update_event(
        ctx.user_id, event_id, title=title,
        start=parse_time(start, ctx.timezone, "start") if start else None,
        end=parse_time(end, ctx.timezone, "end") if end else None,
        duration_minutes=duration_minutes, location=location,
    )  # fmt: skip
    return _dump({"updated": event_dict(event, ctx.timezone)})


@tool
def delete_event(event_id: int, runtime: Runtime) -> str:
    """Delete (cancel) an event by id."""
    ctx = runtime.context
    event = _events(ctx).cancel_event(ctx.user_id, event_id)
    return _dump({"deleted": event_dict(event, ctx.timezone)})


@tool
def search_events(
    query: str, runtime: Runtime, start: str | None = None, end: str | None = None
) -> str:
    """Find the user's events whose title, description or location contains the text. Default range: 30 days back to 1 year ahead."""
    from agentcal.models import utcnow

    ctx = runtime.context
    now = utcnow()
    begin = parse_time(start, ctx.timezone, "start") if start else now - timedelta(days=30)
    finish = parse_time(end, ctx.timezone, "end") if end else now + timedelta(days=366)
    events = _events(ctx).search_events(ctx.user_id, query, begin, finish)
    return _dump({"query": query, "events": [event_dict(e, ctx.timezone) for e in events]})


@tool
def schedule_event(
    title: str, duration_minutes: int, window_start: str, window_end: str, runtime: Runtime
) -> str:
    """Find the earliest free slot of duration_minutes between window_start and window_end (ISO) and book it."""
    ctx = runtime.context
    service = _events(ctx)
    begin = parse_time(window_start, ctx.timezone, "window_start")
    finish = parse_time(window_end, ctx.timezone, "window_end")
    slot = service.find_free_slot(ctx.user_id, begin, finish, duration_minutes)
    if slot is None:
        return _dump(
            {
                "scheduled": None,
                "reason": f"no free {duration_minutes}-minute slot between "
                f"{begin.isoformat(timespec='minutes')} and {finish.isoformat(timespec='minutes')}",
            }
        )
    event = service.create_event(
        user_id=ctx.user_id, title=title, start=slot[0], end=slot[1], timezone=ctx.timezone
    )
    return _dump({"scheduled": event_dict(event, ctx.timezone)})


@tool
def record_user_insight(
    insight_type: str,
    category: str,
    key: str,
    value: dict[str, Any] | list[Any] | str | int | float | bool,
    confidence: float,
    runtime: Runtime,
) -> str:
    """Remember something durable about the user (a habit, preference, goal or constraint).

    insight_type: preference|habit|pattern|goal|constraint. category: schedule|meetings|health|work|personal.
    key: e.g. gym_time, sleep_time, focus_time. value: e.g. {"time": "06:00", "duration_minutes": 60, "days": [1,2,3,4,5]}
    (days 1=Mon..7=Sun, omit for every day). confidence: 0..1.
    """
    from agentcal.services.jobs import JobQueue
    from agentcal.services.user_insights import InsightBody

    ctx = runtime.context
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
    return _dump({"queued": {"job_id": job.id, "category": body.category, "key": body.key}})


ALL_TOOLS = [
    create_event,
    list_events,
    update_event,
    delete_event,
    search_events,
    schedule_event,
    record_user_insight,
]
