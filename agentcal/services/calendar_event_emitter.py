"""The seed's name for `agentcal.planning.emitter` (preferences -> calendar events)."""

from agentcal.planning.emitter import CalendarEventEmitter, calendar_event_emitter

__all__ = ["CalendarEventEmitter", "calendar_event_emitter"]
