"""`agentcal costs`, run as a user would, against calls logged through the real service."""

import csv
import io
import json
from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from agentcal.observability.calls import agent_observability_service

PARIS = ZoneInfo("Europe/Paris")

# (user, utc time, model, action, session, status, prompt, completion, cached, cost given, ms)
# Times straddle the 2025-03-30 DST change in Paris: 23:30Z on the 29th is already the 30th.
CALLS = [
    ("alice", "2025-03-29T10:00", "gpt-4o-mini", "create", "s1", "ok", 1000, 100, 200, None, 100.0),
    ("alice", "2025-03-29T23:30", "gpt-4o-mini", "read", "s1", "ok", 500, 50, 0, None, 300.0),
    ("alice", "2025-03-30T09:00", "my-llama", "read", "s2", "error", 800, 80, 0, None, 200.0),
    ("alice", "2025-03-30T21:59", "gpt-4o", "create", "s2", "ok", 2000, 300, 0, 0.25, 1000.0),
    ("alice", "2025-03-30T22:30", "my-llama", "schedule", "s3", "ok", 100, 10, 0, None, None),
    ("alice", "2025-03-31T08:00", "gpt-4o", "search", "s3", "error", 300, 30, 0, 0.125, 50.0),
    ("bob", "2025-03-30T12:00", "gpt-4o", "create", "b1", "ok", 700, 70, 0, 0.5, 400.0),
]


def _log(calls=CALLS):
    for user, when, model, action, session, status, p, c, cached, cost, ms in calls:
        agent_observability_service.log_agent_call(
            user_id=user,
            created_at=datetime.fromisoformat(when).replace(tzinfo=UTC),
            llm_model=model, agent_action=action, session_id=session, status=status,
            llm_prompt_tokens=p, llm_completion_tokens=c, llm_cached_tokens=cached,
            llm_cost_usd=cost, execution_time_ms=ms, user_message=f"{action} something",
        )  # fmt: skip


def _stored_costs():
    from sqlmodel import select

    from agentcal.db import session_scope
    from agentcal.models import AgentObservability

    with session_scope() as s:
        rows = s.exec(select(AgentObservability).order_by(AgentObservability.id))
        return [(r.id, r.llm_model, r.llm_cost_usd, r.cost_source) for r in rows]


def _nearest_rank(values, pct):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    return values[max(-(-pct * len(values) // 100) - 1, 0)]


def _expected(calls, key):
    """What the report should say per group, computed from the inputs."""
    groups = defaultdict(list)
    for call in calls:
        groups[key(call)].append(call)
    out = {}
    for k, members in groups.items():
        out[k] = {
            "calls": len(members),
            "errors": sum(m[5] == "error" for m in members),
            "unpriced_calls": sum(m[2] == "my-llama" for m in members),
            "prompt_tokens": sum(m[6] for m in members),
            "completion_tokens": sum(m[7] for m in members),
            "cached_tokens": sum(m[8] for m in members),
            "total_tokens": sum(m[6] + m[7] for m in members),
            "latency_p50_ms": _nearest_rank([m[10] for m in members], 50),
            "latency_p95_ms": _nearest_rank([m[10] for m in members], 95),
        }
    return out


def _local_day(call):
    return datetime.fromisoformat(call[1]).replace(tzinfo=UTC).astimezone(PARIS).date().isoformat()


def _report(cli, *args):
    result = cli("costs", "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_empty_store(cli):
    data = _report(cli)
    assert data["totals"]["calls"] == 0 and data["groups"] == [] and data["daily"] == []
    assert "No agent calls recorded" in cli("costs").stdout


def test_totals_for_the_current_user(cli):
    _log()
    data = _report(cli)
    mine = [c for c in CALLS if c[0] == "alice"]
    expected = _expected(mine, lambda c: "all")["all"]
    totals = data["totals"]
    assert {k: totals[k] for k in expected} == expected
    assert totals["priced_calls"] + totals["unpriced_calls"] == totals["calls"] == len(mine)
    # Unpriced calls add nothing; priced ones add what was stored for them.
    stored = [cost for _, model, cost, _ in _stored_costs()[: len(mine)] if cost is not None]
    assert totals["cost_usd"] == pytest.approx(sum(stored))
    assert totals["timed_calls"] == sum(c[10] is not None for c in mine)
    assert (data["user"], data["all_users"], data["by"]) == ("alice", False, None)


@pytest.mark.parametrize(
    "by,key",
    [
        ("model", lambda c: c[2]),
        ("action", lambda c: c[3]),
        ("session", lambda c: c[4]),
        ("user", lambda c: c[0]),
        ("day", _local_day),
    ],
)
def test_every_breakdown(cli, by, key):
    _log()
    data = _report(cli, "--by", by)
    calls = CALLS if by == "user" else [c for c in CALLS if c[0] == "alice"]
    expected = _expected(calls, key)
    got = {g["key"]: {k: g[k] for k in next(iter(expected.values()))} for g in data["groups"]}
    assert got == expected
    assert sum(g["calls"] for g in data["groups"]) == data["totals"]["calls"]
    assert sum(g["cost_usd"] for g in data["groups"]) == pytest.approx(data["totals"]["cost_usd"])


def test_days_are_local_days_across_dst(cli):
    _log()
    data = _report(cli, "--by", "day")
    assert [(d["key"], d["calls"]) for d in data["groups"]] == [
        ("2025-03-29", 1), ("2025-03-30", 3), ("2025-03-31", 2),
    ]  # fmt: skip
    # The daily series runs on to today (no --until), one entry per local day, zeros included.
    assert data["daily"][:3] == data["groups"]
    assert {d["calls"] for d in data["daily"][3:]} == {0}
    keys = [d["key"] for d in data["daily"]]
    assert keys == sorted(set(keys))


def test_since_until_select_whole_local_days(cli):
    _log()
    data = _report(cli, "--since", "2025-03-30", "--until", "2025-03-30", "--all-users")
    assert data["totals"]["calls"] == sum(_local_day(c) == "2025-03-30" for c in CALLS)
    assert [d["key"] for d in data["daily"]] == ["2025-03-30"]
    since_only = _report(cli, "--since", "2025-03-31T00:00")
    assert since_only["totals"]["calls"] == 2  # 22:30Z and 08:00Z on the 30th/31st in Paris
    recent = _report(cli, "--since", "7d")
    assert recent["totals"]["calls"] == 0


def test_all_users_and_explicit_user(cli):
    _log()
    assert _report(cli, "--all-users")["totals"]["calls"] == len(CALLS)
    assert _report(cli, "--user", "bob")["totals"]["calls"] == 1
    assert _report(cli, "--by", "user", "--user", "bob")["groups"][0]["key"] == "bob"


def test_csv_matches_json(cli):
    _log()
    result = cli("costs", "--csv", "--by", "model")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    groups = _report(cli, "--by", "model")["groups"]
    assert [r["model"] for r in rows] == [g["key"] for g in groups]
    assert [int(r["calls"]) for r in rows] == [g["calls"] for g in groups]
    assert [float(r["cost_usd"]) for r in rows] == pytest.approx([g["cost_usd"] for g in groups])
    default = list(csv.reader(io.StringIO(cli("costs", "--csv").stdout)))
    assert default[0][0] == "day" and [r[0] for r in default[1:]] == [
        "2025-03-29", "2025-03-30", "2025-03-31",
    ]  # fmt: skip


def test_table_and_chart(cli):
    _log()
    out = cli("costs", "--by", "model", "--until", "2025-03-31").stdout
    assert "unpriced" in out and "my-llama" in out and "p95" in out
    assert "daily spend" in out and "█" in out
    assert "2025-03-29" in out and "2025-03-31" in out
    assert "daily spend" not in cli("costs", "--days", "0").stdout
    assert "no spend in the last 30 days" in cli("costs").stdout  # the data is from 2025


def test_chart_of_free_calls_says_they_cost_nothing(cli):
    """The offline model's calls cost $0: the chart says so, in words that fit one day."""
    today = datetime.now(UTC).isoformat()
    for _ in range(2):
        agent_observability_service.log_agent_call(
            user_id="alice", created_at=datetime.fromisoformat(today),
            llm_model="agentcal-offline-1", llm_cost_usd=0.0, user_message="hello",
        )  # fmt: skip
    out = cli("costs", "--user", "alice", "--since", "today").stdout
    assert "(no spend that day: 2 calls, all at $0)" in out
    assert "1 days" not in out


def _table_keys(out: str, keys: list[str]) -> list[str]:
    """The breakdown table's first-column keys that appear in `out`, in the order shown."""
    rows = [line.split()[0] for line in out[out.index("by ") :].splitlines() if line.strip()]
    return sorted((k for k in keys if k in rows), key=rows.index)


def test_table_limit_shows_the_top_groups_and_says_so(cli):
    _log()
    sessions = _report(cli, "--by", "session")["groups"]
    keys = [g["key"] for g in sessions]
    assert len(keys) == 3
    out = cli("costs", "--by", "session", "--limit", "2").stdout
    assert _table_keys(out, keys) == keys[:2]  # the top two by spend, in that order
    assert "the top 2 of 3 sessions by spend; --limit 0 shows them all" in out
    out = cli("costs", "--by", "session", "--limit", "0").stdout
    assert _table_keys(out, keys) == keys and "--limit 0" not in out
    # Days: the latest ones, oldest first, as in the full table.
    days = [g["key"] for g in _report(cli, "--by", "day")["groups"]]
    out = cli("costs", "--by", "day", "--limit", "2", "--days", "0").stdout
    assert _table_keys(out, days) == days[-2:]
    assert f"the latest 2 of {len(days)} days;" in out
    # Exports are never cut.
    assert _report(cli, "--by", "session", "--limit", "1")["groups"] == sessions
    assert len(cli("costs", "--by", "session", "--csv", "--limit", "1").stdout.splitlines()) == 4


def test_reprice_with_override(cli, monkeypatch, snapshot):
    _log()
    before = _stored_costs()
    monkeypatch.setenv("AGENTCAL_PRICE_OVERRIDES", '{"my-llama": {"input": 1.0, "output": 2.0}}')
    before_snapshot = snapshot()
    dry = json.loads(cli("costs", "--reprice", "--dry-run", "--json").stdout)
    assert snapshot() == before_snapshot and _stored_costs() == before
    llama = [c for c in CALLS if c[0] == "alice" and c[2] == "my-llama"]
    assert dry["dry_run"] is True
    assert dry["rows_changed"] == len(llama)
    assert dry["rows_skipped_caller"] == sum(c[0] == "alice" and c[9] is not None for c in CALLS)
    added = sum((c[6] * 1.0 + c[7] * 2.0) / 1e6 for c in llama)
    assert dry["new_total_usd"] - dry["old_total_usd"] == pytest.approx(added)
    per_model = {m["model"]: m for m in dry["models"]}
    assert per_model["my-llama"]["old_unpriced"] == len(llama)
    assert per_model["my-llama"]["new_unpriced"] == 0

    text = cli("costs", "--reprice").stdout
    assert f"{len(llama)} changed" in text
    after = {r[0]: r for r in _stored_costs()}
    for row in before:
        if row[1] == "my-llama":
            assert after[row[0]][3] == "override" and after[row[0]][2] > 0
        else:
            assert after[row[0]] == row
    assert _report(cli)["totals"]["unpriced_calls"] == 0


def test_reprice_keeps_caller_costs_unless_asked(cli, monkeypatch):
    _log()
    monkeypatch.setenv("AGENTCAL_PRICE_OVERRIDES", '{"gpt-4o": {"input": 1.0, "output": 1.0}}')
    cli("costs", "--reprice", "--all-users")
    caller = [r for r in _stored_costs() if r[3] == "caller"]
    assert [r[2] for r in caller] == [c[9] for c in CALLS if c[9] is not None]
    result = json.loads(
        cli("costs", "--reprice", "--all-users", "--include-caller-costs", "--json").stdout
    )
    assert result["rows_changed"] == len(caller)
    assert {r[3] for r in _stored_costs() if r[1] == "gpt-4o"} == {"override"}


@pytest.mark.parametrize(
    "args,code,message",
    [
        (("--since", "yesterdayish"), 1, "cannot read 'yesterdayish' as a time"),
        (("--by", "planet"), 1, "--by must be one of"),
        (("--since", "today", "--until", "yesterday"), 1, "must be before"),
        (("--until", "2025-02-30"), 1, "not a valid date"),
        (("--json", "--csv"), 2, "either --json or --csv"),
        (("--dry-run",), 2, "only makes sense with --reprice"),
        (("--reprice", "--by", "model"), 2, "--reprice takes no --by"),
        (("--user", "bob", "--all-users"), 2, "either --user or --all-users"),
        (("--reprice", "--since", "nonsense"), 1, "as a time"),
        (("--days", "-1"), 2, ""),
        (("--limit", "-1"), 2, "--limit"),
        (("--by", "model", "--limit", "many"), 2, "--limit"),
    ],
)
def test_bad_input(cli, snapshot, args, code, message):
    _log()
    before = snapshot()
    result = cli("costs", *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output
    if code == 1:
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert snapshot() == before
