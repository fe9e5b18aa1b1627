"""Bounded conversation memory: the history a turn sends stays within AGENTCAL_HISTORY_TOKENS.

LangChain's own mechanisms, run by the agent graph's memory node before each model call: it
rewrites the checkpointed history (so the stored conversation stays bounded too, not only the
request):

* a real model: `SummarizationMiddleware`. Once the history reaches the budget, its older part
  is replaced by a summary the model writes (SUMMARY_PROMPT), keeping the most recent
  KEEP_FRACTION of the budget word for word. A summary folds in the previous one, so facts
  carry forward.
* the offline model cannot summarise: `trim_messages` drops the oldest turns instead.

Both cut only between whole turns or before a model message, never between a tool call and
its result, and never into the current turn. Durable facts (habits, preferences, working
hours) live in the store and reach every prompt (agentcal.agent.prompts) whatever the history
keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# After a summary the history is KEEP_FRACTION of the budget plus the summary: a small
# saw-tooth, so the prompt size barely moves from turn to turn (bench/bench_agent.py).
KEEP_FRACTION = 0.75
# Tokens of the system prompt and the tool schemas, which the history budget leaves out but a
# server's reported prompt tokens include (SummarizationMiddleware compares both to its
# threshold): an estimate, measured in tests/agent/test_memory.py.
PROMPT_OVERHEAD_TOKENS = 2800

SUMMARY_PROMPT = """You are condensing the older part of a conversation between a user and \
agentcal, their calendar assistant, so that the conversation can go on in a small context \
window.

Write plain notes, at most 150 words, no preamble. Keep every fact a later request may need: \
events created, moved or deleted (with their ids, titles, days and times), what the user asked \
for and still expects, names, places and preferences the user mentioned, open questions. Drop \
greetings and small talk. If the messages start with an earlier summary, fold it in and keep \
its facts unless they changed.

<messages>
{messages}
</messages>"""


def count_tokens(messages: Iterable[Any]) -> int:
    """LangChain's approximate count (about 4 characters a token), for history budgets."""
    from langchain_core.messages.utils import count_tokens_approximately

    return count_tokens_approximately(messages)


def history_keeper(model: Any, history_tokens: int, *, summarize: bool) -> Any:
    """What keeps a thread's history within `history_tokens`: an object whose
    `before_model(state, runtime)` returns the graph's update (or None), run by the agent
    graph's memory node before each model call (agentcal.agent.graph)."""
    if summarize:
        return _summarizer_class()(model, history_tokens)
    return Trim(history_tokens)


def _summarizer_class() -> type:
    # Only a real model summarises, and it has imported LangChain's OpenAI client already:
    # `langchain.agents` costs nothing extra there, and the offline model never imports it.
    from langchain.agents.middleware import SummarizationMiddleware

    from agentcal.agent.cancel import call_abandonably

    class Summarize(SummarizationMiddleware):  # type: ignore[type-arg]
        """SummarizationMiddleware for a history budget; a cancel abandons the summary call.

        Used outside `create_agent`: its `before_model` reads only `state["messages"]`, and
        its summary call is tagged not to stream (the user never sees it as the answer)."""

        def __init__(self, model: Any, history_tokens: int) -> None:
            # The counter adds the prompt's overhead so that the middleware's two triggers
            # agree: its own count of the history, and the prompt tokens the server reported.
            overhead = PROMPT_OVERHEAD_TOKENS
            super().__init__(
                model,
                trigger=("tokens", history_tokens + overhead),
                keep=("tokens", int(history_tokens * KEEP_FRACTION) + overhead),
                token_counter=lambda messages: count_tokens(messages) + overhead,
                summary_prompt=SUMMARY_PROMPT,
                trim_tokens_to_summarize=history_tokens + overhead,
            )

        def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
            token = getattr(runtime.context, "cancel", None)
            return call_abandonably(
                lambda: super(Summarize, self).before_model(state, runtime), token
            )  # type: ignore[no-any-return]

    return Summarize


class Trim:
    """Drops the oldest whole turns once the budget is reached (`trim_messages`, strategy
    last), down to KEEP_FRACTION of it."""

    def __init__(self, history_tokens: int) -> None:
        self.history_tokens = history_tokens

    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        from langchain_core.messages import HumanMessage, RemoveMessage, trim_messages
        from langgraph.graph.message import REMOVE_ALL_MESSAGES

        messages = state["messages"]
        if count_tokens(messages) <= self.history_tokens:
            return None
        # The current turn (from the last user message) always stays whole.
        start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=0)
        room = int(self.history_tokens * KEEP_FRACTION) - count_tokens(messages[start:])
        earlier = (
            trim_messages(
                messages[:start],
                max_tokens=room,
                token_counter=count_tokens,
                strategy="last",
                start_on="human",
                include_system=True,
            )
            if room > 0
            else []
        )
        return {"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES), *earlier, *messages[start:]]}
