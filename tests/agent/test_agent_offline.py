"""The offline model: common phrasings become the same tool calls a real model would make."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from langchain_core.messages import HumanMessage

from agentcal.agent.offline import OFFLINE_MODEL_NAME, OfflineChatModel

TZ = "Europe/Paris"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(TZ))  # a Thursday
WEEKDAYS = [1, 2, 3, 4, 5]
# Events named by description are looked up from a week back to a year ahead.
SEARCH_RANGE = {"start": "2026-11-19T00:00+01:00", "end": "2027-11-27T00:00+01:00"}


def model() -> OfflineChatModel:
    return OfflineChatModel(timezone=TZ, fixed_now=NOW)


def first_call(text: str) -> tuple[str, dict]:
    reply = model().respond([HumanMessage(text)])
    assert reply.tool_calls, reply.content
    (call,) = reply.tool_calls
    return call["name"], call["args"]


PHRASINGS = [
    # creating events
    ("Add gym tomorrow at 6am", "create_event",
     {"title": "Gym", "start": "2026-11-27T06:00+01:00", "duration_minutes": 60}),
    ("Schedule a meeting with Bob next Friday 14:30 for 45 minutes", "create_event",
     {"title": "Meeting with Bob", "start": "2026-11-27T14:30+01:00", "duration_minutes": 45}),
    ("dentist appointment on Dec 3 at 3pm", "create_event",
     {"title": "Dentist appointment", "start": "2026-12-03T15:00+01:00", "duration_minutes": 60}),
    ("lunch with Sara friday 12:30-13:30", "create_event",
     {"title": "Lunch with Sara", "start": "2026-11-27T12:30+01:00", "end": "2026-11-27T13:30+01:00"}),
    ("book a haircut in 3 days at 5pm for half an hour", "create_event",
     {"title": "Haircut", "start": "2026-11-29T17:00+01:00", "duration_minutes": 30}),
    ("Create an event called Team sync on Monday at 9:15 for 1 hour", "create_event",
     {"title": "Team sync", "start": "2026-11-30T09:15+01:00", "duration_minutes": 60}),
    ("put yoga class on 2026-12-10 at 18:00 for 90 minutes", "create_event",
     {"title": "Yoga class", "start": "2026-12-10T18:00+01:00", "duration_minutes": 90}),
    ("Dinner with parents tomorrow at 7:30pm for 2 hours", "create_event",
     {"title": "Dinner with parents", "start": "2026-11-27T19:30+01:00", "duration_minutes": 120}),
    ("add call with the bank today at noon", "create_event",
     {"title": "Call with the bank", "start": "2026-11-26T12:00+01:00", "duration_minutes": 60}),
    ("schedule standup on the 1st of December at 9am for 15 min", "create_event",
     {"title": "Standup", "start": "2026-12-01T09:00+01:00", "duration_minutes": 15}),
    ("plan a run the day after tomorrow at 7am for an hour and a half", "create_event",
     {"title": "Run", "start": "2026-11-28T07:00+01:00", "duration_minutes": 90}),
    ("add coffee with Jo this Thursday from 3pm to 4pm", "create_event",
     {"title": "Coffee with Jo", "start": "2026-11-26T15:00+01:00", "end": "2026-11-26T16:00+01:00"}),
    # reading
    ("What's on my calendar tomorrow?", "list_events",
     {"start": "2026-11-27T00:00+01:00", "end": "2026-11-28T00:00+01:00"}),
    ("show my events this week", "list_events",
     {"start": "2026-11-26T00:00+01:00", "end": "2026-11-30T00:00+01:00"}),
    ("list events for next Monday", "list_events",
     {"start": "2026-11-30T00:00+01:00", "end": "2026-12-01T00:00+01:00"}),
    ("what do I have today", "list_events",
     {"start": "2026-11-26T00:00+01:00", "end": "2026-11-27T00:00+01:00"}),
    ("show me next week", "list_events",
     {"start": "2026-11-30T00:00+01:00", "end": "2026-12-07T00:00+01:00"}),
    # searching
    ("search for dentist", "search_events", {"query": "dentist"}),
    ("find events about the budget review", "search_events", {"query": "budget review"}),
    ("when is my haircut?", "search_events", {"query": "haircut"}),
    # scheduling into free time
    ("find me 30 minutes for a call tomorrow afternoon", "schedule_event",
     {"title": "Call", "duration_minutes": 30, "window_start": "2026-11-27T12:00+01:00",
      "window_end": "2026-11-27T18:00+01:00"}),
    ("find a free hour for deep work on Monday", "schedule_event",
     {"title": "Deep work", "duration_minutes": 60, "window_start": "2026-11-30T09:00+01:00",
      "window_end": "2026-11-30T18:00+01:00"}),
    ("I need 45 minutes for planning tomorrow between 2pm and 5pm", "schedule_event",
     {"title": "Planning", "duration_minutes": 45, "window_start": "2026-11-27T14:00+01:00",
      "window_end": "2026-11-27T17:00+01:00"}),
    # changing events named by id (named by title: see the end-to-end tests below)
    ("reschedule event 5 to tomorrow 9am", "update_event",
     {"event_id": 5, "start": "2026-11-27T09:00+01:00"}),
    ("delete event #3", "delete_event", {"event_id": 3}),
    ("cancel event 12", "delete_event", {"event_id": 12}),
    ("rename event 4 to Daily sync", "update_event", {"event_id": 4, "title": "Daily sync"}),
    ("make event 7 2 hours long", "update_event", {"event_id": 7, "duration_minutes": 120}),
    ("move the dentist appointment to Friday at 4pm", "search_events",
     {"query": "dentist appointment", **SEARCH_RANGE}),
    ("cancel my gym session tomorrow", "search_events", {"query": "gym session", **SEARCH_RANGE}),
    # habits -> the insight tool with the seed's body
    ("I go to the gym every weekday at 6am", "record_user_insight",
     {"insight_type": "habit", "category": "health", "key": "gym_time",
      "value": {"time": "06:00", "duration_minutes": 60, "days": WEEKDAYS}, "confidence": 0.9,
      "preference_type": "gym"}),
    ("I sleep at 23:00", "record_user_insight",
     {"insight_type": "habit", "category": "health", "key": "sleep_time",
      "value": {"time": "23:00", "duration_minutes": 480}, "confidence": 0.9,
      "preference_type": "sleep"}),
    ("I want two hours of focus time every morning", "record_user_insight",
     {"insight_type": "goal", "category": "work", "key": "focus_time",
      "value": {"time": "09:00", "duration_minutes": 120}, "confidence": 0.9,
      "preference_type": "focus"}),
    ("I usually meditate for 20 minutes at 7am", "record_user_insight",
     {"insight_type": "habit", "category": "health", "key": "meditation_time",
      "value": {"time": "07:00", "duration_minutes": 20}, "confidence": 0.7,
      "preference_type": "meditation"}),
    ("I have lunch every day at 12:30", "record_user_insight",
     {"insight_type": "habit", "category": "personal", "key": "lunch_time",
      "value": {"time": "12:30", "duration_minutes": 60}, "confidence": 0.9,
      "preference_type": "meal"}),
    ("I don't take meetings before 10am", "record_user_insight",
     {"insight_type": "constraint", "category": "meetings", "key": "no_meetings_before",
      "value": {"time": "10:00"}, "confidence": 0.9, "preference_type": "none"}),
    ("I run on Mondays and Thursdays at 7pm for 45 minutes", "record_user_insight",
     {"insight_type": "habit", "category": "health", "key": "run_time",
      "value": {"time": "19:00", "duration_minutes": 45, "days": [1, 4], "title": "Run"},
      "confidence": 0.9, "preference_type": "gym"}),
    ("I prefer to go to bed at 22:30 on weekdays", "record_user_insight",
     {"insight_type": "preference", "category": "health", "key": "sleep_time",
      "value": {"time": "22:30", "duration_minutes": 480, "days": WEEKDAYS}, "confidence": 0.9,
      "preference_type": "sleep"}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "tool", "args"), PHRASINGS, ids=[p[0] for p in PHRASINGS])
def test_phrasing_becomes_tool_call(text, tool, args):
    assert first_call(text) == (tool, args)


def test_at_least_thirty_phrasings():
    assert len(PHRASINGS) >= 30


@pytest.mark.parametrize("text", ["help", "what can you do?"])
def test_help_lists_what_it_understands(text):
    reply = model().respond([HumanMessage(text)])
    assert reply.tool_calls == []
    assert "offline model" in reply.content and "OPENAI_BASE_URL" in reply.content


BAD_INPUT = [
    "hello", "tell me a joke", "", "   ", "asdf qwer zxcv", "x" * 10_000, "🎉🎉🎉",
    "Встреча завтра 会议", "12345", "???", "DROP TABLE calendar_events;", "cancel it",
    "move it to friday", "add", "dinner on February 30 at 8pm", "book club every other Tuesday",
]  # fmt: skip


@pytest.mark.parametrize("text", BAD_INPUT, ids=[t[:30] for t in BAD_INPUT])
def test_bad_input_gets_one_helpful_line_and_no_tool_call(text):
    reply = model().respond([HumanMessage(text)])
    if reply.tool_calls:  # "cancel it" may look for nothing; nothing else may call a tool
        assert [c["name"] for c in reply.tool_calls] in (["search_events"], ["list_events"])
    else:
        assert reply.content.strip() and "\n" not in reply.content.strip()
        assert len(reply.content) < 300


def test_event_without_time_asks_for_one():
    reply = model().respond([HumanMessage("add dentist tomorrow")])
    assert reply.tool_calls == [] and "At what time" in reply.content


def test_usage_is_estimated_and_labelled():
    result = model().invoke([HumanMessage("Add gym tomorrow at 6am")])
    assert result.response_metadata == {"model_name": OFFLINE_MODEL_NAME, "tokens_estimated": True}
    usage = result.usage_metadata
    assert usage["input_tokens"] == (len("Add gym tomorrow at 6am") + 3) // 4
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0


def test_calls_are_reported_to_the_callbacks_as_a_chat_model_reports_them():
    """Not a BaseChatModel (that module costs ~35 ms to import), but the recorder sees each
    call the same way: start, then the reply with its usage, or the error."""
    from uuid import uuid4

    from agentcal.agent.recorder import TurnRecorder

    recorder = TurnRecorder()
    run_id = uuid4()
    reply = model().invoke([HumanMessage("Add gym tomorrow at 6am")],
                           {"callbacks": [recorder], "run_id": run_id})  # fmt: skip
    (step,) = recorder.ordered()
    assert (step.step_type, step.run_id, step.status) == ("llm", str(run_id), "ok")
    assert step.llm_model == OFFLINE_MODEL_NAME and step.tokens_estimated
    assert step.prompt_tokens == reply.usage_metadata["input_tokens"]
    assert step.output["tool_calls"] == [
        {"name": "create_event", "args": reply.tool_calls[0]["args"]}
    ]
    assert reply.id == f"lc_run--{run_id}"

    broken = model()
    broken.respond = lambda messages: 1 / 0  # type: ignore[method-assign]
    with pytest.raises(ZeroDivisionError):
        broken.invoke([HumanMessage("hi")], {"callbacks": [recorder]})
    assert [s.status for s in recorder.ordered()] == ["ok", "error"]


# End to end: the same graph and recorder as a real model ------------------------------------
def runner():
    from agentcal.agent.runner import ChatRunner

    return ChatRunner(OfflineChatModel(timezone=TZ), user_id="alice", persist=False)


def test_offline_turns_end_to_end():
    from agentcal.planning.events import calendar_events_service as events

    chat = runner()
    created = chat.run_turn("Add dentist tomorrow at 3pm")
    assert created.ok and created.answer.startswith("Created “Dentist”")
    row = created.record
    assert row.llm_model == OFFLINE_MODEL_NAME and row.tokens_estimated is True
    assert row.llm_cost_usd == 0.0 and row.cost_source == "offline"
    assert row.llm_prompt_tokens > 0 and row.agent_action == "create"

    moved = chat.run_turn("move the dentist to 5pm")
    assert moved.ok and moved.record.agent_tool == "search_events,update_event"
    assert moved.record.agent_action == "update"
    (event,) = events.list_events("alice")
    assert event.start_at.astimezone(ZoneInfo(TZ)).strftime("%H:%M") == "17:00"

    renamed = chat.run_turn("rename dentist to Dr Who")
    assert renamed.ok and "Dr Who" in renamed.answer

    listed = chat.run_turn("what's on my calendar tomorrow?")
    assert "Dr Who" in listed.answer and listed.record.agent_action == "read"

    missing = chat.run_turn("cancel the dentist")
    assert "no event matching" in missing.answer
    cancelled = chat.run_turn("cancel dr who")
    assert cancelled.ok and cancelled.answer.startswith("Cancelled")
    assert events.list_events("alice") == []

    habit = chat.run_turn("I go to the gym every weekday at 6am")
    assert habit.record.agent_action == "insight" and "health/gym_time" in habit.answer
    assert habit.record.intent_category == "user_insight"


def test_ambiguous_match_asks_which_one():
    from agentcal.planning.events import calendar_events_service as events

    now = datetime.now(ZoneInfo(TZ))
    for day in (1, 2):
        events.create_event(
            user_id="alice", title="Standup", start=now.replace(hour=9) + __import__("datetime").timedelta(days=day),
            duration_minutes=15,
        )  # fmt: skip
    turn = runner().run_turn("cancel standup")
    assert "Several events match" in turn.answer
    assert len(events.list_events("alice")) == 2
