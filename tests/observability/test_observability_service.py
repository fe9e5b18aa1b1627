"""agent_observability_service: the seed's call site, pricing, and validation."""

import pytest
from genai_prices import Usage, calc_price

from agentcal.errors import ValidationError
from agentcal.observability.calls import agent_observability_service


def test_seed_call_site_verbatim():
    row = agent_observability_service.log_agent_call(
        user_id="alice",
        agent_action="create",
        user_message="Schedule gym tomorrow at 6am",
        agent_response="Created gym event",
        agent_tool="create",
        tool_result={"event_id": "..."},
        execution_time_ms=1500,
        llm_model="gpt-4o-mini",
        llm_total_tokens=250,
        llm_cost_usd=0.001,
    )
    stored = agent_observability_service.get_call(row.id)
    assert stored.user_id == "alice"
    assert stored.agent_action == "create"
    assert stored.tool_result == {"event_id": "..."}
    assert stored.llm_total_tokens == 250
    assert stored.llm_cost_usd == 0.001
    assert stored.cost_source == "caller"
    assert stored.execution_time_ms == 1500


def test_cost_from_genai_prices_with_cached_tokens_and_dated_model():
    row = agent_observability_service.log_agent_call(
        user_id="alice",
        llm_model="openai/gpt-4o-mini-2024-07-18",
        llm_prompt_tokens=1000,
        llm_completion_tokens=500,
        llm_cached_tokens=200,
    )
    expected = calc_price(
        Usage(input_tokens=1000, output_tokens=500, cache_read_tokens=200),
        model_ref="gpt-4o-mini",
        provider_id="openai",
    ).total_price
    assert row.llm_cost_usd == pytest.approx(float(expected))
    # cached tokens are cheaper than fresh input: the cached figure must be below the uncached one
    uncached = calc_price(
        Usage(input_tokens=1000, output_tokens=500), model_ref="gpt-4o-mini"
    ).total_price
    assert row.llm_cost_usd < float(uncached)
    assert row.cost_source == "genai-prices"
    assert row.llm_total_tokens == 1500
    assert row.llm_provider == "openai"


def test_date_suffix_not_in_price_data_is_resolved():
    row = agent_observability_service.log_agent_call(
        user_id="alice",
        llm_model="gpt-4o-mini-2099-01-01",
        llm_prompt_tokens=10,
        llm_completion_tokens=5,
    )
    assert row.cost_source == "genai-prices"
    assert row.llm_cost_usd > 0


def test_unknown_model_is_unpriced_not_zero():
    row = agent_observability_service.log_agent_call(
        user_id="alice", llm_model="my-local-llama", llm_prompt_tokens=10, llm_completion_tokens=5
    )
    assert row.llm_cost_usd is None
    assert row.cost_source == "unpriced"
    assert "my-local-llama" in row.cost_note


def test_total_only_is_unpriced_with_reason():
    row = agent_observability_service.log_agent_call(
        user_id="alice", llm_model="gpt-4o-mini", llm_total_tokens=250
    )
    assert row.llm_cost_usd is None
    assert "split unknown" in row.cost_note


def test_price_override_setting(monkeypatch):
    from agentcal.settings import reset_settings

    monkeypatch.setenv(
        "AGENTCAL_PRICE_OVERRIDES",
        '{"my-llama": {"input": 1.0, "output": 2.0, "cached_input": 0.5}}',
    )
    reset_settings()
    row = agent_observability_service.log_agent_call(
        user_id="alice",
        llm_model="my-llama",
        llm_prompt_tokens=1_000_000,
        llm_completion_tokens=1_000_000,
        llm_cached_tokens=500_000,
    )
    assert row.llm_cost_usd == pytest.approx(0.5 + 0.25 + 2.0)
    assert row.cost_source == "override"


def test_steps_are_stored_in_order():
    row = agent_observability_service.log_agent_call(
        user_id="alice",
        steps=[
            {"step_type": "llm", "name": "gpt-4o-mini", "prompt_tokens": 5, "duration_ms": 12.5},
            {
                "step_type": "tool",
                "name": "create_event",
                "input": {"title": "Gym"},
                "output": "ok",
            },
        ],
    )
    steps = agent_observability_service.get_steps(row.id)
    assert [(s.seq, s.step_type, s.name) for s in steps] == [
        (0, "llm", "gpt-4o-mini"),
        (1, "tool", "create_event"),
    ]
    assert steps[1].input == {"title": "Gym"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"user_id": ""},
        {"user_id": "alice", "llm_prompt_tokens": -1},
        {"user_id": "alice", "llm_total_tokens": 1.5},
        {"user_id": "alice", "status": "weird"},
        {"user_id": "alice", "tool_result": {1, 2}},
        {"user_id": "alice", "execution_time_ms": -3},
        {"user_id": "alice", "llm_cost_usd": -0.1},
    ],
)
def test_invalid_calls_raise_and_write_nothing(kwargs, snapshot):
    before = snapshot()
    with pytest.raises(ValidationError):
        agent_observability_service.log_agent_call(**kwargs)
    assert snapshot() == before


def test_a_turn_left_running_by_a_dead_process_is_closed_as_an_error():
    from datetime import timedelta

    from agentcal.models import utcnow
    from agentcal.observability.calls import INTERRUPTED, STALE_TURN

    service = agent_observability_service
    old = service.reserve_call(user_id="alice", user_message="crashed turn")
    recent = service.reserve_call(user_id="alice", user_message="still running")
    other = service.reserve_call(user_id="bob", user_message="bob's crashed turn")
    from agentcal.db import session_scope
    from agentcal.models import AgentObservability

    with session_scope() as s:
        for call_id in (old, other):
            row = s.get(AgentObservability, call_id)
            row.created_at = utcnow() - STALE_TURN - timedelta(minutes=1)
            s.add(row)
    service.reserve_call(user_id="alice", user_message="next turn")
    assert (service.get_call(old).status, service.get_call(old).error) == ("error", INTERRUPTED)
    assert service.get_call(recent).status == "running"  # may still be in progress
    assert service.get_call(other).status == "running"  # only the user's own turns are touched
