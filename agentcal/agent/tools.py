"""The agent's tools: LangChain wrappers over `agentcal.agent.operations`, with the schema a
model reads.

Every parameter carries its own description, closed vocabularies are enums and numbers have
bounds, so the JSON schema a model receives says everything (tests/agent/test_tool_schemas.py checks
it). Times the model passes are ISO 8601; a time without an offset is the user's local time.
Each tool returns JSON text (the model and the recorder read the same thing). Domain errors
are raised and turned into error tool messages by the graph, so the model can correct itself.
What each tool does lives in `operations`, shared with the MCP server.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal

from langchain_core.tools import InjectedToolArg, tool
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from agentcal.agent import operations as ops
from agentcal.agent.context import AgentContext
from agentcal.agent.operations import TOOL_ACTIONS, event_dict, parse_time

__all__ = ["ALL_TOOLS", "TOOL_ACTIONS", "event_dict", "parse_time"]

if TYPE_CHECKING:
    from langgraph.runtime import Runtime as GraphRuntime

    Runtime = GraphRuntime[AgentContext]
else:
    # The graph's runtime, filled in by the agent graph's tools node (agentcal.agent.graph;
    # its `context` says whose calendar) and never seen by the model (InjectedToolArg). Typed
    # Any for pydantic: typed as the runtime, every tool built a schema of the runtime
    # dataclass for an argument nobody validates (tests/agent/test_tool_schemas.py checks that
    # the model never sees it and that the tools get the turn's context).
    Runtime = Annotated[Any, InjectedToolArg]

# The closed vocabularies, spelled out so the schema carries them as enums (agentcal.vocab
# holds the same tuples; tests/agent/test_tool_schemas.py keeps the two equal).
InsightType = Literal["preference", "habit", "pattern", "goal", "constraint"]
InsightCategory = Literal["schedule", "meetings", "health", "work", "personal"]
PreferenceType = Literal["gym", "sleep", "focus", "meal", "break", "meditation", "event", "none"]
Weekday = Literal[1, 2, 3, 4, 5, 6, 7]

_ISO = "as ISO 8601 local time (e.g. 2026-05-04T14:30; an offset is honoured)"
_EVENT_ID = (
    "The id of an existing event, exactly as list_events or search_events returned it. Never "
    "guess an id: list or search first."
)
Title = Annotated[str, Field(min_length=1, max_length=200, description="The event's title.")]
Duration = Annotated[
    int, Field(ge=5, le=1440, description="Length in minutes, 5 to 1440 (24 hours).")
]
# Bounds go on the inner type: on `X | None` pydantic cannot express them in the schema.
Minutes = Annotated[int, Field(ge=5, le=1440)]
HHMM = Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
OptionalDuration = Annotated[
    Minutes | SkipJsonSchema[None],
    Field(description="Length in minutes, 5 to 1440; used when no end is given."),
]
EventId = Annotated[int, Field(ge=1, description=_EVENT_ID)]


# Optional strings, by maximum length; the description goes on each parameter.
MaybeTime = Annotated[str, Field(max_length=40)] | SkipJsonSchema[None]
MaybeTitle = Annotated[str, Field(max_length=200)] | SkipJsonSchema[None]
MaybePlace = Annotated[str, Field(max_length=500)] | SkipJsonSchema[None]
MaybeNotes = Annotated[str, Field(max_length=2000)] | SkipJsonSchema[None]


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, default=str)


@tool(
    description="Create one calendar event. Give an end or a duration (default 60 minutes). "
    "Returns the created event with its id."
)
def create_event(
    title: Title,
    start: Annotated[str, Field(description=f"When it starts, {_ISO}.")],
    runtime: Runtime,
    end: Annotated[
        MaybeTime, Field(description=f"When it ends, {_ISO}. Leave out to use duration_minutes.")
    ] = None,
    duration_minutes: OptionalDuration = None,
    location: Annotated[
        MaybePlace, Field(description="Where it takes place, if the user said.")
    ] = None,
    description: Annotated[
        MaybeNotes, Field(description="Notes to keep with the event, if any.")
    ] = None,
) -> str:
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


@tool(
    description="List the user's events overlapping a time range, by start time. Without a "
    "range: today and the next 6 days. A date alone as start means that whole day."
)
def list_events(
    runtime: Runtime,
    start: Annotated[
        MaybeTime, Field(description=f"Beginning of the range, {_ISO}, or a date 2026-05-04.")
    ] = None,
    end: Annotated[
        MaybeTime, Field(description=f"End of the range (exclusive), {_ISO} or a date.")
    ] = None,
) -> str:
    return _dump(ops.list_events(runtime.context, start, end))


@tool(
    description="Rename, move or resize one existing event. Moving (a new start) keeps its "
    "length unless end or duration_minutes is given. Only the fields given change."
)
def update_event(
    event_id: EventId,
    runtime: Runtime,
    title: Annotated[MaybeTitle, Field(description="The new title.")] = None,
    start: Annotated[MaybeTime, Field(description=f"The new start, {_ISO}.")] = None,
    end: Annotated[MaybeTime, Field(description=f"The new end, {_ISO}.")] = None,
    duration_minutes: OptionalDuration = None,
    location: Annotated[MaybePlace, Field(description="The new location.")] = None,
) -> str:
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


@tool(
    description="Delete (cancel) one existing event by id. The user is asked to confirm when "
    "several events are deleted in one turn or the event is in the past."
)
def delete_event(event_id: EventId, runtime: Runtime) -> str:
    return _dump(ops.delete_event(runtime.context, event_id))


@tool(
    description="Find the user's events whose title, description or location contains a text "
    "(case-insensitive). Default range: 30 days back to one year ahead."
)
def search_events(
    query: Annotated[str, Field(min_length=1, max_length=200, description="The text to find.")],
    runtime: Runtime,
    start: Annotated[MaybeTime, Field(description=f"Beginning of the range, {_ISO}.")] = None,
    end: Annotated[MaybeTime, Field(description=f"End of the range, {_ISO}.")] = None,
) -> str:
    return _dump(ops.search_events(runtime.context, query, start, end))


@tool(
    description="Book the earliest free slot of a given length inside a time window. A window "
    "of whole days (e.g. 2026-05-04T00:00 to 2026-05-05T00:00) means the user's working hours "
    "on those days."
)
def schedule_event(
    title: Title,
    duration_minutes: Duration,
    window_start: Annotated[str, Field(description=f"Earliest start, {_ISO}.")],
    window_end: Annotated[str, Field(description=f"Latest end, {_ISO}.")],
    runtime: Runtime,
) -> str:
    return _dump(
        ops.schedule_event(runtime.context, title, duration_minutes, window_start, window_end)
    )


class InsightValue(BaseModel):
    """The value of an insight: one shape for every kind. A habit or time block gives time,
    duration_minutes, (unless daily) days and (unless weekly) interval_weeks; working hours
    give time and end; anything that is no time block is a note."""

    model_config = ConfigDict(extra="forbid")

    time: HHMM | SkipJsonSchema[None] = Field(
        None,
        description="Start time as HH:MM, 24-hour, the user's local time (e.g. 06:00).",
    )
    duration_minutes: Minutes | SkipJsonSchema[None] = Field(
        None, description="How long the block lasts, 5 to 1440 minutes."
    )
    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)] | SkipJsonSchema[None] = (
        Field(
            None,
            description="Days of the week, 1=Monday to 7=Sunday. Leave out for every day.",
        )
    )
    interval_weeks: Annotated[int, Field(ge=1, le=52)] | SkipJsonSchema[None] = Field(
        None,
        description="Every N weeks on its days: 2 for every other week (biweekly, "
        "fortnightly). Leave out for every week.",
    )
    anchor_date: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")] | SkipJsonSchema[None] = (
        Field(
            None,
            description="With interval_weeks: the first day it happens, YYYY-MM-DD (its weeks "
            "count from that one). Leave out to start on its next day from today.",
        )
    )
    end: HHMM | SkipJsonSchema[None] = Field(
        None,
        description="End time as HH:MM, for a span such as working hours (time to end).",
    )
    title: Annotated[str, Field(max_length=200)] | SkipJsonSchema[None] = Field(
        None, description="Title for the calendar events, if the user named one."
    )
    note: Annotated[str, Field(max_length=500)] | SkipJsonSchema[None] = Field(
        None, description="The fact in a few words, when it is no time block."
    )


@tool(
    description="Remember something durable the user said about themselves: a habit, "
    "preference, goal or constraint (not a one-off event). Recording the same category and key "
    "again updates it. preference_type says which recurring calendar block it is (gym, sleep, "
    "focus, meal, break, meditation; event for a recurring appointment such as a weekly "
    "standup, with its title) or none; a block with a time and a duration becomes "
    "events on the calendar. Working hours: category work, key working_hours, value time and "
    "end. The result says whether and what will appear on the calendar: tell the user that."
)
def record_user_insight(
    insight_type: Annotated[
        InsightType,
        Field(
            description="habit: done regularly; preference: liked; goal: wanted; constraint: "
            "a rule such as no meetings before 10:00; pattern: observed."
        ),
    ],
    category: Annotated[InsightCategory, Field(description="The area of life it concerns.")],
    key: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            pattern=r"^[a-z][a-z0-9_]*$",
            description="A short snake_case name, unique within the category, e.g. gym_time, "
            "sleep_time, lunch_time, working_hours, no_meetings_before.",
        ),
    ],
    value: Annotated[InsightValue, Field(description="What the user said, in one shape.")],
    confidence: Annotated[
        float,
        Field(
            ge=0,
            le=1,
            description="0 to 1: 0.9 when the user said it plainly, 0.6 when "
            "hedged (usually, sometimes), lower for a guess.",
        ),
    ],
    preference_type: Annotated[
        PreferenceType,
        Field(
            description="The recurring calendar block this is, or none when it should not "
            "become calendar events (a constraint, working hours, a goal without a time)."
        ),
    ],
    runtime: Runtime,
) -> str:
    fields = value.model_dump(exclude_none=True) if isinstance(value, BaseModel) else value
    return _dump(
        ops.record_user_insight(
            runtime.context, insight_type, category, key, fields, confidence, preference_type
        )
    )


@tool(
    description="List the user's habits: the recurring blocks agentcal keeps on the calendar "
    "(gym, sleep, focus, meals, a weekly standup), on or off, with their ids, and what else "
    "the user told agentcal about themselves (insights)."
)
def list_habits(runtime: Runtime) -> str:
    return _dump(ops.list_habits(runtime.context))


@tool(
    description="Stop a habit the user no longer does or wants (“I don't go to the gym "
    "anymore”): it is turned off, its events not yet started are cancelled and its insight "
    "is marked as ended. Not for one event (delete_event). Several or no matches change "
    "nothing and the result lists them: ask the user which. Tell the user what was stopped "
    "and how many events were cancelled."
)
def stop_habit(
    runtime: Runtime,
    what: Annotated[
        MaybeTitle,
        Field(description="The habit as the user named it: title, type or activity (gym, swim)."),
    ] = None,
    preference_id: Annotated[
        Annotated[int, Field(ge=1)] | SkipJsonSchema[None],
        Field(description="The habit's id (list_habits, or a result listing several)."),
    ] = None,
) -> str:
    return _dump(ops.stop_habit(runtime.context, what, preference_id))


ALL_TOOLS = [
    create_event,
    list_events,
    update_event,
    delete_event,
    search_events,
    schedule_event,
    record_user_insight,
    list_habits,
    stop_habit,
]
