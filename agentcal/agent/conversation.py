"""The checkpointed conversation around a turn that did not end well.

A cancelled or failed turn can leave the thread in a state the next model call rejects (tool
calls without results) or with replies the user never saw. `repair_thread` answers dangling
tool calls before a turn; `settle` leaves a clean conversation after a stopped one: nothing of
it when it changed nothing, else what ran (with its results) and a note of the failure.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def repair_thread(agent: Any, config: dict[str, Any]) -> None:
    """A cancelled or failed turn can leave tool calls without results: answer them."""
    from langchain_core.messages import AIMessage, ToolMessage

    messages = agent.get_state(config).values.get("messages", [])
    if not messages or not isinstance(messages[-1], AIMessage) or not messages[-1].tool_calls:
        return
    agent.update_state(
        config,
        {
            "messages": [
                ToolMessage(content="not run: the turn was interrupted", tool_call_id=c["id"])
                for c in messages[-1].tool_calls
            ]
        },
        as_node="tools",
    )


def settle(
    agent: Any, config: dict[str, Any], messages: list[Any], human_id: str | None,
    recorder: Any, error: str,
) -> None:  # fmt: skip
    """Leave a clean conversation after a turn that stopped early or failed.

    Nothing changed: the turn leaves no trace (its messages are removed). Something
    changed: the user's message, the tool calls that ran with their results, and a short
    note of the failure stay, so the next model call knows what exists; calls that never
    ran and replies the user never saw go.
    """
    from langchain_core.messages import AIMessage, RemoveMessage
    from langgraph.graph.message import REMOVE_ALL_MESSAGES

    start = next((i for i, m in enumerate(messages) if getattr(m, "id", None) == human_id), None)
    if start is None:
        return  # the turn never reached the conversation
    kept = kept_turn(messages[start:], recorder)
    if kept:
        kept.append(AIMessage(content=f"(This turn stopped before I finished: {error}.)"))
    try:
        agent.update_state(
            {"configurable": config["configurable"]},
            {"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES), *messages[:start], *kept]},
            as_node="model",
        )
    except Exception:  # the checkpoint store failed: the next turn repairs what it finds
        log.warning("could not clean up the conversation after a failed turn", exc_info=True)


def thread_messages(agent: Any, config: dict[str, Any]) -> list[Any]:
    try:
        state = agent.get_state({"configurable": config["configurable"]})
        return list(state.values.get("messages", []))
    except Exception:  # the checkpoint store itself failed: record what we have
        return []


def kept_turn(turn: list[Any], recorder: Any) -> list[Any]:
    """What of a stopped turn stays in the conversation: [] when it changed nothing; else the
    user's message and every model message with a tool call that ran, each followed by the
    results of all its calls (recorded ones filled in, the others marked not run)."""
    import json

    from langchain_core.messages import AIMessage, ToolMessage

    from agentcal.agent.effects import CHANGING_TOOLS

    ran = {
        s.extra.get("tool_call_id"): s
        for s in recorder.ordered()
        if s.step_type == "tool" and s.extra.get("tool_call_id") and s.status == "ok"
    }
    if not any(s.name in CHANGING_TOOLS for s in ran.values()):
        return []
    results = {m.tool_call_id: m for m in turn if isinstance(m, ToolMessage)}
    kept = [turn[0]]
    for message in turn[1:]:
        if not isinstance(message, AIMessage):
            continue  # tool results follow their call below; a summary stays out
        calls = message.tool_calls or []
        if not any(c["id"] in ran or c["id"] in results for c in calls):
            continue  # a reply not shown, or calls that never ran
        kept.append(message)
        for c in calls:
            if c["id"] in results:
                kept.append(results[c["id"]])
            elif c["id"] in ran:
                output = ran[c["id"]].output
                content = output if isinstance(output, str) else json.dumps(output, default=str)
                kept.append(ToolMessage(content=content, tool_call_id=c["id"], name=c["name"]))
            else:
                kept.append(
                    ToolMessage(
                        content="not run: the turn stopped",
                        tool_call_id=c["id"],
                        name=c["name"],
                        status="error",
                    )
                )
    return kept


def turn_messages(messages: list[Any], human_id: str | None) -> list[Any]:
    """This turn's messages: from its user message on."""
    for index in range(len(messages) - 1, -1, -1):
        if getattr(messages[index], "id", None) == human_id:
            return messages[index:]
    return []
