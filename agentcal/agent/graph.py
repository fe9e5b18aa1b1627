"""The agent graph: a LangGraph `StateGraph` of three nodes over agentcal's tools.

    START -> memory -> model -> tools -> memory -> model -> ... -> END (a reply without calls)

* memory (only with a history budget): agentcal.agent.memory keeps the history within
  AGENTCAL_HISTORY_TOKENS before each model call (summarised by a real model, the oldest turns
  dropped for the offline one); its rewrite is checkpointed before the model is called;
* model: the turn's system prompt (built by the runner from the store: context.system_prompt)
  and the history. A cancelled turn (Ctrl-C, the turn deadline) makes no call, and a call in
  flight is abandoned rather than waited for (agentcal.agent.cancel). A reply over the history
  budget ends the turn, and so does a call of an unknown tool or with arguments that are not
  JSON: nothing of that reply is run or kept;
* tools: the reply's calls, in parallel, each with the graph's runtime (its context says whose
  calendar). Before each: the cancel, and the confirmation gate (deleting or moving several
  events, or anything in the past, asks first: agentcal.agent.confirm; a "no" is the call's
  error result). Domain errors and arguments that fail the tool's schema go back to the model
  as error results to correct; anything else ends the turn, and so does a result over
  MAX_TOOL_RESULT_BYTES.

The state is LangGraph's message list (`messages`, reduced by `add_messages`): the channel
LangChain's `create_agent`, which built this graph before, kept too, so conversations it
checkpointed resume. "model" and "tools" are the node names the runner's token stream and
agentcal.agent.conversation's state updates use.

The tools' pydantic schemas (agentcal.agent.tools, ~40 ms to build) are built when a tool first
runs or a real model first needs them: the offline model emits calls of its own fixed set, so
a turn that calls no tool never builds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, SystemMessage, ToolMessage
from langgraph.graph.message import add_messages

from agentcal.agent.cancel import call_abandonably
from agentcal.errors import AgentcalError, ExternalServiceError

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable, RunnableConfig
    from pydantic import ValidationError

    from agentcal.agent.model import ChatModel

MAX_TOOL_RESULT_BYTES = 100_000
# The argument the graph fills in with its runtime (agentcal.agent.tools): never the model's.
RUNTIME_ARG = "runtime"


class ToolCallFault(ExternalServiceError):
    """The model asked for a tool that does not exist or sent arguments that are not JSON."""


class ToolResultTooLarge(ExternalServiceError):
    """A tool returned more than the model should be sent in one message."""


class ReplyTooLarge(ExternalServiceError):
    """The model's reply alone would not fit the history budget."""


class AgentState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def _tool_error(exc: Exception, call: dict[str, Any]) -> str | None:
    """Domain errors and bad arguments go back to the model; anything else is a bug and ends the turn."""
    if isinstance(exc, AgentcalError | ValueError | TypeError):
        return f"Error in {call['name']}: {exc}"
    return None


def _invalid_arguments(call: dict[str, Any], exc: ValidationError) -> str:
    """What the model is told when its arguments fail the tool's schema (LangGraph ToolNode's
    wording, the injected runtime left out)."""
    errors = "\n".join(
        f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}"
        for e in exc.errors()
        if e["loc"] and e["loc"][0] != RUNTIME_ARG
    )
    return (
        f"Error invoking tool '{call['name']}' with kwargs {call['args']} with error:\n"
        f" {errors}\n Please fix the error and try again."
    )


def _last_reply(messages: Sequence[Any]) -> tuple[AIMessage | None, list[dict[str, Any]]]:
    """The last model message and its calls that have no result yet."""
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, AIMessage):
            answered = {m.tool_call_id for m in messages[index + 1 :] if isinstance(m, ToolMessage)}
            return message, [dict(c) for c in message.tool_calls if c["id"] not in answered]
    return None, []


def _after_model(state: dict[str, Any]) -> str:
    from langgraph.graph import END

    _, pending = _last_reply(state["messages"])
    return "tools" if pending else END


class _Nodes:
    """The model and tools nodes of one graph."""

    def __init__(
        self, model: ChatModel, tools: Sequence[Any] | None, history_tokens: int | None
    ) -> None:
        from agentcal.agent.operations import TOOL_ACTIONS

        self.model = model
        self.max_reply_tokens = history_tokens
        self._tools = {t.name: t for t in tools} if tools is not None else None
        self.names = frozenset(self._tools if self._tools is not None else TOOL_ACTIONS)
        self._bound: Runnable[Any, Any] | None = None

    def tools_by_name(self) -> dict[str, Any]:
        if self._tools is None:
            from agentcal.agent.tools import ALL_TOOLS

            self._tools = {t.name: t for t in ALL_TOOLS}
        return self._tools

    def bound_model(self) -> Runnable[Any, Any]:
        """The model with the tools' schemas bound (the offline model knows its own)."""
        if self._bound is None:
            if getattr(self.model, "fixed_tools", False):
                self._bound = self.model
            else:
                self._bound = self.model.bind_tools(list(self.tools_by_name().values()))
        return self._bound

    # The model -------------------------------------------------------------------------------
    def call_model(self, state: AgentState, runtime: Any, config: RunnableConfig) -> dict[str, Any]:
        context = runtime.context
        token = getattr(context, "cancel", None)
        prompt = SystemMessage(content=getattr(context, "system_prompt", "") or "")
        request = [prompt, *state["messages"]]
        model = self.bound_model()
        reply = call_abandonably(lambda: model.invoke(request, config), token)
        if token is not None:
            token.check()  # cancelled while the model answered: its reply is dropped
        self._check_reply(reply)
        return {"messages": [reply]}

    def _check_reply(self, reply: Any) -> None:
        if self.max_reply_tokens is not None:
            from agentcal.agent.memory import count_tokens

            size = count_tokens([reply])
            if size > self.max_reply_tokens:
                raise ReplyTooLarge(
                    f"the model's reply is about {size:,} tokens, more than the "
                    f"{self.max_reply_tokens:,} of AGENTCAL_HISTORY_TOKENS; it was not kept"
                )
        for bad in getattr(reply, "invalid_tool_calls", None) or []:
            raise ToolCallFault(
                f"the model sent malformed arguments for tool {bad.get('name') or '?'}; that call was not run"
            )
        for call in getattr(reply, "tool_calls", None) or []:
            if call["name"] not in self.names:
                raise ToolCallFault(
                    f"the model asked for an unknown tool {call['name']!r}; that call was not run"
                )

    # The tools -------------------------------------------------------------------------------
    def run_tools(self, state: AgentState, runtime: Any, config: RunnableConfig) -> dict[str, Any]:
        from langchain_core.runnables.config import get_config_list, get_executor_for_config

        reply, calls = _last_reply(state["messages"])
        self.tools_by_name()  # built once, before the calls run in parallel
        configs = get_config_list(config, len(calls))
        with get_executor_for_config(config) as executor:
            results = list(
                executor.map(lambda c, cfg: self._run(c, reply, runtime, cfg), calls, configs)
            )
        return {"messages": results}

    def _run(
        self, call: dict[str, Any], reply: Any, runtime: Any, config: RunnableConfig
    ) -> ToolMessage:
        context = runtime.context
        token = getattr(context, "cancel", None)
        if token is not None:
            token.check()
        gate = getattr(context, "gate", None)
        if gate is not None:
            declined = gate.check(call, reply)
            if declined is not None:
                return _error_result(call, declined)
            if token is not None:
                token.check()  # cancelled while the user was asked
        result = self._invoke(call, runtime, config)
        content = result.content
        size = len(content.encode()) if isinstance(content, str) else 0
        if size > MAX_TOOL_RESULT_BYTES:
            raise ToolResultTooLarge(
                f"{call['name']} returned {size // 1000} kB, more than the "
                f"{MAX_TOOL_RESULT_BYTES // 1000} kB a model is sent; narrow the request"
            )
        return result

    def _invoke(self, call: dict[str, Any], runtime: Any, config: RunnableConfig) -> ToolMessage:
        from pydantic import ValidationError

        tool = self.tools_by_name().get(call["name"])
        if tool is None:
            raise ToolCallFault(
                f"the model asked for an unknown tool {call['name']!r}; that call was not run"
            )
        args = dict(call["args"])
        if RUNTIME_ARG in getattr(tool.args_schema, "model_fields", {}):
            args[RUNTIME_ARG] = runtime
        tool_call = {"type": "tool_call", "id": call["id"], "name": call["name"], "args": args}
        try:
            result = tool.invoke(tool_call, config)
        except ValidationError as exc:  # the arguments fail the schema (or a model inside)
            return _error_result(call, _invalid_arguments(call, exc))
        except Exception as exc:
            text = _tool_error(exc, call)
            if text is None:
                raise
            return _error_result(call, text)
        if isinstance(result, ToolMessage):
            return result
        return ToolMessage(content=str(result), tool_call_id=call["id"], name=call["name"])


def _error_result(call: dict[str, Any], text: str) -> ToolMessage:
    return ToolMessage(content=text, tool_call_id=call["id"], name=call["name"], status="error")


def build_agent(
    model: ChatModel,
    *,
    tools: Sequence[Any] | None = None,
    checkpointer: Any = None,
    history_tokens: int | None = None,
    summarize: bool = True,
) -> Any:
    """A compiled agent graph; pass `context=AgentContext(...)` and a recursion limit when invoking.

    With `history_tokens`, the conversation is kept within that budget (agentcal.agent.memory:
    summarised by the model, or trimmed when `summarize` is False) and a model reply over it
    ends the turn. `tools` defaults to agentcal.agent.tools.ALL_TOOLS, built on first use."""
    from langgraph.graph import END, START, StateGraph

    from agentcal.agent.context import AgentContext

    nodes = _Nodes(model, tools, history_tokens)
    graph = StateGraph(AgentState, context_schema=AgentContext)
    # Nodes taking the runtime and the config: LangGraph passes both, its overloads name one.
    graph.add_node("model", nodes.call_model)  # type: ignore[call-overload]
    graph.add_node("tools", nodes.run_tools)  # type: ignore[call-overload]
    before_model = "model"
    if history_tokens:
        from agentcal.agent.memory import history_keeper

        keeper = history_keeper(model, history_tokens, summarize=summarize)
        graph.add_node("memory", keeper.before_model)
        graph.add_edge("memory", "model")
        before_model = "memory"
    graph.add_edge(START, before_model)
    graph.add_conditional_edges("model", _after_model, ["tools", END])
    graph.add_edge("tools", before_model)
    return graph.compile(checkpointer=checkpointer)
