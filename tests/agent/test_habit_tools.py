"""Listing and stopping habits (operations.list_habits / stop_habit), for both models: what
the store holds afterwards, what the prompt tells a model, and the real ChatOpenAI client
calling the tool through a loopback server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agentcal.agent.context import AgentContext
from tests.openai_loopback import LoopbackOpenAI, call, text

CTX = AgentContext(user_id="alice", timezone="Europe/Paris")


def habit(key: str, value: dict, *, category: str = "health", confidence: float = 0.9):
    """An insight as the job worker stores it, its preference and a week of its events."""
    from agentcal.insights.user_insights import user_insights_service
    from agentcal.planning.emitter import calendar_event_emitter
    from agentcal.planning.from_insights import insight_preference_sync

    user_insights_service.create_insight(
        user_id="alice", insight_type="habit", category=category, key=key, value=value,
        confidence=confidence,
    )  # fmt: skip
    insight_preference_sync.sync_user("alice")
    calendar_event_emitter.process_user_preferences("alice", 7)


def no_meetings_before() -> None:
    """An insight that is no calendar block (a rule about meetings)."""
    from agentcal.insights.user_insights import user_insights_service

    user_insights_service.create_insight(
        user_id="alice", insight_type="constraint", category="meetings",
        key="no_meetings_before", value={"time": "10:00", "preference_type": "none"},
        confidence=0.9,
    )  # fmt: skip


def prefs():
    from agentcal.planning.preferences import calendar_preferences_service

    return {p.title: p for p in calendar_preferences_service.list_preferences("alice")}


def future_events(title: str, **kw) -> list:
    """The events of a habit that have not started (planned or confirmed ones unless `kw`)."""
    from agentcal.planning.events import calendar_events_service

    now = datetime.now(UTC)
    return [
        e
        for e in calendar_events_service.list_events("alice", now, now + timedelta(days=8), **kw)
        if e.title == title and e.start_at > now
    ]


GYM = {"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5], "title": "Morning Gym",
       "preference_type": "gym"}  # fmt: skip
SWIM = {"time": "18:00", "duration_minutes": 45, "days": [2, 4], "title": "Swim",
        "preference_type": "gym"}  # fmt: skip


def test_stop_habit_turns_it_off_cancels_its_future_events_and_ends_the_insight():
    from agentcal.agent import operations as ops
    from agentcal.agent.facts import load_user_facts
    from agentcal.agent.prompts import build_system_prompt
    from agentcal.insights.user_insights import user_insights_service

    habit("gym_time", GYM)
    habit("swim_time", SWIM)
    planned = len(future_events("Morning Gym"))
    assert planned >= 3  # weekdays in the next 7 days

    result = ops.stop_habit(CTX, "gym")  # the title wins over Swim's type (gym)
    assert result["stopped"]["title"] == "Morning Gym"
    assert result["cancelled_events"] == planned
    assert result["insight_ended"] == "health/gym_time"
    assert result["undo"] == f"agentcal prefs enable {prefs()['Morning Gym'].id}"
    # Backed by the store: the preference is off, its future events cancelled, Swim untouched.
    assert prefs()["Morning Gym"].is_active is False and prefs()["Swim"].is_active is True
    assert future_events("Morning Gym") == []
    gone = future_events("Morning Gym", include_cancelled=True)
    assert len(gone) == planned and {e.status for e in gone} == {"cancelled"}
    assert future_events("Swim")
    insight = user_insights_service.get_insight("alice", "health/gym_time")
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    assert insight.value["ended_on"] == today.isoformat()
    assert insight.value["time"] == "06:00"  # what the user said before is kept
    assert [h.change for h in user_insights_service.get_history(insight.id)][-1] == "ended"

    # A model is no longer told the user goes to the gym: the block is gone from the prompt
    # and the insight says it ended.
    prompt = build_system_prompt(datetime.now(UTC), "Europe/Paris", load_user_facts("alice"))
    assert "Morning Gym" not in prompt and "- Swim (gym)" in prompt
    assert "health/gym_time (habit): the user stopped this on" in prompt

    # Syncing the insights again does not bring it back.
    from agentcal.planning.from_insights import insight_preference_sync

    insight_preference_sync.sync_user("alice")
    assert prefs()["Morning Gym"].is_active is False

    again = ops.stop_habit(CTX, "morning gym")
    assert again["stopped"] is None and "already off" in again["why"]


def test_ambiguous_or_unknown_habit_changes_nothing():
    from agentcal.agent import operations as ops

    habit("gym_time", GYM)
    habit("evening_gym_time", {**GYM, "time": "19:00", "title": "Evening Gym"})
    before = {t: p.is_active for t, p in prefs().items()}

    both = ops.stop_habit(CTX, "gym habit")
    assert both["stopped"] is None and "several habits match" in both["why"]
    assert {m["title"] for m in both["matches"]} == {"Morning Gym", "Evening Gym"}
    none = ops.stop_habit(CTX, "yoga")
    assert none["stopped"] is None and "no habit matches “yoga”" in none["why"]
    assert {h["title"] for h in none["habits"]} == {"Morning Gym", "Evening Gym"}
    assert {t: p.is_active for t, p in prefs().items()} == before

    # The part of the day picks one ("my evening gym" names a title word anyway), and an id
    # picks one of several.
    assert ops.stop_habit(CTX, "evening gym")["stopped"]["title"] == "Evening Gym"
    morning_id = prefs()["Morning Gym"].id
    assert ops.stop_habit(CTX, preference_id=morning_id)["stopped"]["title"] == "Morning Gym"


def test_part_of_day_and_type_match_when_no_title_does():
    from agentcal.agent import operations as ops
    from agentcal.planning.preferences import calendar_preferences_service

    calendar_preferences_service.create_preference(
        user_id="alice", preference_type="meditation", start_time="07:00", duration_minutes=20
    )
    assert ops.stop_habit(CTX, "morning meditation")["stopped"]["title"] == "Meditation"


def test_stop_habit_needs_a_description_or_a_known_id():
    from agentcal.agent import operations as ops
    from agentcal.errors import NotFoundError, ValidationError

    with pytest.raises(ValidationError, match="which habit"):
        ops.stop_habit(CTX, "  ")
    with pytest.raises(NotFoundError, match="no habit with id 99"):
        ops.stop_habit(CTX, preference_id=99)


def test_list_habits_shows_blocks_on_and_off_and_the_other_insights():
    from agentcal.agent import operations as ops

    habit("gym_time", GYM)
    no_meetings_before()
    ops.stop_habit(CTX, "gym")
    listed = ops.list_habits(CTX)
    (gym,) = listed["habits"]
    assert (gym["title"], gym["days"], gym["time"], gym["is_active"]) == (
        "Morning Gym", "weekdays", "06:00", False,
    )  # fmt: skip
    assert gym["insight"] == "health/gym_time"
    assert [i["insight"] for i in listed["insights"]] == ["meetings/no_meetings_before"]


def test_prefs_disable_says_how_many_events_it_cancelled():
    from typer.testing import CliRunner

    from agentcal.cli.main import app

    habit("gym_time", GYM)
    planned = len(future_events("Morning Gym"))
    pref = prefs()["Morning Gym"]
    result = CliRunner().invoke(app, ["prefs", "disable", str(pref.id)])
    assert result.exit_code == 0, result.output
    assert f"disabled preference #{pref.id} (Morning Gym): {planned} future event(s) cancelled" in (
        " ".join(result.output.split())
    )
    assert prefs()["Morning Gym"].is_active is False


@pytest.fixture
def server():
    with LoopbackOpenAI() as srv:
        yield srv


def test_a_real_model_stops_a_habit_through_the_tool(monkeypatch, server):
    from tests.agent.test_agent_loopback import make_runner

    habit("gym_time", GYM)
    planned = len(future_events("Morning Gym"))
    runner = make_runner(monkeypatch, server.base_url)
    # The prompt the model gets tells it about the tool and the habit.
    server.add(call("stop_habit", {"what": "gym"}), text("Stopped your Morning Gym."))
    turn = runner.run_turn("I don't go to the gym anymore")
    assert turn.ok, turn.error
    first_request = server.requests[-2]
    assert "stop_habit" in {t["function"]["name"] for t in first_request["tools"]}
    assert "- Morning Gym (gym)" in first_request["messages"][0]["content"]
    result = turn.record.tool_result[0]["result"]
    assert result["stopped"]["title"] == "Morning Gym" and result["cancelled_events"] == planned
    assert turn.record.agent_action == "update" and turn.record.agent_tool == "stop_habit"
    assert prefs()["Morning Gym"].is_active is False

    # The next turn's prompt no longer lists the block, and says the habit ended.
    server.add(text("You stopped the gym."))
    runner.run_turn("do I still go to the gym?")
    prompt = server.requests[-1]["messages"][0]["content"]
    assert "- Morning Gym (gym)" not in prompt
    assert "health/gym_time (habit): the user stopped this on" in prompt


def test_restating_a_stopped_habit_is_one_transaction(monkeypatch):
    """The update_insight job updates the insight and turns its habit back on together: a
    worker failing between the two changes neither, so its retry brings the habit back."""
    from agentcal.agent import operations as ops
    from agentcal.insights.user_insights import user_insights_service
    from agentcal.planning.preferences import CalendarPreferencesService
    from agentcal.queue.leases import ClaimedJob
    from agentcal.workers.handlers import update_insight

    habit("gym_time", GYM)
    ops.stop_habit(CTX, "gym")
    value = {**GYM, "time": "07:00"}
    job = ClaimedJob(id=1, kind="update_insight", payload={
        "user_id": "alice", "insight_type": "habit", "category": "health", "key": "gym_time",
        "value": value, "confidence": 0.9}, attempts=1, max_attempts=5, user_id="alice",
        lease_token="t")  # fmt: skip

    def killed(*args, **kwargs):
        raise RuntimeError("worker killed")

    with monkeypatch.context() as m:
        m.setattr(CalendarPreferencesService, "set_active", killed)
        with pytest.raises(RuntimeError):
            update_insight(job, None)
    assert user_insights_service.get_insight("alice", "health/gym_time").value.get("ended_on")
    assert prefs()["Morning Gym"].is_active is False

    assert update_insight(job, None)["outcome"] == "updated"  # the retry
    assert prefs()["Morning Gym"].is_active is True
