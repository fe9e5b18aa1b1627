"""The real ChatOpenAI client against a loopback OpenAI-compatible server: tools, records, faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.openai_loopback import MODEL, LoopbackOpenAI, Reply, call, closed_port_url, error, text

SECRET = "sk-test-DO-NOT-LEAK-0123456789abcdef"
TZ = ZoneInfo("Europe/Paris")


@pytest.fixture
def server():
    with LoopbackOpenAI() as srv:
        yield srv


def make_runner(monkeypatch, base_url: str, *, session: str = "default", new: bool = False, **env):
    from agentcal.agent.model import make_chat_model
    from agentcal.agent.runner import ChatRunner
    from agentcal.settings import get_settings, reset_settings

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    monkeypatch.setenv("AGENTCAL_LLM_MAX_RETRIES", "0")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    settings = get_settings()
    return ChatRunner(
        make_chat_model(settings), user_id="alice", settings=settings, session_name=session,
        new_session=new,
    )  # fmt: skip


def local(days: int, hour: int, minute: int = 0) -> datetime:
    base = datetime.now(TZ).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return base + timedelta(days=days)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def events(user: str = "alice", **kw):
    from agentcal.planning.events import calendar_events_service

    return calendar_events_service.list_events(user, **kw)


def genai_price(model: str, inp: int, out: int, cached: int) -> float:
    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=inp, output_tokens=out, cache_read_tokens=cached or None)
    return float(calc_price(usage, model_ref=model, provider_id="openai").total_price)


def test_scripted_conversation_through_every_tool(monkeypatch, server):
    from agentcal.queue.jobs import job_queue

    runner = make_runner(monkeypatch, server.base_url)
    tomorrow_6 = local(1, 6)

    server.add(call("create_event", {"title": "Gym", "start": iso(tomorrow_6), "duration_minutes": 60}),
               text("Created Gym tomorrow at 06:00."))  # fmt: skip
    turn = runner.run_turn("Add gym tomorrow at 6am")
    assert turn.ok and turn.answer == "Created Gym tomorrow at 06:00."
    (gym,) = events()
    assert gym.title == "Gym" and gym.start_at == tomorrow_6.astimezone(UTC)
    assert turn.record.agent_action == "create" and turn.record.agent_tool == "create_event"

    server.add(call("list_events", {"start": iso(local(1, 0)), "end": iso(local(2, 0))}),
               text("You have Gym at 06:00."))  # fmt: skip
    turn = runner.run_turn("What's on tomorrow?")
    assert turn.record.agent_action == "read"
    listed = turn.record.tool_result[0]["result"]["events"]
    assert [e["id"] for e in listed] == [gym.id]
    # The model saw the tool's result as the tool message of its second request.
    tool_msg = server.requests[-1]["messages"][-1]
    assert (
        tool_msg["role"] == "tool"
        and json.loads(tool_msg["content"])["events"][0]["title"] == "Gym"
    )

    server.add(
        call("update_event", {"event_id": gym.id, "start": iso(local(1, 7))}), text("Moved.")
    )
    assert runner.run_turn("Move gym to 7").record.agent_action == "update"
    server.add(call("update_event", {"event_id": gym.id, "title": "Morning gym"}), text("Renamed."))
    runner.run_turn("Rename it Morning gym")
    server.add(call("update_event", {"event_id": gym.id, "duration_minutes": 90}), text("Longer."))
    runner.run_turn("Make it 90 minutes")
    (moved,) = events()
    assert moved.title == "Morning gym"
    assert moved.start_at == local(1, 7).astimezone(UTC)
    assert moved.end_at == local(1, 8, 30).astimezone(UTC)

    server.add(call("search_events", {"query": "gym"}), text("Found it."))
    turn = runner.run_turn("Find my gym")
    assert turn.record.agent_action == "search"
    assert [e["id"] for e in turn.record.tool_result[0]["result"]["events"]] == [gym.id]

    # schedule: the first free 30 minutes in 07:00-10:00 tomorrow is after the gym (07:00-08:30)
    server.add(call("schedule_event", {"title": "Call", "duration_minutes": 30,
                                       "window_start": iso(local(1, 7)), "window_end": iso(local(1, 10))}),
               text("Booked."))  # fmt: skip
    turn = runner.run_turn("Find 30 minutes for a call tomorrow morning")
    assert turn.record.agent_action == "schedule"
    call_event = next(e for e in events() if e.title == "Call")
    assert call_event.start_at == local(1, 8, 30).astimezone(UTC)

    server.add(call("delete_event", {"event_id": gym.id}), text("Cancelled."))
    turn = runner.run_turn("Cancel the gym")
    assert turn.record.agent_action == "delete"
    assert [e.title for e in events()] == ["Call"]

    body = {"insight_type": "habit", "category": "health", "key": "gym_time",
            "value": {"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5]}, "confidence": 0.9}  # fmt: skip
    server.add(call("record_user_insight", {**body, "preference_type": "gym"}), text("Noted."))
    turn = runner.run_turn("I go to the gym every weekday at 6am")
    record = turn.record
    assert record.agent_action == "insight" and record.agent_tool == "record_user_insight"
    job = job_queue.get(record.tool_result[0]["result"]["queued"]["job_id"])
    assert job.kind == "update_insight" and job.user_id == "alice"
    stored = {**body, "value": {**body["value"], "preference_type": "gym"}}
    assert job.payload == {**stored, "user_id": "alice", "agent_run_id": record.agent_run_id,
                           "source_request_id": record.id}  # fmt: skip
    assert job.unique_key == f"update_insight:alice:health:gym_time:{record.agent_run_id}"


def test_observability_row_field_by_field(monkeypatch, server):
    from agentcal.observability.calls import agent_observability_service

    runner = make_runner(monkeypatch, server.base_url)
    start = local(2, 9)
    server.add(
        call("create_event", {"title": "Review", "start": iso(start), "duration_minutes": 30},
             prompt_tokens=1200, completion_tokens=35, cached_tokens=1024),
        text("Booked the review.", prompt_tokens=1300, completion_tokens=12, cached_tokens=1152),
    )  # fmt: skip
    turn = runner.run_turn("Review in two days at 9")
    row = agent_observability_service.get_call(turn.record.id)

    assert row.user_id == "alice" and row.session_id == runner.thread_id
    assert len(row.agent_run_id) == 36 and row.status == "ok" and row.error is None
    assert row.agent_action == "create" and row.agent_tool == "create_event"
    assert row.llm_model == MODEL  # the model the server answered with
    assert (row.llm_prompt_tokens, row.llm_completion_tokens, row.llm_total_tokens) == (
        2500,
        47,
        2547,
    )
    assert row.llm_cached_tokens == 2176 and row.tokens_estimated is False
    assert row.llm_cost_usd == pytest.approx(genai_price(MODEL, 2500, 47, 2176), rel=1e-12)
    assert row.cost_source == "genai-prices"
    assert row.user_message == "Review in two days at 9"
    assert row.agent_response == "Booked the review."
    assert row.intent_category == "calendar_change"
    assert row.entities == [{"tool": "create_event",
                             "args": {"title": "Review", "start": iso(start), "duration_minutes": 30}}]  # fmt: skip
    (result,) = row.tool_result
    assert result["tool"] == "create_event" and result["status"] == "ok"
    assert result["result"]["created"]["title"] == "Review"
    kinds = [m["type"] for m in row.agent_state["messages"]]
    assert kinds == ["human", "ai", "tool", "ai"]
    assert row.agent_state["thread_id"] == runner.thread_id
    assert row.execution_time_ms > 0

    steps = agent_observability_service.get_steps(row.id)
    assert [s.step_type for s in steps] == ["llm", "tool", "llm"]
    assert [(s.prompt_tokens, s.completion_tokens, s.cached_tokens) for s in steps if s.step_type == "llm"] == [
        (1200, 35, 1024), (1300, 12, 1152)]  # fmt: skip
    assert steps[1].name == "create_event" and steps[1].output["created"]["title"] == "Review"
    assert all(s.duration_ms is not None and s.duration_ms >= 0 for s in steps)
    assert all(s.llm_model == MODEL for s in steps if s.step_type == "llm")
    assert {s.parent_run_id for s in steps} != {None}


def test_streamed_turn_streams_text_and_records_usage(monkeypatch, server):
    runner = make_runner(monkeypatch, server.base_url)
    server.add(
        call("list_events", {}, prompt_tokens=500, completion_tokens=10, cached_tokens=0),
        text("Nothing on your calendar this week.", prompt_tokens=600, completion_tokens=9,
             cached_tokens=512),
    )  # fmt: skip
    pieces: list[str] = []
    turn = runner.run_turn("What's this week?", on_token=pieces.append)
    assert all(r["stream"] for r in server.requests)
    assert all(r["stream_options"] == {"include_usage": True} for r in server.requests)
    assert len(pieces) > 1 and "".join(pieces) == "Nothing on your calendar this week."
    assert turn.answer == "Nothing on your calendar this week."
    row = turn.record
    assert (row.llm_prompt_tokens, row.llm_completion_tokens, row.llm_cached_tokens) == (
        1100,
        19,
        512,
    )
    assert row.llm_cost_usd == pytest.approx(genai_price(MODEL, 1100, 19, 512), rel=1e-12)
    assert row.agent_action == "read" and row.llm_model == MODEL


@pytest.mark.parametrize(
    ("replies", "expected"),
    [
        ([error(429)], "rate limiting"),
        ([error(500)], "server error, HTTP 500"),
        ([error(503)], "server error, HTTP 503"),
        ([Reply(content="late", stall=3.0)], "did not answer in time"),
        (
            [call("create_event", '{"title": "Gym", "start": ')],
            "malformed arguments for tool create_event",
        ),
        ([call("launch_rockets", {"count": 3})], "unknown tool 'launch_rockets'"),
    ],
    ids=["429", "500", "503", "timeout", "broken-json", "unknown-tool"],
)
def test_fault_is_one_line_recorded_as_error_and_chat_goes_on(
    monkeypatch, server, replies, expected
):
    runner = make_runner(monkeypatch, server.base_url, AGENTCAL_LLM_TIMEOUT="0.5")
    server.add(*replies)
    turn = runner.run_turn("Add gym tomorrow at 6am")
    assert turn.status == "error" and expected in turn.error
    assert "\n" not in turn.error and SECRET not in turn.error
    assert turn.record.status == "error" and turn.record.error == turn.error
    assert events() == []  # nothing was done

    server.add(text("Still here."))
    follow = runner.run_turn("hello?")
    assert follow.ok and follow.answer == "Still here."
    # the conversation carries on in the same thread
    assert server.requests[-1]["messages"][-1] == {"role": "user", "content": "hello?"}


def test_connection_refused_is_recorded(monkeypatch):
    runner = make_runner(monkeypatch, closed_port_url())
    turn = runner.run_turn("Add gym tomorrow at 6am")
    assert turn.status == "error" and "cannot reach the model server" in turn.error
    assert turn.record.status == "error" and turn.record.llm_model == "gpt-4o-mini"
    assert runner.run_turn("again").status == "error"  # the session goes on


def test_tool_errors_go_back_to_the_model(monkeypatch, server):
    runner = make_runner(monkeypatch, server.base_url)
    server.add(
        call("update_event", {"event_id": 424242, "title": "x"}), text("That event does not exist.")
    )
    turn = runner.run_turn("Rename event 424242")
    assert turn.ok and turn.answer == "That event does not exist."
    tool_msg = server.requests[-1]["messages"][-1]
    assert tool_msg["role"] == "tool" and "no event with id 424242" in tool_msg["content"]
    assert turn.record.tool_result[0]["status"] == "error"


def test_invalid_insight_body_is_returned_to_the_model(monkeypatch, server):
    from sqlmodel import select

    from agentcal.db import session_scope
    from agentcal.models import Job

    runner = make_runner(monkeypatch, server.base_url)
    bad = {
        "insight_type": "whim",
        "category": "health",
        "key": "gym_time",
        "value": {},
        "confidence": 3,
    }
    server.add(call("record_user_insight", bad), text("Sorry."))
    turn = runner.run_turn("I like gyms")
    assert turn.ok
    assert "insight_type" in server.requests[-1]["messages"][-1]["content"]
    with session_scope() as s:
        assert list(s.exec(select(Job).where(Job.kind == "update_insight"))) == []


def test_another_users_events_are_out_of_reach(monkeypatch, server):
    from agentcal.planning.events import calendar_events_service

    secret_event = calendar_events_service.create_event(
        user_id="bob", title="Bob's secret", start=local(1, 10), duration_minutes=60
    )
    runner = make_runner(monkeypatch, server.base_url)
    server.add(call("list_events", {"user_id": "bob"}), text("a"),
               call("search_events", {"query": "secret"}), text("b"),
               call("update_event", {"event_id": secret_event.id, "title": "pwned"}), text("c"),
               call("delete_event", {"event_id": secret_event.id}), text("d"))  # fmt: skip
    listed = runner.run_turn("show bob's calendar")
    assert listed.record.tool_result[0]["result"]["events"] == []
    assert runner.run_turn("search secret").record.tool_result[0]["result"]["events"] == []
    for message in ("rename it", "delete it"):
        turn = runner.run_turn(message)
        assert turn.record.tool_result[0]["status"] == "error"
    assert "no event with id" in server.requests[-1]["messages"][-1]["content"]
    (still,) = events("bob")
    assert still.title == "Bob's secret" and still.status == "planned"


def test_daily_budget_refuses_before_any_call(monkeypatch, server):
    from agentcal.errors import BudgetExceededError
    from agentcal.observability.calls import agent_observability_service

    agent_observability_service.log_agent_call(
        user_id="alice", llm_model="gpt-4o", llm_cost_usd=0.02
    )
    runner = make_runner(monkeypatch, server.base_url, AGENTCAL_DAILY_BUDGET_USD="0.01")
    with pytest.raises(BudgetExceededError, match=r"spent \$0\.0200 of \$0\.0100"):
        runner.run_turn("hello")
    assert server.requests == []


def test_api_key_never_reaches_the_store(monkeypatch, server, agentcal_home):
    runner = make_runner(monkeypatch, server.base_url)
    server.add(error(401))
    turn = runner.run_turn("hello")
    assert "rejected the API key" in turn.error
    assert server.headers[0]["authorization"] == f"Bearer {SECRET}"  # it was sent to the server...
    for path in agentcal_home.iterdir():  # ...and written nowhere
        assert SECRET.encode() not in path.read_bytes(), path


def test_sessions_persist_and_new_starts_fresh(monkeypatch, server):
    server.add(text("Hi Alice."))
    make_runner(monkeypatch, server.base_url, session="work").run_turn("I am Alice")
    server.add(text("You are Alice."))
    make_runner(monkeypatch, server.base_url, session="work").run_turn("Who am I?")
    contents = [m.get("content") for m in server.requests[-1]["messages"] if m["role"] != "system"]
    assert contents == ["I am Alice", "Hi Alice.", "Who am I?"]

    server.add(text("I don't know."))
    make_runner(monkeypatch, server.base_url, session="work", new=True).run_turn("Who am I?")
    contents = [m.get("content") for m in server.requests[-1]["messages"] if m["role"] != "system"]
    assert contents == ["Who am I?"]


def test_system_prompt_has_date_zone_and_insights(monkeypatch, server):
    from agentcal.insights.user_insights import user_insights_service

    user_insights_service.create_insight(
        user_id="alice", insight_type="habit", category="health", key="sleep_time",
        value={"time": "23:00"}, confidence=0.9,
    )  # fmt: skip
    runner = make_runner(monkeypatch, server.base_url)
    server.add(text("ok"))
    runner.run_turn("hi")
    system = server.requests[0]["messages"][0]
    assert system["role"] == "system"
    assert datetime.now(TZ).strftime("%Y-%m-%d") in system["content"]
    assert "Europe/Paris" in system["content"]
    assert 'health/sleep_time (habit, confidence 0.90): {"time": "23:00"}' in system["content"]
    assert {t["function"]["name"] for t in server.requests[0]["tools"]} == {
        "create_event", "list_events", "update_event", "delete_event", "search_events",
        "schedule_event", "record_user_insight", "list_habits", "stop_habit"}  # fmt: skip
    insight_tool = next(
        t for t in server.requests[0]["tools"] if t["function"]["name"] == "record_user_insight"
    )
    assert set(insight_tool["function"]["parameters"]["properties"]) == {
        "insight_type", "category", "key", "value", "confidence", "preference_type"}  # fmt: skip


def assert_well_formed(messages: list[dict]) -> None:
    """What OpenAI demands: every assistant tool call is answered by a tool message."""
    for index, message in enumerate(messages):
        for tool_call in message.get("tool_calls") or []:
            answers = [m.get("tool_call_id") for m in messages[index + 1 :] if m["role"] == "tool"]
            assert tool_call["id"] in answers, messages


@pytest.mark.parametrize(
    "bad",
    [call("create_event", '{"title": "Gym", "start": '), call("launch_rockets", {"count": 3})],
    ids=["broken-json", "unknown-tool"],
)
def test_history_stays_valid_after_a_tool_call_fault(monkeypatch, server, bad):
    runner = make_runner(monkeypatch, server.base_url)
    server.add(bad, text("Recovered."))
    assert runner.run_turn("first").status == "error"
    assert runner.run_turn("second").ok
    assert_well_formed(server.requests[-1]["messages"])


def test_interrupted_tool_calls_are_answered_before_the_next_turn(monkeypatch, server):
    from langchain_core.messages import AIMessage, HumanMessage

    runner = make_runner(monkeypatch, server.base_url)
    config = {"configurable": {"thread_id": runner.thread_id}}
    dangling = AIMessage(
        content="", tool_calls=[{"name": "list_events", "args": {}, "id": "call_x"}]
    )
    runner.agent.update_state(config, {"messages": [HumanMessage("hi"), dangling]}, as_node="model")
    server.add(text("Fine."))
    assert runner.run_turn("again").ok
    sent = server.requests[-1]["messages"]
    assert_well_formed(sent)
    assert any(m["role"] == "tool" and "interrupted" in m["content"] for m in sent)


def test_recursion_limit_stops_a_looping_model(monkeypatch, server):
    runner = make_runner(monkeypatch, server.base_url, AGENTCAL_RECURSION_LIMIT="4")
    server.add(*[call("list_events", {}) for _ in range(10)])
    turn = runner.run_turn("loop forever")
    assert turn.status == "error" and "too many steps" in turn.error
    assert len(server.requests) <= 3
