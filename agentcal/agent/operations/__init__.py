"""What the calendar tools do, as plain functions: (context, arguments) -> JSON-able data.

The chat's LangChain tools (`agentcal.agent.tools`) and the MCP server (`agentcal.mcp`) both
call these, so the two cannot drift: the same time parsing, defaults, validation and per-user
isolation (the user comes from the context, never from the arguments). Nothing here imports
LangChain. Domain errors (`agentcal.errors`) are raised for the caller to report.

The operations live in small private modules: reading and changing events (`_events`), free
time and booking (`_free_time`), insights (`_insights`), habits: listing and stopping them
(`_habits`), the confirmation rule (`_confirmation`) and what they share (`_common`); this is their public surface.
"""

from __future__ import annotations

from agentcal.agent.operations._common import (
    INTENTS,
    TOOL_ACTIONS,
    calendar_note,
    day_bounds,
    event_dict,
    parse_time,
)
from agentcal.agent.operations._confirmation import (
    ConfirmationNeeded,
    confirmation_reason,
    require_confirmation,
)
from agentcal.agent.operations._events import (
    cancel_events,
    create_event,
    delete_event,
    list_events,
    list_preferences,
    move_event,
    search_events,
    update_event,
)
from agentcal.agent.operations._free_time import (
    MAX_FREE_SLOTS,
    find_free_time,
    schedule_event,
    whole_day_windows,
)
from agentcal.agent.operations._habits import list_habits, stop_habit
from agentcal.agent.operations._insights import calendar_outcome, record_user_insight

__all__ = [
    "INTENTS",
    "MAX_FREE_SLOTS",
    "TOOL_ACTIONS",
    "ConfirmationNeeded",
    "calendar_note",
    "calendar_outcome",
    "cancel_events",
    "confirmation_reason",
    "create_event",
    "day_bounds",
    "delete_event",
    "event_dict",
    "find_free_time",
    "list_events",
    "list_habits",
    "list_preferences",
    "move_event",
    "parse_time",
    "record_user_insight",
    "require_confirmation",
    "schedule_event",
    "search_events",
    "stop_habit",
    "update_event",
    "whole_day_windows",
]
