"""`agentcal costs` picks a query plan by size (index walks, per-day passes, window queries).

The small stores of tests/observability/test_costs_cli.py take the cheap-for-small-data paths; here the size
thresholds are lowered so the same data goes through every other path, and each must give the
figures computed from the inputs.
"""

import pytest

from agentcal.observability import costs
from tests.observability.test_costs_cli import CALLS, _expected, _local_day, _log, _report

BREAKDOWNS = [
    ("model", lambda c: c[2]),
    ("action", lambda c: c[3]),
    ("session", lambda c: c[4]),
    ("user", lambda c: c[0]),
    ("day", _local_day),
]

# More calls with latencies, so groups have even and odd sizes and both walk directions run.
EXTRA = [
    ("alice", f"2025-03-{day:02d}T{hour:02d}:15", model, action, f"s{day}", "ok",
     100 + hour, 10, 0, None, float(37 * day + 11 * hour) % 900 + 1)
    for day in (27, 28, 29)
    for hour, model, action in ((7, "gpt-4o-mini", "read"), (9, "gpt-4o", "create"),
                                (13, "gpt-4o-mini", "create"), (18, "my-llama", "read"))
]  # fmt: skip


@pytest.mark.parametrize("walk_threshold", [0, 10**9])
@pytest.mark.parametrize("max_walked_groups", [0, 200])
@pytest.mark.parametrize("by,key", BREAKDOWNS)
def test_every_plan_gives_the_same_figures(
    cli, monkeypatch, walk_threshold, max_walked_groups, by, key
):
    monkeypatch.setattr(costs, "WALK_THRESHOLD", walk_threshold)
    monkeypatch.setattr(costs, "MAX_WALKED_GROUPS", max_walked_groups)
    calls = CALLS + EXTRA
    _log(calls)
    data = _report(cli, "--by", by)
    mine = calls if by == "user" else [c for c in calls if c[0] == "alice"]
    expected = _expected(mine, key)
    got = {g["key"]: {k: g[k] for k in next(iter(expected.values()))} for g in data["groups"]}
    assert got == expected
    totals = _expected(mine, lambda c: "all")["all"]
    assert {k: data["totals"][k] for k in totals} == totals
    # Per-day groups (model, action) are summed in Python: same order rule as SQL's ORDER BY.
    order = [(-g["cost_usd"], -g["calls"]) for g in data["groups"]]
    assert by == "day" or order == sorted(order)


def test_groups_with_a_null_key_are_walked(cli, monkeypatch):
    from datetime import UTC, datetime

    from agentcal.observability.calls import agent_observability_service

    monkeypatch.setattr(costs, "WALK_THRESHOLD", 0)
    for i, ms in enumerate((5.0, 1.0, 3.0)):
        agent_observability_service.log_agent_call(
            user_id="alice",
            created_at=datetime(2025, 3, 29, 10, i, tzinfo=UTC),
            llm_prompt_tokens=10,
            llm_completion_tokens=1,
            execution_time_ms=ms,
        )
    data = _report(cli, "--by", "model")
    (group,) = data["groups"]
    assert (group["key"], group["calls"]) == (None, 3)
    assert (group["latency_p50_ms"], group["latency_p95_ms"]) == (3.0, 5.0)


@pytest.mark.parametrize("by", ["model", "action", "session", "user", "day"])
@pytest.mark.parametrize("max_walked_groups", [0, 200])
def test_ranked_groups_limits_percentiles_to_the_shown_groups(
    agentcal_home, monkeypatch, by, max_walked_groups
):
    """What a table cut to N rows needs: the same report, with percentiles for those N only."""
    from datetime import UTC, datetime

    from agentcal.observability.calls import agent_observability_service

    monkeypatch.setattr(costs, "MAX_WALKED_GROUPS", max_walked_groups)
    _log(CALLS + EXTRA)
    for ms in (70.0, 30.0):  # the top group by spend, with no session, model or action
        agent_observability_service.log_agent_call(
            user_id="alice", created_at=datetime(2025, 3, 28, 9, tzinfo=UTC), llm_cost_usd=5.0,
            llm_prompt_tokens=10, llm_completion_tokens=1, execution_time_ms=ms,
        )  # fmt: skip
    user = None if by == "user" else "alice"
    full = costs.costs_service.report(user_id=user, by=by, tz="Europe/Paris").to_dict()
    n = 1 if by == "user" else 2  # two users, more of everything else
    cut_report = costs.costs_service.report(user_id=user, by=by, tz="Europe/Paris", ranked_groups=n)
    assert cut_report.group_count == len(full["groups"])
    cut = cut_report.to_dict()
    if by == "session":  # sessions can be tens of thousands: only the top n are built
        assert len(cut["groups"]) == n
        full["groups"] = full["groups"][:n]
        assert set(cut["names"]) <= {g["key"] for g in cut["groups"]}
    pct = ("latency_p50_ms", "latency_p95_ms")
    shown = range(len(full["groups"]) - n, len(full["groups"])) if by == "day" else range(n)
    assert cut_report.group_count > n
    for i, (f, c) in enumerate(zip(full["groups"], cut["groups"], strict=True)):
        assert {k: v for k, v in c.items() if k not in pct} == {
            k: v for k, v in f.items() if k not in pct
        }
        if i in shown:
            assert [c[k] for k in pct] == [f[k] for k in pct] and f["latency_p50_ms"] is not None
        else:
            assert [c[k] for k in pct] == [None, None]
    assert cut["totals"] == full["totals"]
    if by not in ("day", "user"):
        assert full["groups"][0]["key"] is None and full["groups"][0]["latency_p95_ms"] == 70.0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_top_sessions_are_the_first_of_the_full_order_ties_included(agentcal_home, n):
    """The top-n sessions come from SQL's ORDER BY ... LIMIT: the same n, in the same order,
    as the head of the full breakdown (Python's by_spend), also when spend and calls tie and
    only the key (a NULL one first, then code point order on every database) decides."""
    from datetime import UTC, datetime

    from agentcal.observability.calls import agent_observability_service

    # Equal spend and calls for every session but "b-top"; keys whose order differs between
    # code points and a natural-language collation ("Z" < "a" < "é" only in code points).
    for session, cost in (("a", 1.0), ("Z", 1.0), ("é", 1.0), (None, 1.0), ("b-top", 2.0),
                          ("_x", 1.0), ("A", 1.0)):  # fmt: skip
        agent_observability_service.log_agent_call(
            user_id="alice", session_id=session, created_at=datetime(2025, 3, 28, 9, tzinfo=UTC),
            llm_cost_usd=cost, llm_prompt_tokens=10, llm_completion_tokens=1, execution_time_ms=5.0,
        )  # fmt: skip
    full = costs.costs_service.report(user_id="alice", by="session")
    assert [g.key for g in full.groups] == ["b-top", None, "A", "Z", "_x", "a", "é"]
    cut = costs.costs_service.report(user_id="alice", by="session", ranked_groups=n)
    assert cut.groups == full.groups[:n] and cut.group_count == 7
    assert all(g.latency_p50_ms == 5.0 for g in cut.groups)
