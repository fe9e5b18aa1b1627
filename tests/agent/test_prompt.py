"""The system prompt is built for every turn from the store, and `logs show --prompt` shows it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from agentcal.agent.facts import UserFacts, WorkingHours
from agentcal.agent.prompts import build_system_prompt
from tests.agent.test_agent_loopback import make_runner
from tests.openai_loopback import LoopbackOpenAI, text

NOW = datetime(2026, 12, 2, 23, 30, tzinfo=UTC)  # Wednesday evening in Europe, Thursday in Tokyo


def _pref(**kw):
    base = {"title": "Morning Gym", "preference_type": "gym", "day_of_week": [1, 2, 3, 4, 5],
            "start_time": "06:00", "duration_minutes": 60, "is_flexible": True,
            "auto_schedule": True, "interval_weeks": 1, "anchor_date": None}  # fmt: skip
    return SimpleNamespace(**{**base, **kw})


def _insight(**kw):
    base = {"category": "meetings", "key": "no_meetings_before", "insight_type": "constraint",
            "value": {"time": "10:00"}, "confidence": 0.9, "source": "explicit"}  # fmt: skip
    return SimpleNamespace(**{**base, **kw})


def test_prompt_from_zone_date_and_facts():
    facts = UserFacts(
        preferences=[_pref(), _pref(title="Sleep", preference_type="sleep", day_of_week=None,
                                    start_time="23:00", duration_minutes=480, is_flexible=False),
                     _pref(title="Nap", preference_type="sleep", auto_schedule=False),
                     _pref(title="Book club", preference_type="event", day_of_week=[4],
                           start_time="19:00", is_flexible=False, interval_weeks=2,
                           anchor_date=date(2026, 12, 10))],
        insights=[_insight(), _insight(category="personal", key="partner", insight_type="preference",
                                       value={"note": "Sam"}, confidence=0.75, source="agent")],
        working_hours=WorkingHours(
            datetime(2026, 1, 1, 9, 30).time(), datetime(2026, 1, 1, 18).time(), (1, 2, 3, 4), True
        ),
    )  # fmt: skip
    prompt = build_system_prompt(NOW, "Europe/Paris", facts)
    assert "Now: 2026-12-03 00:30, Thursday. The user's time zone: Europe/Paris." in prompt
    assert "Working hours: 09:30–18:00 Mon,Tue,Wed,Thu." in prompt
    assert "- Morning Gym (gym): weekdays at 06:00 for 60 min, flexible\n" in prompt
    assert "- Sleep (sleep): daily at 23:00 for 480 min, fixed time\n" in prompt
    assert "- Nap (sleep): weekdays at 06:00 for 60 min, flexible, a suggestion only" in prompt
    assert "- Book club (event): Thu every 2 weeks from 2026-12-10 at 19:00 for 60 min" in prompt
    assert (
        '- meetings/no_meetings_before (constraint, the user said so): {"time": "10:00"}' in prompt
    )
    assert '- personal/partner (preference, confidence 0.75): {"note": "Sam"}' in prompt
    for rule in ("Never invent an event or an event id", "ask one short question",
                 "Confirm with the user before deleting more than one event",
                 "before deleting or moving\n  anything in the past"):  # fmt: skip
        assert rule in prompt
    # The same moment in another zone: another day.
    tokyo = build_system_prompt(NOW, "Asia/Tokyo", facts)
    assert "Now: 2026-12-03 08:30, Thursday. The user's time zone: Asia/Tokyo." in tokyo


def test_prompt_for_a_new_user_says_what_is_unknown():
    prompt = build_system_prompt(NOW, "UTC")
    assert "Working hours: not known; schedule within 09:00–17:00 weekdays unless told." in prompt
    assert "recurring blocks (agentcal keeps them on the calendar):\n- none yet" in prompt
    assert "What the user told you:\n- nothing yet" in prompt


@pytest.fixture
def server():
    with LoopbackOpenAI() as srv:
        yield srv


def _system(request: dict) -> str:
    first = request["messages"][0]
    assert first["role"] == "system"
    return first["content"]


def test_each_turn_reads_the_store_again(monkeypatch, server, cli):
    from agentcal.insights.user_insights import user_insights_service
    from agentcal.planning.from_insights import insight_preference_sync

    gym = user_insights_service.create_insight(
        user_id="alice", insight_type="habit", category="health", key="gym_time",
        value={"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5],
               "preference_type": "gym"}, confidence=0.9,
    )  # fmt: skip
    user_insights_service.create_insight(
        user_id="alice", insight_type="habit", category="work", key="working_hours",
        value={"time": "08:30", "end": "16:30", "days": [1, 2, 3, 4, 5]}, confidence=0.9,
        source="explicit",
    )  # fmt: skip
    (outcome,) = [o for o in insight_preference_sync.sync_user("alice") if o.insight_id == gym.id]
    runner = make_runner(monkeypatch, server.base_url)
    server.add(text("ok"), text("ok"))
    first = runner.run_turn("hi")
    prompt = _system(server.requests[0])
    assert "- Morning Gym (gym): weekdays at 06:00 for 60 min, flexible" in prompt
    assert "gym_time" not in prompt  # the preference shows it; not listed twice
    assert "Working hours: 08:30–16:30 weekdays." in prompt and "working_hours" not in prompt

    # The complaint: after `prefs edit` the next prompt still said 06:00.
    assert cli("prefs", "edit", str(outcome.preference_id), "--at", "07:30").exit_code == 0
    runner.run_turn("and now?")
    assert "- Morning Gym (gym): weekdays at 07:30 for 60 min, flexible" in _system(
        server.requests[1]
    )

    # logs show --prompt prints exactly what the model was sent.
    result = cli("logs", "show", str(first.record.id), "--prompt")
    assert result.exit_code == 0 and result.stdout == prompt + "\n"


def test_logs_show_prompt_of_a_row_without_one(cli):
    from agentcal.observability.calls import agent_observability_service

    row = agent_observability_service.log_agent_call(user_id="alice", llm_model="gpt-4o")
    result = cli("logs", "show", str(row.id), "--prompt")
    assert result.exit_code == 1
    assert (
        result.stderr == f"Error: call {row.id} has no recorded system prompt (not a chat turn)\n"
    )


def test_the_prompt_stays_small_whatever_the_store_holds(monkeypatch, server):
    from agentcal.agent.facts import MAX_PROMPT_INSIGHTS
    from agentcal.insights.user_insights import user_insights_service

    for n in range(MAX_PROMPT_INSIGHTS + 5):
        user_insights_service.create_insight(
            user_id="alice", insight_type="preference", category="personal", key=f"likes_{n:02d}",
            value={"note": f"thing {n}"}, confidence=0.5 + n / 100,
        )  # fmt: skip
    runner = make_runner(monkeypatch, server.base_url)
    server.add(text("ok"))
    runner.run_turn("hi")
    prompt = _system(server.requests[0])
    assert prompt.count("- personal/likes_") == MAX_PROMPT_INSIGHTS
    top = f"personal/likes_{MAX_PROMPT_INSIGHTS + 4:02d}"
    assert top in prompt and "personal/likes_00" not in prompt  # the most confident are kept
    assert "- … and 5 more (agentcal insights list)" in prompt
