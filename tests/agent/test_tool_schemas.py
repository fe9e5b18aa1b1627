"""The tools as a model sees them: every parameter described, closed sets as enums, bounds;
and what the new parameters do (an explicit preference_type, working hours for whole days)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentcal.agent.tools import ALL_TOOLS
from agentcal.vocab import INSIGHT_CATEGORIES, INSIGHT_TYPES, PREFERENCE_TYPES
from tests.agent.test_agent_loopback import make_runner
from tests.openai_loopback import LoopbackOpenAI, call, text

TZ = ZoneInfo("Europe/Paris")
# Every closed vocabulary a parameter takes, by property name: it must be an enum of exactly these.
CLOSED_SETS = {
    "insight_type": list(INSIGHT_TYPES),
    "category": list(INSIGHT_CATEGORIES),
    "preference_type": [*PREFERENCE_TYPES, "none"],
    "days": [1, 2, 3, 4, 5, 6, 7],
}
BOUNDS = {
    "duration_minutes": (5, 1440),
    "confidence": (0, 1),
    "event_id": (1, None),
    "preference_id": (1, None),
}


def schemas() -> list[dict]:
    return [convert_to_openai_tool(t)["function"] for t in ALL_TOOLS]


def walk(properties: dict, path: str = ""):
    for name, prop in properties.items():
        yield f"{path}{name}", name, prop
        if "properties" in prop:
            yield from walk(prop["properties"], f"{path}{name}.")


def test_dump_of_the_schemas_every_property_described_every_closed_set_an_enum():
    dumped = json.dumps(schemas(), indent=1)  # what a model receives, whole
    assert "\n    " not in "".join(s["description"] for s in schemas())  # no docstring indent
    seen_closed = set()
    for schema in schemas():
        assert schema["description"].strip(), schema["name"]
        for path, name, prop in walk(schema["parameters"]["properties"]):
            where = f"{schema['name']}.{path}"
            assert prop.get("description", "").strip(), f"{where} has no description"
            assert "\n" not in prop["description"], where
            if name in CLOSED_SETS:
                enum = prop.get("enum") or prop.get("items", {}).get("enum")
                assert enum == CLOSED_SETS[name], f"{where}: enum {enum}"
                seen_closed.add(name)
            if name in BOUNDS:
                low, high = BOUNDS[name]
                assert prop.get("minimum") == low and prop.get("maximum") == high, where
            assert "anyOf" not in prop, f"{where}: one type per parameter"
    assert seen_closed == set(CLOSED_SETS), dumped


def test_habit_value_is_one_object_schema():
    (insight,) = [s for s in schemas() if s["name"] == "record_user_insight"]
    params = insight["parameters"]
    assert "preference_type" in params["required"]
    value = params["properties"]["value"]
    assert value["type"] == "object" and value["additionalProperties"] is False
    assert set(value["properties"]) == {
        "time", "duration_minutes", "days", "interval_weeks", "anchor_date", "end", "title", "note",
    }  # fmt: skip
    assert value["properties"]["interval_weeks"]["minimum"] == 1
    assert value["properties"]["time"]["pattern"] == r"^([01]\d|2[0-3]):[0-5]\d$"


def test_stop_habit_takes_a_description_or_an_id_and_says_what_it_is_not_for():
    by_name = {s["name"]: s for s in schemas()}
    stop, listing = by_name["stop_habit"], by_name["list_habits"]
    params = stop["parameters"]
    assert set(params["properties"]) == {"what", "preference_id"}
    assert not params.get("required")  # either one: the operation says when neither is given
    assert params["properties"]["what"]["maxLength"] == 200
    assert "delete_event" in stop["description"]  # one event is not a habit
    assert "cancelled" in stop["description"] and "ask the user" in stop["description"]
    assert listing["parameters"]["properties"] == {}


@pytest.fixture
def server():
    with LoopbackOpenAI() as srv:
        yield srv


def _insight(key: str, ptype: str, value: dict, confidence: float = 0.9) -> dict:
    return {"insight_type": "habit", "category": "health", "key": key, "value": value,
            "confidence": confidence, "preference_type": ptype}  # fmt: skip


def _run_insight_job(job_id: int):
    from agentcal.queue.jobs import job_queue
    from agentcal.workers.runner import JobWorker

    JobWorker("test").run_once()
    return job_queue.get(job_id)


def test_explicit_preference_type_decides_the_calendar_block(monkeypatch, server):
    """Keys that name no block word (the issue's swim_time, standup) follow preference_type."""
    from agentcal.planning.preferences import calendar_preferences_service as prefs

    runner = make_runner(monkeypatch, server.base_url)
    swim = _insight("swim_time", "gym", {"time": "07:00", "duration_minutes": 45, "days": [2, 4]})
    server.add(call("record_user_insight", swim), text("Noted."))
    turn = runner.run_turn("I swim Tuesdays and Thursdays at 7")
    result = turn.record.tool_result[0]["result"]
    assert result["calendar"] == {"becomes_events": True, "title": "Morning Gym",
                                  "days": "Tue,Thu", "time": "07:00", "duration_minutes": 45}  # fmt: skip
    _run_insight_job(result["queued"]["job_id"])
    (pref,) = prefs.list_preferences("alice")
    assert (pref.preference_type, pref.start_time, pref.day_of_week) == ("gym", "07:00", [2, 4])

    standup = _insight("standup", "none", {"time": "09:30", "duration_minutes": 15})
    server.add(call("record_user_insight", standup), text("Noted."))
    result = runner.run_turn("standup is at 9:30").record.tool_result[0]["result"]
    assert result["calendar"]["becomes_events"] is False
    assert "preference_type is none" in result["calendar"]["why"]
    _run_insight_job(result["queued"]["job_id"])
    assert [p.preference_type for p in prefs.list_preferences("alice")] == ["gym"]

    weak = _insight("nap_time", "sleep", {"time": "14:00", "duration_minutes": 20}, 0.4)
    server.add(call("record_user_insight", weak), text("Noted."))
    result = runner.run_turn("I might nap at 2").record.tool_result[0]["result"]
    assert result["calendar"]["becomes_events"] is False
    assert "below the auto-schedule threshold" in result["calendar"]["why"]


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        ({"confidence": 3}, "confidence"),
        ({"preference_type": "swimming"}, "preference_type"),
        ({"value": {"time": "6am", "duration_minutes": 60}}, "time"),
        ({"value": {"time": "06:00", "duration_minutes": 2}}, "duration_minutes"),
        ({"value": {"time": "06:00", "days": [0]}}, "days"),
        ({"value": {"time": "06:00", "colour": "red"}}, "colour"),
    ],
    ids=["confidence", "preference-type", "time", "duration", "weekday", "extra-field"],
)
def test_out_of_bounds_arguments_go_back_to_the_model(monkeypatch, server, args, complaint):
    from agentcal.queue.jobs import job_queue

    runner = make_runner(monkeypatch, server.base_url)
    body = {**_insight("gym_time", "gym", {"time": "06:00", "duration_minutes": 60}), **args}
    server.add(call("record_user_insight", body), text("Let me fix that."))
    turn = runner.run_turn("I go to the gym at 6")
    assert turn.ok and turn.record.tool_result[0]["status"] == "error"
    tool_message = server.requests[-1]["messages"][-1]
    assert tool_message["role"] == "tool" and complaint in tool_message["content"]
    assert job_queue.counts().get("queued", 0) == 0


def _day(days_ahead: int) -> datetime:
    now = datetime.now(TZ)
    day = now + timedelta(days=days_ahead)
    while day.isoweekday() > 5:  # a working day
        day += timedelta(days=1)
    return day.replace(hour=0, minute=0, second=0, microsecond=0)


def test_whole_day_window_books_inside_working_hours(monkeypatch, server):
    from agentcal.insights.user_insights import user_insights_service

    runner = make_runner(monkeypatch, server.base_url)
    day = _day(2)
    whole = {"title": "Review", "duration_minutes": 60,
             "window_start": day.strftime("%Y-%m-%dT%H:%M"),
             "window_end": (day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}  # fmt: skip
    server.add(call("schedule_event", whole), text("Booked."))
    result = runner.run_turn("find an hour for a review that day").record.tool_result[0]["result"]
    assert result["scheduled"]["start"] == day.replace(hour=9).isoformat(timespec="minutes")
    assert "working hours 09:00–17:00 weekdays (a default" in result["searched"]

    user_insights_service.create_insight(
        user_id="alice", insight_type="habit", category="work", key="working_hours",
        value={"time": "10:30", "end": "18:00", "days": [1, 2, 3, 4, 5],
               "preference_type": "none"}, confidence=0.9, source="explicit",
    )  # fmt: skip
    server.add(call("schedule_event", {**whole, "title": "Second"}), text("Booked."))
    result = runner.run_turn("and another").record.tool_result[0]["result"]
    assert result["scheduled"]["start"] == day.replace(hour=10, minute=30).isoformat(
        timespec="minutes"
    )
    assert "10:30–18:00 weekdays" in result["searched"] and "default" not in result["searched"]

    # an explicit window is used as given
    early = {**whole, "title": "Early", "window_start": day.strftime("%Y-%m-%dT06:00"),
             "window_end": day.strftime("%Y-%m-%dT08:00")}  # fmt: skip
    server.add(call("schedule_event", early), text("Booked."))
    result = runner.run_turn("early one").record.tool_result[0]["result"]
    assert result["scheduled"]["start"] == day.replace(hour=6).isoformat(timespec="minutes")
