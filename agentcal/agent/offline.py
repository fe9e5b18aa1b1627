"""The built-in offline model: a deterministic chat model that needs no network or key.

It reads the user's last message with `quickadd.parse` and answers with the same tool calls a
real model would make, through the same graph. A request about an existing event ("move my
doctor appointment to 11", "cancel it") takes two steps: find it (search by words, or list its
day), then act on the single match; "it"/"that" is the last event this conversation created,
changed or showed alone. When it is not sure (no match, several, a date that does not exist)
it says what it understood and changes nothing. Token counts are estimated (about 4
characters per token) and marked as such; the cost is 0.

The parts: which tool to call (`offline_steps`), what to answer once it has answered
(`offline_reply`); this module is the LangChain model around them. It is a plain `Runnable`
that reports each call to LangChain's callbacks as a chat model does (the recorder and the
token stream see the same events), not a `BaseChatModel`: importing LangChain's chat model
module builds some 30 pydantic classes, ~35 ms of every `chat -m` (docs/benchmarks.md).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableConfig

from agentcal.agent import quickadd, when
from agentcal.agent.offline_reply import Clock, summarise
from agentcal.agent.offline_steps import EDITS, HELP, act_on_match, first_step, read_json

OFFLINE_MODEL_NAME = "agentcal-offline-1"


def _estimate(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def _content(message: BaseMessage) -> str:
    c = message.content
    return c if isinstance(c, str) else json.dumps(c, default=str)


class OfflineChatModel(Runnable[Any, AIMessage]):
    """Deterministic request parser posing as a tool-calling chat model."""

    # It emits agentcal's own tools and reads no schema: the graph binds none (and so builds
    # none, agentcal.agent.graph).
    fixed_tools: ClassVar[bool] = True

    def __init__(self, timezone: str = "UTC", fixed_now: datetime | None = None) -> None:
        self.timezone = timezone
        self.fixed_now = fixed_now  # tests pin the clock

    @property
    def _llm_type(self) -> str:
        return "agentcal-offline"

    @property
    def model_name(self) -> str:
        return OFFLINE_MODEL_NAME

    def bind_tools(self, tools: Any, **kwargs: Any) -> OfflineChatModel:
        return self  # the tool set is fixed: it emits agentcal's own tools

    def _clock(self) -> Clock:
        return Clock(self.timezone, self.fixed_now)

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AIMessage:
        """The reply to a list of messages, reported to the callbacks as a chat model call:
        on_chat_model_start, then on_llm_end with the reply (its estimated usage) or
        on_llm_error, under the run id the config gives, as `BaseChatModel.invoke` does."""
        from langchain_core.callbacks import CallbackManager
        from langchain_core.outputs import ChatGeneration, LLMResult
        from langchain_core.runnables.config import ensure_config

        messages = [HumanMessage(input)] if isinstance(input, str) else list(input)
        config = ensure_config(config)
        manager = CallbackManager.configure(
            config.get("callbacks"),
            inheritable_tags=config.get("tags"),
            inheritable_metadata=config.get("metadata"),
        )
        (run,) = manager.on_chat_model_start(
            {"lc": 1, "type": "not_implemented", "id": [__name__, type(self).__name__]},
            [messages],
            invocation_params={"timezone": self.timezone, "_type": self._llm_type},
            options={"stop": None},
            name=config.get("run_name"),
            run_id=config.pop("run_id", None),
            batch_size=1,
        )
        try:
            reply = self.reply(messages)
        except BaseException as exc:
            run.on_llm_error(exc)
            raise
        if reply.id is None:
            reply.id = f"lc_run--{run.run_id}"
        run.on_llm_end(LLMResult(generations=[[ChatGeneration(message=reply)]]))
        return reply

    def reply(self, messages: list[BaseMessage]) -> AIMessage:
        """`respond`, with its token counts estimated and marked as such."""
        reply = self.respond(messages)
        prompt_tokens = sum(_estimate(_content(m)) for m in messages)
        out_text = _content(reply) + json.dumps(reply.tool_calls, default=str)
        completion_tokens = _estimate(out_text)
        reply.usage_metadata = {
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        reply.response_metadata = {"model_name": OFFLINE_MODEL_NAME, "tokens_estimated": True}
        return reply

    def respond(self, messages: list[BaseMessage]) -> AIMessage:
        """The next message of the conversation: a tool call or the answer."""
        last_human = max(
            (i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=None
        )
        if last_human is None:
            return AIMessage(content=HELP)
        clock = self._clock()
        intent = quickadd.parse(
            _content(messages[last_human]),
            clock.now(),
            month_first=when.month_first(self.timezone),
        )
        after = messages[last_human + 1 :]
        results = [m for m in after if isinstance(m, ToolMessage)]
        if not results:
            return first_step(intent, messages[:last_human], clock)
        last = results[-1]
        data = read_json(last.content)
        if last.status == "error" or not isinstance(data, dict):
            return AIMessage(content=f"I couldn't do that: {_content(last)}".splitlines()[0])
        if intent.kind in EDITS and last.name in ("search_events", "list_events"):
            return act_on_match(intent, data.get("events") or [], clock)
        return AIMessage(content=summarise(last.name or "", data, intent, clock))
