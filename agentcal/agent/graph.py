"""The agent graph: LangChain's tool-calling agent over agentcal's tools."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentcal.errors import AgentcalError, ExternalServiceError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


class ToolCallFault(ExternalServiceError):
    """The model asked for a tool that does not exist or sent arguments that are not JSON."""


def _tool_error(exc: Exception, request: Any) -> str | None:
    """Domain errors and bad arguments go back to the model; anything else is a bug and ends the turn."""
    if isinstance(exc, AgentcalError | ValueError | TypeError):
        return f"Error in {request.tool_call['name']}: {exc}"
    return None


def build_agent(
    model: BaseChatModel,
    *,
    tools: Sequence[Any] | None = None,
    checkpointer: Any = None,
) -> Any:
    """A compiled agent graph; pass `context=AgentContext(...)` and a recursion limit when invoking."""
    from langchain.agents import create_agent
    from langchain.agents.middleware import ToolErrorMiddleware, after_model, dynamic_prompt

    from agentcal.agent.context import AgentContext
    from agentcal.agent.tools import ALL_TOOLS

    tool_list = list(tools if tools is not None else ALL_TOOLS)
    names = {t.name for t in tool_list}

    @after_model
    def check_tool_calls(state: Any, runtime: Any) -> None:
        message = state["messages"][-1]
        for bad in getattr(message, "invalid_tool_calls", None) or []:
            raise ToolCallFault(
                f"the model sent malformed arguments for tool {bad.get('name') or '?'}; nothing was done"
            )
        for call in getattr(message, "tool_calls", None) or []:
            if call["name"] not in names:
                raise ToolCallFault(
                    f"the model asked for an unknown tool {call['name']!r}; nothing was done"
                )

    @dynamic_prompt
    def system_prompt(request: Any) -> str:
        return request.runtime.context.system_prompt or ""

    return create_agent(
        model,
        tools=tool_list,
        middleware=[system_prompt, check_tool_calls, ToolErrorMiddleware(on_error=_tool_error)],
        context_schema=AgentContext,
        checkpointer=checkpointer,
    )
