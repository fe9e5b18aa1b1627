"""`agentcal mcp`: the calendar as a Model Context Protocol server, with the official `mcp` SDK.

Outside agents (Claude Desktop, IDE assistants...) get the chat's own calendar operations
(`agentcal.agent.operations`: same validation, same defaults, same confirmation rule), for one
user fixed when the server starts. Every tool call is recorded in `agent_observability` like a
chat turn (action, tool, arguments, result, time, the client's name; no tokens), so `agentcal
logs` and `agentcal costs` show what outside agents did, and OpenTelemetry export (if on) sends
it as a `tools/call` trace.
"""

from __future__ import annotations

import contextvars
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import uuid4

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from agentcal import __version__
from agentcal.agent import operations as ops
from agentcal.agent.context import AgentContext
from agentcal.errors import AgentcalError
from agentcal.vocab import INSIGHT_CATEGORIES, INSIGHT_TYPES, PREFERENCE_TYPES

if TYPE_CHECKING:
    from collections.abc import Callable

    from mcp.server.context import ServerRequestContext

# MCP tool name -> the seed's agent_action (the chat's tools have theirs in ops.TOOL_ACTIONS).
MCP_ACTIONS = {
    "list_events": "read",
    "search_events": "search",
    "find_free_time": "search",
    "create_event": "create",
    "move_event": "update",
    "cancel_events": "delete",
    "list_preferences": "read",
    "record_insight": "insight",
}
INSTRUCTIONS = (
    "agentcal manages one user's calendar and learns their habits. Times are ISO 8601; a time "
    "without an offset is the user's local time. Cancelling several events, or changing one "
    "that has already started, needs confirmed=true: ask the user first."
)
READ = ToolAnnotations(readOnlyHint=True, openWorldHint=False)
WRITE = ToolAnnotations(readOnlyHint=False, destructiveHint=False, openWorldHint=False)
DESTRUCTIVE = ToolAnnotations(readOnlyHint=False, destructiveHint=True, openWorldHint=False)

# The same bounds as the chat's tool schemas (agentcal/agent/tools.py).
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


READ_ACTIONS = ("read", "search")


@dataclass(frozen=True)
class _Call:
    """The tool call in progress: what the insight job links back to."""

    run_id: str
    call_id: int | None


_current: contextvars.ContextVar[_Call | None] = contextvars.ContextVar("mcp_call", default=None)


class _Server(MCPServer):
    """The SDK's server, with argument errors as one line (field: problem; ...)."""

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        from pydantic import ValidationError

        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'] if p != 'arguments') or 'arguments'}: "
                f"{err['msg']}"
                for err in cause.errors()
            )
            raise ToolError(f"Error executing tool {name}: {problems}") from cause


class AgentcalMCP:
    """The server for one user: tools, resources and the recording middleware."""

    def __init__(self, user_id: str, *, timezone: str, transport: str, engine: Any = None):
        from agentcal.observability.calls import AgentObservabilityService

        self.user_id = user_id
        self.timezone = timezone
        self.transport = transport
        self.engine = engine
        self.observability = AgentObservabilityService(engine)
        self.server: MCPServer = _Server(
            "agentcal", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING",
            middleware=[self._record],
        )  # fmt: skip
        self._add_tools()
        self._add_resources()

    def context(self) -> AgentContext:
        call = _current.get()
        return AgentContext(
            user_id=self.user_id,
            timezone=self.timezone,
            session_id=None,
            agent_run_id=call.run_id if call else None,
            source_request_id=call.call_id if call else None,
            engine=self.engine,
        )

    # -- tools ------------------------------------------------------------------------------

    def _add_tools(self) -> None:
        s = self.server
        ctx = self.context

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

    # -- resources --------------------------------------------------------------------------

    def _add_resources(self) -> None:
        s = self.server
        ctx = self.context

        @s.resource(
            "agentcal://agenda/week", name="agenda", mime_type="text/markdown",
            description="The user's events from today to 6 days ahead.",
        )  # fmt: skip
        def agenda() -> str:
            return _agenda_text(ops.list_events(ctx()))

        @s.resource(
            "agentcal://insights", name="insights", mime_type="application/json",
            description="What agentcal has learned about the user (habits, preferences...).",
        )  # fmt: skip
        def insights() -> str:
            from agentcal.insights.user_insights import UserInsightsService

            rows = UserInsightsService(self.engine).get_user_insights(self.user_id)
            return json.dumps(
                [
                    {
                        "insight_type": i.insight_type,
                        "category": i.category,
                        "key": i.key,
                        "value": i.value,
                        "confidence": i.confidence,
                        "source": i.source,
                        "updated_at": i.updated_at.isoformat(),
                    }
                    for i in rows
                ],
                ensure_ascii=False,
            )

    # -- recording --------------------------------------------------------------------------

    async def _record(self, ctx: ServerRequestContext[Any, Any], call_next: Any) -> Any:
        """Record every tools/call (valid or not) as one agent_observability row, reserved
        before the tool runs (an insight job links to it) and completed after."""
        if ctx.method != "tools/call":
            return await call_next(ctx)
        import anyio

        from agentcal.models import utcnow

        params = dict(ctx.params or {})
        name = str(params.get("name") or "?")[:200]
        args = params.get("arguments")
        session = f"mcp:{_client(ctx).get('name') or 'client'}"[:200]
        run_id = str(uuid4())
        call_id: int | None = None
        if MCP_ACTIONS.get(name, "read") not in READ_ACTIONS:
            # A changing call is reserved first, as a chat turn is: the insight job it queues
            # points at the row, and a crash mid-call leaves a visible 'running' row. A read
            # (or an unknown tool) is recorded in one insert afterwards.
            call_id = await anyio.to_thread.run_sync(
                lambda: self.observability.reserve_call(
                    user_id=self.user_id, agent_run_id=run_id, session_id=session
                )
            )
        token = _current.set(_Call(run_id, call_id))
        started, started_at = time.perf_counter(), utcnow()
        result: Any = None
        failure: str | None = "cancelled"  # until the call returns or raises
        try:
            result = await call_next(ctx)
            failure = None
            return result
        except Exception as exc:  # a protocol error (MCPError) or a bug: recorded, then raised
            failure = getattr(getattr(exc, "error", None), "message", None) or str(exc)
            raise
        finally:
            _current.reset(token)
            elapsed_ms = (time.perf_counter() - started) * 1000
            status, output = _outcome(result, failure)
            with anyio.CancelScope(shield=True):  # a cancelled call is recorded too
                await anyio.to_thread.run_sync(
                    lambda: self._log(
                        ctx,
                        call_id,
                        run_id,
                        session,
                        name,
                        args,
                        status,
                        output,
                        started_at,
                        elapsed_ms,
                    )
                )
                if call_id is not None:  # a changing call: the ICS file shows it now
                    await anyio.to_thread.run_sync(_write_local_calendars)

    def _log(
        self, ctx: ServerRequestContext[Any, Any], call_id: int | None, run_id: str, session: str,
        name: str, args: Any, status: str, output: Any, started_at: Any, elapsed_ms: float,
    ) -> None:  # fmt: skip
        action = MCP_ACTIONS.get(name)
        error = str(output) if status == "error" else None
        self.observability.log_agent_call(
            call_id=call_id,
            user_id=self.user_id,
            session_id=session,
            agent_run_id=run_id,
            agent_action=action,
            agent_tool=name,
            intent_category=ops.INTENTS.get(action or ""),
            entities=[{"tool": name, "args": args}],
            tool_result=[{"tool": name, "status": status, "result": output}],
            agent_state={
                "mcp": {
                    "client": _client(ctx),
                    "transport": self.transport,
                    "protocol_version": ctx.protocol_version,
                    "method": "tools/call",
                }
            },
            llm_cost_usd=0.0,  # no model was called
            execution_time_ms=round(elapsed_ms, 3),
            status=status,
            error=error,
            steps=[
                {
                    "run_id": str(uuid4()),
                    "parent_run_id": run_id,
                    "step_type": "tool",
                    "name": name,
                    "started_at": started_at,
                    "duration_ms": elapsed_ms,
                    "input": args,
                    "output": output,
                    "status": status,
                    "error": error,
                }
            ],
        )


def _client(ctx: ServerRequestContext[Any, Any]) -> dict[str, Any]:
    """The client's name and version from the MCP handshake (or the request envelope)."""
    params = getattr(getattr(ctx, "session", None), "client_params", None)
    info = getattr(params, "client_info", None)
    if info is None:
        return {}
    return {"name": str(info.name)[:100], "version": str(getattr(info, "version", "") or "")[:50]}


def _outcome(result: Any, failure: str | None) -> tuple[str, Any]:
    """(status, result data or error text) of a tools/call."""
    if failure is not None:
        return "error", failure
    if isinstance(result, dict):  # a handler may answer with the serialized form
        is_error = result.get("isError")
        content = result.get("content") or []
        structured = result.get("structuredContent")
    else:
        is_error = getattr(result, "is_error", False)
        content = getattr(result, "content", None) or []
        structured = getattr(result, "structured_content", None)
    text = " ".join(
        str(c.get("text", "") if isinstance(c, dict) else getattr(c, "text", "")) for c in content
    ).strip()
    if is_error:
        return "error", text or "the tool failed"
    if structured is not None:
        return "ok", structured
    try:
        return "ok", json.loads(text)
    except ValueError:
        return "ok", text


def _tool_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Domain errors become the tool's error result (the SDK hides other exceptions' text)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AgentcalError as exc:
            raise ToolError(str(exc)) from exc

    return wrapper


def _agenda_text(data: dict[str, Any]) -> str:
    from datetime import datetime

    lines = [f"# Agenda {data['from'][:10]} to {data['to'][:10]}", ""]
    day = None
    for e in data["events"]:
        start = datetime.fromisoformat(e["start"])
        if start.date() != day:
            day = start.date()
            lines += ["", f"## {start:%A %d %B}"] if len(lines) > 2 else [f"## {start:%A %d %B}"]
        where = f" ({e['location']})" if e.get("location") else ""
        lines.append(f"- {start:%H:%M}–{e['end'][11:16]} {e['title']}{where} (#{e['id']})")
    if not data["events"]:
        lines.append("No events.")
    return "\n".join(lines) + "\n"


def check_port(port: int) -> None:
    """Fail with one line now if the loopback port cannot be listened on."""
    import socket

    from agentcal.errors import ConfigError

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None


def serve(user_id: str, *, http_port: int | None = None) -> None:
    """Serve until the client disconnects (stdio) or the process is stopped (HTTP)."""
    import anyio

    from agentcal.db import get_engine
    from agentcal.users.profiles import user_timezone

    get_engine()  # migrate now, not inside the first call
    transport = "stdio" if http_port is None else "http"
    app = AgentcalMCP(user_id, timezone=user_timezone(user_id), transport=transport)
    if http_port is None:
        anyio.run(app.server.run_stdio_async)
    else:
        check_port(http_port)
        anyio.run(lambda: app.server.run_streamable_http_async(host="127.0.0.1", port=http_port))


def _write_local_calendars() -> None:
    import logging

    from agentcal.planning.push import write_local_calendars

    for problem in write_local_calendars():
        logging.getLogger(__name__).warning("%s", problem)
