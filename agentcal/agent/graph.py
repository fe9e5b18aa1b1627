"""The agent graph: LangChain's tool-calling agent over agentcal's tools.

Middleware, outermost first:
* the guard: a cancelled turn (Ctrl-C, the turn deadline) makes no further model or tool call,
  and a model call in flight is abandoned rather than waited for; deleting or moving several
  events, or anything in the past, asks first (agentcal.agent.confirm); a tool result over
  MAX_TOOL_RESULT_BYTES or a model reply over the history budget ends the turn;
* bounded memory (agentcal.agent.memory): the history stays within AGENTCAL_HISTORY_TOKENS;
* the per-turn system prompt (built by the runner from the store);
* the tool-call check: an unknown tool or malformed arguments end the turn, nothing run;
* tool errors: domain errors and bad arguments go back to the model to correct.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agentcal.agent.cancel import call_abandonably
from agentcal.errors import AgentcalError, ExternalServiceError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

MAX_TOOL_RESULT_BYTES = 100_000


class ToolCallFault(ExternalServiceError):
    """The model asked for a tool that does not exist or sent arguments that are not JSON."""


class ToolResultTooLarge(ExternalServiceError):
    """A tool returned more than the model should be sent in one message."""


class ReplyTooLarge(ExternalServiceError):
    """The model's reply alone would not fit the history budget."""


def _tool_error(exc: Exception, request: Any) -> str | None:
    """Domain errors and bad arguments go back to the model; anything else is a bug and ends the turn."""
    if isinstance(exc, AgentcalError | ValueError | TypeError):
        return f"Error in {request.tool_call['name']}: {exc}"
    return None


def _guard_class() -> type:
    from langchain.agents.middleware import AgentMiddleware

    class TurnGuard(AgentMiddleware):  # type: ignore[type-arg]
        """Stops a cancelled turn before its next call; bounds what a tool may return and
        what a model reply may weigh."""

        def __init__(self, max_reply_tokens: int | None = None) -> None:
            super().__init__()
            self.max_reply_tokens = max_reply_tokens

        def wrap_model_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
            token = getattr(request.runtime.context, "cancel", None)
            result = call_abandonably(lambda: handler(request), token)
            if token is not None:
                token.check()  # cancelled while the model answered: its reply is dropped
            if self.max_reply_tokens is not None:
                from agentcal.agent.memory import count_tokens

                reply = getattr(result, "result", None) or [result]
                size = count_tokens(reply)
                if size > self.max_reply_tokens:
                    raise ReplyTooLarge(
                        f"the model's reply is about {size:,} tokens, more than the "
                        f"{self.max_reply_tokens:,} of AGENTCAL_HISTORY_TOKENS; it was not kept"
                    )
            return result

        def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
            context = request.runtime.context
            token = getattr(context, "cancel", None)
            if token is not None:
                token.check()
            gate = getattr(context, "gate", None)
            if gate is not None:
                declined = gate.check(request.tool_call, request.state["messages"][-1])
                if declined is not None:
                    from langchain_core.messages import ToolMessage

                    return ToolMessage(
                        content=declined, tool_call_id=request.tool_call["id"],
                        name=request.tool_call["name"], status="error",
                    )  # fmt: skip
                if token is not None:
                    token.check()  # cancelled while the user was asked
            result = handler(request)
            content = getattr(result, "content", None)
            size = len(content.encode()) if isinstance(content, str) else 0
            if size > MAX_TOOL_RESULT_BYTES:
                name = request.tool_call["name"]
                raise ToolResultTooLarge(
                    f"{name} returned {size // 1000} kB, more than the "
                    f"{MAX_TOOL_RESULT_BYTES // 1000} kB a model is sent; narrow the request"
                )
            return result

    return TurnGuard


def build_agent(
    model: BaseChatModel,
    *,
    tools: Sequence[Any] | None = None,
    checkpointer: Any = None,
    history_tokens: int | None = None,
    summarize: bool = True,
) -> Any:
    """A compiled agent graph; pass `context=AgentContext(...)` and a recursion limit when invoking.

    With `history_tokens`, the conversation is kept within that budget (agentcal.agent.memory:
    summarised by the model, or trimmed when `summarize` is False) and a model reply over it
    ends the turn."""
    from langchain.agents import create_agent
    from langchain.agents.middleware import ToolErrorMiddleware, after_model, dynamic_prompt

    from agentcal.agent.context import AgentContext
    from agentcal.agent.memory import memory_middleware
    from agentcal.agent.tools import ALL_TOOLS

    tool_list = list(tools if tools is not None else ALL_TOOLS)
    names = {t.name for t in tool_list}

    @after_model
    def check_tool_calls(state: Any, runtime: Any) -> None:
        message = state["messages"][-1]
        for bad in getattr(message, "invalid_tool_calls", None) or []:
            raise ToolCallFault(
                f"the model sent malformed arguments for tool {bad.get('name') or '?'}; that call was not run"
            )
        for call in getattr(message, "tool_calls", None) or []:
            if call["name"] not in names:
                raise ToolCallFault(
                    f"the model asked for an unknown tool {call['name']!r}; that call was not run"
                )

    @dynamic_prompt
    def system_prompt(request: Any) -> str:
        return request.runtime.context.system_prompt or ""

    return create_agent(
        model,
        tools=tool_list,
        middleware=[
            _guard_class()(history_tokens),
            *(
                [memory_middleware(model, history_tokens, summarize=summarize)]
                if history_tokens
                else []
            ),
            system_prompt,
            check_tool_calls,
            ToolErrorMiddleware(on_error=_tool_error),
        ],
        context_schema=AgentContext,
        checkpointer=checkpointer,
    )
