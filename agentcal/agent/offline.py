"""The built-in offline model: a deterministic chat model that needs no network or key.

It reads the user's last message with `quickadd.parse` and answers with the same tool calls a
real model would make, through the same graph. A request about an existing event ("move my
doctor appointment to 11", "cancel it") takes two steps: find it (search by words, or list its
day), then act on the single match; "it"/"that" is the last event this conversation created,
changed or showed alone. When it is not sure (no match, several, a date that does not exist)
it says what it understood and changes nothing. Token counts are estimated (about 4
characters per token) and marked as such; the cost is 0.

The parts: which tool to call (`offline_steps`), what to answer once it has answered
(`offline_reply`); this module is the LangChain model around them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, ClassVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agentcal.agent import quickadd, when
from agentcal.agent.offline_reply import Clock, summarise
from agentcal.agent.offline_steps import EDITS, HELP, act_on_match, first_step, read_json

OFFLINE_MODEL_NAME = "agentcal-offline-1"


def _estimate(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def _content(message: BaseMessage) -> str:
    c = message.content
    return c if isinstance(c, str) else json.dumps(c, default=str)


class OfflineChatModel(BaseChatModel):
    """Deterministic request parser posing as a tool-calling chat model."""

    timezone: str = "UTC"
    fixed_now: datetime | None = None  # tests pin the clock
    # It emits agentcal's own tools and reads no schema: the graph binds none (and so builds
    # none, agentcal.agent.graph).
    fixed_tools: ClassVar[bool] = True

    @property
    def _llm_type(self) -> str:
        return "agentcal-offline"

    @property
    def model_name(self) -> str:
        return OFFLINE_MODEL_NAME

    def bind_tools(self, tools: Any, **kwargs: Any) -> OfflineChatModel:  # type: ignore[override]
        return self  # the tool set is fixed: it emits agentcal's own tools

    def _clock(self) -> Clock:
        return Clock(self.timezone, self.fixed_now)

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
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
        return ChatResult(generations=[ChatGeneration(message=reply)])

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
