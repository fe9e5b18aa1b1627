"""`agentcal week`: seven days, agentcal's blocks told apart, overlaps marked."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from agentcal.planning.events import calendar_events_service
from agentcal.planning.preferences import calendar_preferences_service
from agentcal.planning.week import monday_of

TZ = ZoneInfo("Europe/Paris")


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


def _week_data() -> date:
    monday = monday_of(datetime.now(TZ).date())
    gym = calendar_preferences_service.create_preference(
        user_id="alice", preference_type="gym", title="Gym", start_time="06:00",
        duration_minutes=60, day_of_week=[1, 3],
    )  # fmt: skip
    calendar_preferences_service.create_preference(
        user_id="alice", preference_type="meditation", title="Breathe", start_time="07:30",
        duration_minutes=15, day_of_week=[2], auto_schedule=False,
    )  # fmt: skip
    calendar_events_service.create_event(
        user_id="alice", title="Gym", start=_at(monday, 6), duration_minutes=60,
        timezone="Europe/Paris", preference_id=gym.id, origin="emitter",
        placement_note="at its usual time",
    )  # fmt: skip
    calendar_events_service.create_event(
        user_id="alice", title="Gym", start=_at(monday + timedelta(days=2), 7), duration_minutes=60,
        timezone="Europe/Paris", preference_id=gym.id, origin="emitter",
        placement_note="moved +1:00 h to 07:00 to avoid “Standup” at 06:30",
    )  # fmt: skip
    calendar_events_service.create_event(
        user_id="alice", title="Dentist", start=_at(monday + timedelta(days=3), 14),
        duration_minutes=60, timezone="Europe/Paris",
    )  # fmt: skip
    calendar_events_service.create_event(
        user_id="alice", title="Review", start=_at(monday + timedelta(days=3), 14, 30),
        duration_minutes=30, timezone="Europe/Paris",
    )  # fmt: skip
    calendar_events_service.create_event(  # next week: not in this one
        user_id="alice", title="Next", start=_at(monday + timedelta(days=8), 9),
        duration_minutes=30, timezone="Europe/Paris",
    )  # fmt: skip
    return monday


def test_week_json_marks_habits_moves_suggestions_and_conflicts(cli):
    monday = _week_data()
    data = json.loads(cli("week", "--json").stdout)
    assert data["start"] == monday.isoformat() and len(data["days"]) == 7
    items = {(d["date"], i["title"]): i for d in data["days"] for i in d["items"]}
    day = [(monday + timedelta(days=n)).isoformat() for n in range(7)]
    assert items[(day[0], "Gym")]["kind"] == "habit" and not items[(day[0], "Gym")]["moved"]
    assert items[(day[2], "Gym")]["moved"] is True
    assert items[(day[1], "Breathe")]["kind"] == "suggestion"
    assert items[(day[1], "Breathe")]["start"].startswith(f"{day[1]}T07:30")
    assert items[(day[3], "Dentist")]["conflict"] and items[(day[3], "Review")]["conflict"]
    assert not items[(day[0], "Gym")]["conflict"]
    assert all(title != "Next" for _, title in items)
    nxt = json.loads(cli("week", "--next", "--json").stdout)
    assert nxt["start"] == (monday + timedelta(days=7)).isoformat()
    assert [i["title"] for d in nxt["days"] for i in d["items"] if i["kind"] != "suggestion"] == [
        "Next"
    ]


def test_week_grid_fits_80_columns(cli, monkeypatch):
    monday = _week_data()
    monkeypatch.setenv("COLUMNS", "80")
    out = cli("week").stdout
    lines = out.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert f"{monday:%a %d}" in out and f"{monday + timedelta(days=6):%a %d}" in out
    for cell in ("◆06:00", "↷07:00", "◇07:30", "!14:00", "!14:30", "Dentist", "Review"):
        assert cell in out, cell
    assert "habit" in lines[-1] and "suggestion" in lines[-1]  # the legend


def test_an_empty_week(cli):
    assert cli("week").exit_code == 0
    data = json.loads(cli("week", "--json").stdout)
    assert all(d["items"] == [] for d in data["days"])
