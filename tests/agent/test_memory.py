"""Bounded memory: a long session keeps its prompt size flat and still knows what it needs;
`chat -m` is a one-off conversation unless --continue."""

from __future__ import annotations

import json

import pytest

from tests.agent.test_agent_loopback import assert_well_formed, make_runner
from tests.openai_loopback import LoopbackOpenAI, Reply, text
from tests.scripted_model import ScriptedConversation, prompt_tokens, session_message


def sent_history_tokens(history: list) -> int:
    """The history the last turn's first model call was sent: up to its user message (what
    the turn added after that call is trimmed before the next one)."""
    from langchain_core.messages import HumanMessage

    from agentcal.agent.memory import count_tokens

    last = max(i for i, m in enumerate(history) if isinstance(m, HumanMessage))
    return count_tokens(history[: last + 1])


@pytest.mark.slow
def test_turn_200_remembers_turn_5_within_a_flat_prompt(monkeypatch):
    """The summaries (written by the model) carry the fact; the prompt stops growing."""
    from langchain_core.messages import HumanMessage

    model = ScriptedConversation()
    with LoopbackOpenAI(responder=model) as server:
        runner = make_runner(monkeypatch, server.base_url)
        budget = runner.settings.history_tokens
        first_request = {}
        for turn in range(1, 200):
            first_request[turn] = len(server.requests)
            assert runner.run_turn(session_message(turn)).ok, turn
        first_request[200] = len(server.requests)
        answer = runner.run_turn("What is my sister's name?")
        requests = list(server.requests)
    assert answer.ok and answer.answer == "Your sister is Ada."
    assert model.summaries >= 10  # the history was summarised again and again...
    last = next(r for r in requests[first_request[200] :] if r.get("tools"))
    summary = next(m["content"] for m in last["messages"] if m["role"] == "user")
    assert summary.startswith("Here is a summary of the conversation to date:")
    assert "my sister's name is Ada" in summary  # ...and the fact from turn 5 went along
    assert_well_formed(last["messages"])

    # A turn's size: its first request to the agent (a summary request has no tools).
    sizes = {
        turn: prompt_tokens(next(r for r in requests[i:] if r.get("tools")))
        for turn, i in first_request.items()
    }
    assert sizes[200] <= 1.2 * sizes[20], sizes
    assert max(sizes[t] for t in range(20, 201)) <= 1.3 * sizes[20], sizes  # never grows on

    state = runner.agent.get_state({"configurable": {"thread_id": runner.thread_id}})
    history = state.values["messages"]
    assert sent_history_tokens(history) <= budget
    assert isinstance(history[0], HumanMessage)  # the summary starts the conversation


def test_offline_history_is_trimmed_by_whole_turns(monkeypatch):
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

    from agentcal.agent.offline import OfflineChatModel
    from agentcal.agent.runner import ChatRunner
    from agentcal.settings import get_settings, reset_settings

    monkeypatch.setenv("AGENTCAL_HISTORY_TOKENS", "600")
    reset_settings()
    runner = ChatRunner(OfflineChatModel(timezone="Europe/Paris"), user_id="alice", persist=False)
    assert runner.settings is get_settings()
    for n in range(40):
        message = "what's on my calendar tomorrow?" if n % 2 else f"Add call {n} tomorrow at 9am"
        assert runner.run_turn(message).ok
    history = runner.agent.get_state({"configurable": {"thread_id": runner.thread_id}}).values[
        "messages"
    ]
    assert sent_history_tokens(history) <= 600
    assert len(history) < 40 * 4 and isinstance(history[0], HumanMessage)
    answered = {m.tool_call_id for m in history if isinstance(m, ToolMessage)}
    asked = {c["id"] for m in history if isinstance(m, AIMessage) for c in m.tool_calls}
    assert asked == answered  # no call without its result, no result without its call


def test_a_reply_over_the_budget_is_refused_and_not_kept(monkeypatch):
    with LoopbackOpenAI() as server:
        runner = make_runner(monkeypatch, server.base_url, AGENTCAL_HISTORY_TOKENS="500")
        server.add(Reply(content="blah " * 3000), text("Short."))
        turn = runner.run_turn("write me a novel")
        assert turn.status == "error" and "\n" not in turn.error
        assert turn.error.startswith("the model's reply is about ")
        assert turn.error.endswith("more than the 500 of AGENTCAL_HISTORY_TOKENS; it was not kept")
        assert turn.record.status == "error" and turn.record.agent_response is None
        assert runner.run_turn("hi").ok
        sent = [m["content"] for m in server.requests[-1]["messages"][1:]]
    assert sent == ["hi"]


@pytest.fixture
def loopback(monkeypatch):
    with LoopbackOpenAI() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
        yield server


def _sent(server: LoopbackOpenAI) -> list[str]:
    return [m.get("content") for m in server.requests[-1]["messages"][1:]]


def test_one_shot_is_a_fresh_conversation_unless_continued(cli, loopback):
    from agentcal.agent.runner import open_checkpointer
    from agentcal.settings import get_settings
    from agentcal.users.chat_sessions import chat_sessions_service

    loopback.add(text("Hi Alice."), text("I don't know."), text("You are Alice."))
    assert cli("chat", "-m", "I am Alice").exit_code == 0
    first_thread = chat_sessions_service.list_sessions("alice")[0].thread_id
    assert cli("chat", "-m", "Who am I?").exit_code == 0
    assert _sent(loopback) == ["Who am I?"]  # a daily script does not grow its prompt
    assert cli("chat", "-c", "-m", "Who am I, really?").exit_code == 0
    assert _sent(loopback) == ["Who am I?", "I don't know.", "Who am I, really?"]
    # The replaced one-off conversation is gone from the checkpoint store.
    saver = open_checkpointer(get_settings())
    assert list(saver.list({"configurable": {"thread_id": first_thread}})) == []

    loopback.add(text("a"), text("b"))
    cli("chat", "-s", "work", "-m", "one")
    cli("chat", "-s", "work", "-m", "two")
    assert _sent(loopback) == ["one", "a", "two"]
    result = cli("chat", "-c", "-s", "work", "-m", "three")
    assert result.exit_code == 1 and "--continue" in result.stderr


def test_continue_without_any_conversation_starts_the_default_one(cli, loopback):
    from agentcal.users.chat_sessions import chat_sessions_service

    loopback.add(text("Hello."))
    result = cli("chat", "-c", "-m", "hi", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["status"] == "ok"
    assert [s.name for s in chat_sessions_service.list_sessions("alice")] == ["default"]


def test_prompt_overhead_estimate_matches_the_tools_and_the_prompt():
    from datetime import UTC, datetime

    from langchain_core.messages import SystemMessage
    from langchain_core.messages.utils import count_tokens_approximately

    from agentcal.agent.memory import PROMPT_OVERHEAD_TOKENS, count_tokens
    from agentcal.agent.prompts import build_system_prompt
    from agentcal.agent.tools import ALL_TOOLS

    tools = count_tokens_approximately([], tools=ALL_TOOLS)
    prompt = count_tokens([SystemMessage(build_system_prompt(datetime.now(UTC), "UTC"))])
    assert 0.9 * (tools + prompt) <= PROMPT_OVERHEAD_TOKENS <= 1.3 * (tools + prompt)


def test_cancel_abandons_a_slow_summary(monkeypatch):
    import threading
    import time

    from agentcal.agent.cancel import CancelToken

    model = ScriptedConversation()
    summary_asked = threading.Event()
    release = threading.Event()  # the summary is held until the turn is back: no time bound
    summaries: list[Reply] = []

    def slow_summaries(body: dict) -> Reply:
        reply = model(body)
        if "tools" not in body:  # a summary request
            reply.hold = release
            summaries.append(reply)
            summary_asked.set()
        return reply

    with LoopbackOpenAI(responder=slow_summaries) as server:
        runner = make_runner(monkeypatch, server.base_url, AGENTCAL_HISTORY_TOKENS="500")
        turn = 0
        try:
            while not summary_asked.is_set():
                turn += 1
                token = CancelToken()
                threading.Thread(
                    target=lambda t=token: summary_asked.wait(30) and t.cancel("cancelled"),
                    daemon=True,
                ).start()
                result = runner.run_turn(session_message(turn + 10), cancel=token)
                assert turn < 30
            assert result.cancelled and not summaries[0].sent  # did not wait for the summary
            count = len(server.requests)
        finally:
            release.set()
        deadline = time.monotonic() + 30
        while not summaries[0].sent:  # the abandoned summary ends...
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(0.5)
        assert len(server.requests) == count  # nothing after the abandoned summary
