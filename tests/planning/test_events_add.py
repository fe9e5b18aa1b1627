"""`agentcal events add "…"`: one-line quick add with the offline model's parser."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

TZ = ZoneInfo("Europe/Paris")  # conftest's AGENTCAL_TIMEZONE


def _tomorrow() -> str:
    return (datetime.now(TZ).date() + timedelta(days=1)).strftime("%a %d %b")


def test_adds_the_event_with_its_place_and_prints_it(cli):
    from agentcal.planning.events import calendar_events_service as events

    result = cli("events", "add", "coffee with Ana at Blue Door tomorrow at 9")
    assert result.exit_code == 0, result.output
    (event,) = events.list_events("alice")
    assert (event.title, event.location, event.origin) == ("Coffee with Ana", "Blue Door", "user")
    local = event.start_at.astimezone(TZ)
    assert local.strftime("%H:%M") == "09:00" and event.end_at - event.start_at == timedelta(
        hours=1
    )
    assert result.output.strip() == (
        f"Created “Coffee with Ana” {_tomorrow()} 09:00–10:00 at Blue Door (#{event.id})."
    )


def test_ranges_and_json(cli):
    result = cli("events", "add", "yoga class tomorrow 6-7:30pm", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["title"] == "Yoga class" and data["end_at"] > data["start_at"]


def test_dry_run_writes_nothing(cli, snapshot):
    before = snapshot()
    result = cli("events", "add", "dentist tmrw at 4pm", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f"Would create “Dentist” {_tomorrow()} 16:00–17:00 (dry run: nothing written)."
    )
    assert snapshot() == before


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Say what you'd like"),
        ("x" * 10_000, "10,000 characters"),
        ("asdkjh qwe zxcv", "didn't understand"),
        ("🎂🎂🎂", "didn't understand"),
        ("Встреча завтра 会议 🎉", "didn't understand"),
        ("dinner on April 31 at 8pm", "There is no April 31"),
        ("I swim on Mondays at 7am", "routine"),
        ("move the dentist to 5pm", "a change"),
        ("dentist tomorrow", "At what time"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(cli, snapshot, text, says):
    before = snapshot()
    result = cli("events", "add", text)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and says in lines[0], result.output
    assert "Traceback" not in result.output
    assert snapshot() == before
