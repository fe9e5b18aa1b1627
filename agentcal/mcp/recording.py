"""Recording MCP tool calls: every `tools/call` (valid or not) becomes one `agent_observability`
row like a chat turn (action, tool, arguments, result, time, the client's name; no tokens), so
`agentcal logs` and `agentcal costs` show what outside agents did, and OpenTelemetry export (if
on) sends it as a `tools/call` trace."""

from __future__ import annotations

import contextvars
import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from agentcal.agent import operations as ops

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from agentcal.observability.calls import AgentObservabilityService

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
    "stop_habit": "update",
}
READ_ACTIONS = ("read", "search")


@dataclass(frozen=True)
class Call:
    """The tool call in progress: what the insight job links back to."""

    run_id: str
    call_id: int | None


_current: contextvars.ContextVar[Call | None] = contextvars.ContextVar("mcp_call", default=None)


def current_call() -> Call | None:
    """The tool call this task is running, if any."""
    return _current.get()


class Recorder:
    """The server's middleware: one row per tools/call, for one user."""

    def __init__(
        self, observability: AgentObservabilityService, user_id: str, transport: str
    ) -> None:
        self.observability = observability
        self.user_id = user_id
        self.transport = transport

    async def record(self, ctx: ServerRequestContext[Any, Any], call_next: Any) -> Any:
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
        token = _current.set(Call(run_id, call_id))
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


def _write_local_calendars() -> None:
    import logging

    from agentcal.planning.push import write_local_calendars

    for problem in write_local_calendars():
        logging.getLogger(__name__).warning("%s", problem)
