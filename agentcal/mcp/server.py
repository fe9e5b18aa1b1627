"""The MCP server for one user: the SDK's server with agentcal's tools, resources and the
recording middleware."""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from agentcal import __version__
from agentcal.agent.context import AgentContext
from agentcal.mcp.recording import Recorder, current_call
from agentcal.mcp.resources import add_resources
from agentcal.mcp.tools import add_tools

INSTRUCTIONS = (
    "agentcal manages one user's calendar and learns their habits. Times are ISO 8601; a time "
    "without an offset is the user's local time. Cancelling several events, or changing one "
    "that has already started, needs confirmed=true: ask the user first."
)


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
        recorder = Recorder(AgentObservabilityService(engine), user_id, transport)
        self.server: MCPServer = _Server(
            "agentcal", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING",
            middleware=[recorder.record],
        )  # fmt: skip
        add_tools(self.server, self.context)
        add_resources(self.server, self.context)

    def context(self) -> AgentContext:
        call = current_call()
        return AgentContext(
            user_id=self.user_id,
            timezone=self.timezone,
            session_id=None,
            agent_run_id=call.run_id if call else None,
            source_request_id=call.call_id if call else None,
            engine=self.engine,
        )
