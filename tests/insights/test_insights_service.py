"""user_insights_service: the seed's calls, validation and the conflict policy."""

import pytest

from agentcal.errors import NotFoundError, ValidationError
from agentcal.insights.user_insights import InsightBody, user_insights_service

GYM = {"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5]}


def _create(**overrides):
    args = dict(
        user_id="alice",
        insight_type="preference",
        category="health",
        key="gym_time",
        value=GYM,
        confidence=0.8,
    )
    args.update(overrides)
    return user_insights_service.upsert_insight(**args)


def test_seed_calls():
    insight = user_insights_service.create_insight(
        user_id="alice",
        insight_type="preference",
        category="health",
        key="gym_time",
        value={"time": "06:00", "duration": 60},
        confidence=0.8,
    )
    assert insight.id is not None
    rows = user_insights_service.get_user_insights(user_id="alice", category="health")
    assert [(r.key, r.value, r.confidence, r.source) for r in rows] == [
        ("gym_time", {"time": "06:00", "duration": 60}, 0.8, "agent")
    ]
    assert user_insights_service.get_user_insights(user_id="alice", category="work") == []
    assert user_insights_service.get_user_insights(user_id="bob") == []


def test_upsert_keeps_one_row_per_key():
    _create()
    _create(value={"time": "07:00"}, confidence=0.9)
    rows = user_insights_service.get_user_insights("alice")
    assert len(rows) == 1
    assert rows[0].value == {"time": "07:00"}


def test_same_value_reinforces_confidence():
    first = _create(confidence=0.6)
    second = _create(confidence=0.5)
    assert (first.outcome, second.outcome) == ("created", "reinforced")
    assert second.insight.confidence == pytest.approx(0.6 + 0.1 * 0.4)
    assert second.insight.times_seen == 2


def test_agent_guess_does_not_overwrite_explicit_value():
    _create(source="explicit", confidence=1.0)
    change = _create(value={"time": "09:00"}, confidence=0.99, source="agent")
    assert change.outcome == "kept"
    assert change.insight.value == GYM
    history = user_insights_service.get_history(change.insight.id)
    assert [h.change for h in history] == ["created", "kept"]
    assert history[1].value == {"time": "09:00"}


def test_explicit_value_replaces_agent_value():
    _create(confidence=0.9)
    change = _create(value={"time": "05:30"}, confidence=0.4, source="explicit")
    assert change.outcome == "updated"
    assert change.insight.source == "explicit"


def test_weak_guess_does_not_replace_strong_belief():
    _create(confidence=0.9)
    weak = _create(value={"time": "10:00"}, confidence=0.5, source="pattern_analysis")
    assert weak.outcome == "kept"
    close = _create(value={"time": "07:00"}, confidence=0.75)
    assert close.outcome == "updated"
    assert close.insight.value == {"time": "07:00"}


def test_get_by_ref_and_delete():
    created = _create().insight
    assert user_insights_service.get_insight("alice", "health/gym_time").id == created.id
    assert user_insights_service.get_insight("alice", str(created.id)).id == created.id
    with pytest.raises(NotFoundError):
        user_insights_service.get_insight("bob", created.id)
    user_insights_service.delete_insight("alice", "health.gym_time")
    assert user_insights_service.get_user_insights("alice") == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"insight_type": "wish"},
        {"category": "food"},
        {"source": "gossip"},
        {"confidence": 1.5},
        {"confidence": -0.1},
        {"confidence": float("nan")},
        {"confidence": "high"},
        {"key": ""},
        {"key": "x" * 201},
        {"value": {1, 2}},
        {"value": float("inf")},
        {"user_id": "  "},
    ],
)
def test_invalid_input_raises_and_writes_nothing(overrides, snapshot):
    _create()
    before = snapshot()
    with pytest.raises(ValidationError):
        _create(**overrides)
    assert snapshot() == before


def test_body_parse_requires_exactly_the_seed_fields():
    body = {
        "insight_type": "preference",
        "category": "health",
        "key": "gym_time",
        "value": GYM,
        "confidence": 0.9,
    }
    assert InsightBody.parse(body).as_dict() == body
    with pytest.raises(ValidationError, match="missing confidence"):
        InsightBody.parse({k: v for k, v in body.items() if k != "confidence"})
    with pytest.raises(ValidationError, match="unknown field"):
        InsightBody.parse({**body, "user_id": "bob"})
    with pytest.raises(ValidationError, match="JSON object"):
        InsightBody.parse([body])
