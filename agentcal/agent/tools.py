"""The agent's tools: thin LangChain wrappers over `agentcal.agent.operations`.

Times the model passes are ISO 8601; a time without an offset is the user's local time.
Each tool returns JSON text (the model and the recorder read the same thing). Domain errors
are raised and turned into error tool messages by the graph, so the model can correct itself.
What each tool does lives in `operations`, shared with the MCP server.
"""

from __future__ import annotations

import json
from typing import Any

from langchain.tools import ToolRuntime, tool

from agentcal.agent import operations as ops
from agentcal.agent.context import AgentContext
from agentcal.agent.operations import TOOL_ACTIONS, event_dict, parse_time

__all__ = ["ALL_TOOLS", "TOOL_ACTIONS", "event_dict", "parse_time"]

Runtime = ToolRuntime[AgentContext]


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


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
    return _dump(
        ops.create_event(
            runtime.context,
            title,
            start,
            end=end,
            duration_minutes=duration_minutes,
            location=location,
            description=description,
        )
    )


@tool
def list_events(runtime: Runtime, start: str | None = None, end: str | None = None) -> str:
    """List the user's events overlapping [start, end) (ISO dates or date-times). Default: today and the next 6 days."""
    return _dump(ops.list_events(runtime.context, start, end))


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
    return _dump(
        ops.update_event(
            runtime.context,
            event_id,
            title=title,
            start=start,
            end=end,
            duration_minutes=duration_minutes,
            location=location,
        )
    )


@tool
def delete_event(event_id: int, runtime: Runtime) -> str:
    """Delete (cancel) an event by id."""
    return _dump(ops.delete_event(runtime.context, event_id))


@tool
def search_events(
    query: str, runtime: Runtime, start: str | None = None, end: str | None = None
) -> str:
    """Find the user's events whose title, description or location contains the text. Default range: 30 days back to 1 year ahead."""
    return _dump(ops.search_events(runtime.context, query, start, end))


@tool
def schedule_event(
    title: str, duration_minutes: int, window_start: str, window_end: str, runtime: Runtime
) -> str:
    """Find the earliest free slot of duration_minutes between window_start and window_end (ISO) and book it."""
    return _dump(
        ops.schedule_event(runtime.context, title, duration_minutes, window_start, window_end)
    )


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
    return _dump(
        ops.record_user_insight(runtime.context, insight_type, category, key, value, confidence)
    )


ALL_TOOLS = [
    create_event,
    list_events,
    update_event,
    delete_event,
    search_events,
    schedule_event,
    record_user_insight,
]
