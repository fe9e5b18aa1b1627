"""The agent graph agentcal builds itself (agentcal.agent.graph): what LangChain's create_agent
and its middleware gave before and no other test pins. Conversations that graph checkpointed
resume; a reply calling an unknown tool ends the turn with nothing of it run; errors inside a
tool go back to the model or end the turn, by kind; the tools get the turn's context, which
the model can neither see nor fill in."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import InjectedToolArg, tool
from pydantic import BaseModel

from agentcal.agent.context import AgentContext
from agentcal.errors import NotFoundError
from tests.agent.test_agent_loopback import events, make_runner
from tests.openai_loopback import LoopbackOpenAI, Reply, text

TZ = "Europe/Paris"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(TZ))  # when the old threads were written
OLD_CHECKPOINTS = Path(__file__).parent / "data" / "create_agent_checkpoints.sql"


def well_formed(messages: list[Any]) -> bool:
    """Every tool call answered, every answer to a call."""
    asked = {c["id"] for m in messages if isinstance(m, AIMessage) for c in m.tool_calls}
    answered = {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    return asked == answered


def test_conversations_checkpointed_by_create_agent_resume(tmp_path):
    """Threads written by the graph of 52c9101 (LangChain's create_agent and agentcal's
    middleware; tests/agent/data/make_create_agent_checkpoints.py): finished turns, a turn the
    runner settled after a fault, and a process killed in the middle of a tool call."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    from agentcal.agent.offline import OfflineChatModel
    from agentcal.agent.runner import ChatRunner

    conn = sqlite3.connect(tmp_path / "checkpoints.db", check_same_thread=False)
    conn.executescript(OLD_CHECKPOINTS.read_text())
    saver = SqliteSaver(conn)
    model = OfflineChatModel(timezone=TZ, fixed_now=NOW)
    runner = ChatRunner(model, user_id="alice", checkpointer=saver, clock=lambda: NOW)

    def history(thread: str) -> list[Any]:
        config = {"configurable": {"thread_id": thread}}
        return list(runner.agent.get_state(config).values["messages"])

    kept = {"finished": 10, "settled": 4, "crashed": 2}
    for thread, length in kept.items():
        before = history(thread)
        assert len(before) == length, thread
        runner._thread_id = thread  # the fixture's own threads: no session row names them
        turn = runner.run_turn("what's on Friday?")
        assert turn.ok, (thread, turn.error)
        after = history(thread)
        # The old conversation stays as it was (the crashed call now answered), this turn after it.
        repaired = 1 if thread == "crashed" else 0
        assert [m.content for m in after[:length]] == [m.content for m in before]
        assert [type(m) for m in after[length + repaired :]] == [
            HumanMessage, AIMessage, ToolMessage, AIMessage]  # fmt: skip
        assert after[length + repaired].content == "what's on Friday?"
        assert turn.answer == after[-1].content and "Fri 27 Nov" in turn.answer
        assert well_formed(after), thread
        # Only this turn's own call ran: not the one the crashed process left pending.
        assert [r["tool"] for r in turn.record.tool_result] == ["list_events"]
    interrupted = next(m for m in history("crashed") if isinstance(m, ToolMessage))
    assert interrupted.content == "not run: the turn was interrupted"


def test_a_reply_calling_an_unknown_tool_runs_none_of_its_calls(monkeypatch):
    lunch = {"title": "Lunch", "start": "2026-12-24T12:00", "duration_minutes": 60}
    with LoopbackOpenAI() as server:
        runner = make_runner(monkeypatch, server.base_url)
        server.add(
            Reply(tool_calls=[("create_event", json.dumps(lunch)), ("launch_rockets", "{}")]),
            text("never asked for"),
        )
        turn = runner.run_turn("lunch on Christmas eve, and launch the rockets")
        assert len(server.requests) == 1
    assert turn.status == "error"
    assert (
        turn.error == "the model asked for an unknown tool 'launch_rockets'; that call was not run"
    )
    assert events() == [] and turn.record.tool_result is None and turn.done == []


class Scripted(BaseChatModel):
    """A model that answers with the messages it is given, in order, and keeps what it was sent."""

    replies: list[AIMessage]
    sent: list[list[Any]]
    fixed_tools: ClassVar[bool] = True  # nothing to bind: it knows what it will call

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(self, messages: list[Any], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:  # fmt: skip
        self.sent.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=self.replies.pop(0))])


def calls(*named: tuple[str, dict[str, Any]]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": n, "args": a, "id": f"c{i}"} for i, (n, a) in enumerate(named)],
    )


ran: list[str] = []


class Minutes(BaseModel):
    minutes: int


@tool
def whose(runtime: Annotated[Any, InjectedToolArg]) -> str:
    """Whose calendar this is."""
    ran.append("whose")
    return runtime.context.user_id


@tool
def strict(runtime: Annotated[Any, InjectedToolArg]) -> str:
    """Validates something of its own, which fails."""
    ran.append("strict")
    return str(Minutes.model_validate({"minutes": "many"}))


@tool
def missing(runtime: Annotated[Any, InjectedToolArg]) -> str:
    """Looks for an event that is not there."""
    ran.append("missing")
    raise NotFoundError("no event with id 7")


@tool
def buggy(runtime: Annotated[Any, InjectedToolArg]) -> str:
    """Has a bug."""
    ran.append("buggy")
    raise RuntimeError("a bug")


TOOLS = [whose, strict, missing, buggy]


def run(replies: list[AIMessage]) -> tuple[list[Any], Scripted]:
    from langgraph.checkpoint.memory import InMemorySaver

    from agentcal.agent.graph import build_agent

    ran.clear()
    model = Scripted(replies=replies, sent=[])
    agent = build_agent(model, tools=TOOLS, checkpointer=InMemorySaver(), history_tokens=4000)
    config = {"configurable": {"thread_id": "t"}, "recursion_limit": 20}
    context = AgentContext(user_id="alice", timezone=TZ, system_prompt="You keep calendars.")
    state = agent.invoke({"messages": [HumanMessage("hi")]}, config, context=context)
    return state["messages"], model


def test_the_tools_get_the_turns_context_not_the_models():
    messages, model = run([calls(("whose", {"runtime": {"user_id": "bob"}})), AIMessage("Yours.")])
    result = messages[2]
    assert (
        isinstance(result, ToolMessage) and result.content == "alice" and result.status == "success"
    )
    assert "runtime" not in whose.tool_call_schema.model_json_schema()["properties"]
    assert [m.type for m in model.sent[0]] == ["system", "human"]  # the turn's prompt first
    assert model.sent[0][0].content == "You keep calendars."
    assert messages[-1].content == "Yours." and ran == ["whose"]


def test_domain_and_validation_errors_inside_a_tool_go_back_to_the_model():
    replies = [calls(("strict", {}), ("missing", {}), ("whose", {})), AIMessage("Fixed.")]
    messages, model = run(replies)
    strict_result, missing_result, whose_result = messages[2:5]  # in the order they were asked
    assert strict_result.status == "error" and "minutes" in strict_result.content
    assert strict_result.content.startswith("Error invoking tool 'strict' with kwargs {}")
    assert missing_result.status == "error"
    assert missing_result.content == "Error in missing: no event with id 7"
    assert whose_result.content == "alice"
    assert model.sent[1][-3:] == messages[2:5]  # the model saw all three results
    assert messages[-1].content == "Fixed." and sorted(ran) == ["missing", "strict", "whose"]


def test_any_other_error_inside_a_tool_ends_the_turn():
    with pytest.raises(RuntimeError, match="a bug"):
        run([calls(("buggy", {})), AIMessage("never")])
    assert ran == ["buggy"]


def test_a_reply_with_an_unknown_tool_runs_nothing_and_ends_the_turn():
    from agentcal.agent.graph import ToolCallFault

    with pytest.raises(ToolCallFault, match="unknown tool 'rockets'"):
        run([calls(("whose", {}), ("rockets", {})), AIMessage("never")])
    assert ran == []


def test_the_graph_knows_every_tool_by_name_without_building_them():
    """The tool-call check names the tools from operations.TOOL_ACTIONS, so that a turn that
    calls none never builds their schemas: the two lists must agree."""
    from agentcal.agent.operations import TOOL_ACTIONS
    from agentcal.agent.tools import ALL_TOOLS

    assert sorted(TOOL_ACTIONS) == sorted(t.name for t in ALL_TOOLS)
