"""What every operation shares: the names the store records them under, ISO times in the user's
zone, an event as the tools show it, and the note when the user changed it in their calendar."""

from __future__ import annotations

from datetime import datetime, time, timedelta
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
    "list_habits": "read",
    "stop_habit": "update",  # the habit is turned off; its future events are cancelled
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


def events_service(ctx: AgentContext):  # type: ignore[no-untyped-def]
    """The events service on the context's store."""
    from agentcal.planning.events import CalendarEventsService

    return CalendarEventsService(ctx.engine)
