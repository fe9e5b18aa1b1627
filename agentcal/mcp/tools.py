"""The MCP server's tools: the chat's own calendar operations (`agentcal.agent.operations`:
same validation, same defaults, same confirmation rule), with the same bounds as the chat's
tool schemas (agentcal/agent/tools.py) and each domain error as the tool's one-line error."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from agentcal.agent import operations as ops
from agentcal.errors import AgentcalError
from agentcal.vocab import INSIGHT_CATEGORIES, INSIGHT_TYPES, PREFERENCE_TYPES

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from agentcal.agent.context import AgentContext

READ = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)
DESTRUCTIVE = ToolAnnotations(readOnlyHint=False, destructiveHint=True, openWorldHint=False)

IsoTime = Annotated[
    str,
    Field(
        max_length=40,
        description="ISO 8601 date or date-time, e.g. 2026-05-04T14:30 (the user's time zone "
        "unless an offset is given)",
    ),
]
Minutes = Annotated[int, Field(ge=5, le=1440, description="Length in minutes, 5 to 1440.")]
EventId = Annotated[int, Field(ge=1, description="An event id from list_events or search_events.")]


def _tool_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Domain errors become the tool's error result (the SDK hides other exceptions' text)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AgentcalError as exc:
            raise ToolError(str(exc)) from exc

    return wrapper


def add_tools(s: MCPServer, ctx: Callable[[], AgentContext]) -> None:
    """The calendar tools: the chat's own operations, for the user `ctx()` names."""

    @s.tool(annotations=READ)
    @_tool_errors
    def list_events(
        start: Annotated[IsoTime | None, Field(description="From (default: today).")] = None,
        end: Annotated[IsoTime | None, Field(description="Until (default: 7 days).")] = None,
    ) -> dict[str, Any]:
        """List the user's events overlapping [start, end). Default: today and the next 6 days; a bare date as start means that one day."""
        return ops.list_events(ctx(), start, end)

    @s.tool(annotations=READ)
    @_tool_errors
    def search_events(
        query: Annotated[str, Field(min_length=1, max_length=200, description="Text to find.")],
        start: IsoTime | None = None,
        end: IsoTime | None = None,
    ) -> dict[str, Any]:
        """Find events whose title, description or location contains the text. Default range: 30 days back to one year ahead."""
        return ops.search_events(ctx(), query, start, end)

    @s.tool(annotations=READ)
    @_tool_errors
    def find_free_time(
        window_start: IsoTime,
        window_end: IsoTime,
        duration_minutes: Minutes,
        limit: Annotated[int, Field(ge=1, le=ops.MAX_FREE_SLOTS)] = 5,
    ) -> dict[str, Any]:
        """Free stretches of at least duration_minutes between window_start and window_end, earliest first. Books nothing."""
        return ops.find_free_time(ctx(), window_start, window_end, duration_minutes, limit)

    @s.tool(annotations=WRITE)
    @_tool_errors
    def create_event(
        title: Annotated[str, Field(min_length=1, max_length=200)],
        start: IsoTime,
        end: IsoTime | None = None,
        duration_minutes: Minutes | None = None,
        location: Annotated[str, Field(max_length=500)] | None = None,
        description: Annotated[str, Field(max_length=2000)] | None = None,
    ) -> dict[str, Any]:
        """Create an event. Give an end or a duration (default 60 minutes)."""
        return ops.create_event(
            ctx(), title, start, end=end, duration_minutes=duration_minutes,
            location=location, description=description,
        )  # fmt: skip

    @s.tool(annotations=WRITE)
    @_tool_errors
    def move_event(
        event_id: EventId,
        start: IsoTime,
        end: IsoTime | None = None,
        duration_minutes: Minutes | None = None,
        confirmed: Annotated[
            bool, Field(description="The user confirmed moving an event that has started.")
        ] = False,
    ) -> dict[str, Any]:
        """Move an event to a new start (keeping its length unless end or duration_minutes is given)."""
        return ops.move_event(ctx(), event_id, start, end, duration_minutes, confirmed)

    @s.tool(annotations=DESTRUCTIVE)
    @_tool_errors
    def cancel_events(
        event_ids: Annotated[list[EventId], Field(min_length=1, max_length=100)],
        confirmed: Annotated[
            bool,
            Field(description="The user confirmed cancelling several events or past ones."),
        ] = False,
    ) -> dict[str, Any]:
        """Cancel events by id (all or none). Several at once, or one that has started, needs confirmed=true: ask the user first."""
        return ops.cancel_events(ctx(), event_ids, confirmed)

    @s.tool(annotations=READ)
    @_tool_errors
    def list_preferences(active_only: bool = False) -> dict[str, Any]:
        """The user's recurring blocks (gym, sleep, focus, meal, break, meditation) that agentcal keeps on the calendar."""
        return ops.list_preferences(ctx(), active_only)

    @s.tool(annotations=WRITE)
    @_tool_errors
    def record_insight(
        insight_type: Literal[INSIGHT_TYPES],  # type: ignore[valid-type]
        category: Literal[INSIGHT_CATEGORIES],  # type: ignore[valid-type]
        key: Annotated[str, Field(min_length=1, description="e.g. gym_time, sleep_time")],
        value: Annotated[
            dict[str, Any] | list[Any] | str | int | float | bool,
            Field(
                description='e.g. {"time": "06:00", "duration_minutes": 60, "days": [1,2,3,4,5]} '
                '(days 1=Mon..7=Sun; omit for every day; add "interval_weeks": 2 for every '
                "other week)"
            ),
        ],
        confidence: Annotated[float, Field(ge=0, le=1)],
        preference_type: Annotated[
            Literal[(*PREFERENCE_TYPES, "none")] | None,  # type: ignore[valid-type]
            Field(description="The calendar block a habit becomes, or none."),
        ] = None,
    ) -> dict[str, Any]:
        """Remember something durable about the user (the seed's insight body). Applied in the background; a schedulable habit becomes a calendar preference (the result says which events)."""
        return ops.record_user_insight(
            ctx(), insight_type, category, key, value, confidence, preference_type
        )

    @s.tool(annotations=DESTRUCTIVE)
    @_tool_errors
    def stop_habit(
        what: Annotated[
            str | None,
            Field(
                max_length=200,
                description="The habit as the user named it: title, type or activity "
                "(e.g. gym, morning gym, team standup).",
            ),
        ] = None,
        preference_id: Annotated[
            int | None, Field(ge=1, description="The habit's id, from list_preferences.")
        ] = None,
    ) -> dict[str, Any]:
        """Stop a habit the user no longer does: it is turned off, its events that have not started are cancelled and its insight marked as ended. Several or no matches: nothing changes and the result lists them."""
        return ops.stop_habit(ctx(), what, preference_id)
