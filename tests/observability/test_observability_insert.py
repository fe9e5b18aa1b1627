"""`log_agent_call` stores a new turn with Core INSERTs, or through the caller's session: both
must store the same row and steps and return what was stored."""

from datetime import UTC, datetime

from agentcal.db import session_scope
from agentcal.observability.calls import agent_observability_service as svc

CALL = dict(
    user_id="alice", agent_action="create", user_message="gym at 6", agent_response="done",
    agent_tool="create_event", tool_result={"event_id": "e1", "n": [1, 2]}, execution_time_ms=12.5,
    llm_model="gpt-4o-mini", llm_prompt_tokens=200, llm_completion_tokens=50,
    llm_cached_tokens=100, agent_run_id="run-1", session_id="s1", entities={"when": "tomorrow"},
    created_at=datetime(2025, 6, 1, 8, 0, tzinfo=UTC),
    steps=[
        {"step_type": "llm", "name": "gpt-4o-mini", "run_id": "a", "prompt_tokens": 200,
         "started_at": datetime(2025, 6, 1, 8, 0, tzinfo=UTC), "output": {"text": "hi"}},
        {"step_type": "tool", "name": "create_event", "run_id": "b", "parent_run_id": "a",
         "started_at": datetime(2025, 6, 1, 8, 0, 1, tzinfo=UTC), "input": {"title": "gym"}},
    ],
)  # fmt: skip


def _without(record, *names):
    return {k: v for k, v in record._asdict().items() if k not in names}


def _dump(row):
    """A returned row: a model (ORM path) or a record (the stdlib write path)."""
    return row._asdict() if hasattr(row, "_asdict") else row.model_dump()


def _stored(call_id):
    call = _without(svc.get_call(call_id), "id")
    steps = [_without(s, "id", "observability_id") for s in svc.get_steps(call_id)]
    return call, steps


def test_new_rows_are_returned_as_stored():
    row = svc.log_agent_call(**CALL)
    assert row.id is not None
    call, steps = _stored(row.id)
    assert call == {k: v for k, v in _dump(row).items() if k != "id"}
    assert call["llm_cost_usd"] is not None and call["cost_source"] == "genai-prices"
    assert [(s["seq"], s["step_type"], s["name"]) for s in steps] == [
        (0, "llm", "gpt-4o-mini"),
        (1, "tool", "create_event"),
    ]
    assert steps[0]["output"] == {"text": "hi"} and steps[1]["input"] == {"title": "gym"}


def test_core_insert_and_caller_session_store_the_same_thing():
    core = svc.log_agent_call(**CALL)
    with session_scope() as s:
        orm = svc.log_agent_call(**CALL, session=s)
    assert orm.id != core.id
    assert _stored(core.id) == _stored(orm.id)
    # JSON columns left empty are stored the same way by both paths.
    assert core.agent_state is None and orm.agent_state is None
