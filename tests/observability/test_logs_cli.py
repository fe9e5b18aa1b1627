"""`agentcal logs list|show`, run as a user would."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from agentcal.cli.logs import LIST_KEYS
from agentcal.observability.calls import agent_observability_service

T0 = datetime(2025, 6, 1, 8, tzinfo=UTC)


def _log(**kw):
    defaults = {"user_id": "alice", "llm_model": "gpt-4o-mini", "agent_action": "read",
                "llm_prompt_tokens": 100, "llm_completion_tokens": 10, "execution_time_ms": 50.0}  # fmt: skip
    return agent_observability_service.log_agent_call(**{**defaults, **kw})


def _ids(cli, *args):
    result = cli("logs", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return [row["id"] for row in json.loads(result.stdout)]


def test_list_is_newest_first_with_a_default_limit_of_20(cli):
    ids = [_log(created_at=T0 + timedelta(minutes=i), user_message=f"m{i}").id for i in range(25)]
    assert _ids(cli) == list(reversed(ids))[:20]
    assert _ids(cli, "-n", "3") == list(reversed(ids))[:3]
    rows = json.loads(cli("logs", "list", "--json", "-n", "1").stdout)
    assert list(rows[0]) == list(LIST_KEYS)
    assert rows[0]["user_message"] == "m24"
    assert rows[0]["created_at"] == (T0 + timedelta(minutes=24)).isoformat()


def test_filters(cli):
    a = _log(created_at=T0, llm_model="gpt-4o", agent_action="create",
             user_message="Schedule GYM at 6", agent_response="done").id  # fmt: skip
    b = _log(created_at=T0 + timedelta(days=1), status="error", error="boom",
             user_message="what's on", agent_response="100% booked at the gym").id  # fmt: skip
    c = _log(created_at=T0 + timedelta(days=2), user_message="lunch_time?").id
    assert _ids(cli, "--model", "gpt-4o") == [a]
    assert _ids(cli, "--action", "create") == [a]
    assert _ids(cli, "--status", "error") == [b]
    assert _ids(cli, "--status", "ok") == [c, a]
    assert _ids(cli, "-q", "gym") == [b, a]  # case-insensitive, message or response
    assert _ids(cli, "-q", "100%") == [b]  # % and _ are literal
    assert _ids(cli, "-q", "h_t") == [c]  # lunch_time
    assert _ids(cli, "-q", "h t") == []
    assert _ids(cli, "--since", "2025-06-02", "--until", "2025-06-02") == [b]
    assert _ids(cli, "--since", "2025-06-02T12:00") == [c]


def test_table_output(cli):
    _log(created_at=T0, user_message="[bold]not markup[/bold]", status="error", error="x")
    _log(created_at=T0, llm_model="my-llama", user_message="hi")
    out = cli("logs", "list").stdout
    assert "[bold]not markup[/bold]" in out and "unpriced" in out and "error" in out
    assert "No agent calls match." in cli("logs", "list", "--model", "nope").stdout


def test_other_users_calls_are_invisible(cli):
    mine = _log(created_at=T0).id
    theirs = _log(created_at=T0, user_id="bob", user_message="bob's secret").id
    assert _ids(cli) == [mine]
    assert sorted(_ids(cli, "--all-users")) == [mine, theirs]
    assert "bob" in cli("logs", "list", "--all-users").stdout
    result = cli("logs", "show", str(theirs))
    assert result.exit_code == 1
    assert result.stderr == f"Error: no logged agent call with id {theirs}\n"
    assert "bob's secret" in cli("logs", "show", str(theirs), "--all-users").stdout


def _turn():
    return _log(
        created_at=T0, agent_run_id="root", agent_action="create", agent_tool="create_event",
        user_message="Gym tomorrow 6am", agent_response="Booked gym 06:00-07:00",
        tool_result={"event_id": "evt-42"}, agent_state={"messages": [{"role": "user", "content": "Gym"}]},
        llm_model="my-llama", execution_time_ms=1234.0,
        steps=[
            {"run_id": "llm1", "parent_run_id": "root", "step_type": "llm", "name": "ChatOpenAI",
             "llm_model": "my-llama", "prompt_tokens": 60, "completion_tokens": 6, "duration_ms": 700.0},
            {"run_id": "tool1", "parent_run_id": "root", "step_type": "tool", "name": "create_event",
             "input": {"title": "Gym"}, "output": {"event_id": "evt-42"}, "duration_ms": 12.0},
            {"run_id": "inner", "parent_run_id": "tool1", "step_type": "tool", "name": "check_conflicts",
             "duration_ms": 3.0, "status": "error", "error": "calendar offline"},
        ],
    )  # fmt: skip


def test_show_renders_the_whole_turn_as_a_tree(cli):
    call = _turn()
    out = cli("logs", "show", str(call.id)).stdout
    for text in ("Gym tomorrow 6am", "Booked gym 06:00-07:00", "evt-42", "messages", "1,234 ms",
                 "unpriced", "no price data", "turn #", "ChatOpenAI", "60 in / 6 out", "700 ms"):  # fmt: skip
        assert text in out, text
    lines = out.splitlines()
    tool = next(i for i, line in enumerate(lines) if "── tool create_event" in line)
    inner = next(i for i, line in enumerate(lines) if "check_conflicts" in line)
    # The nested tool call sits one level deeper, under its parent.
    indent = lines[tool].index("tool create_event")
    assert inner > tool and lines[inner].index("tool check_conflicts") > indent
    assert "calendar offline" in lines[inner]


@pytest.mark.parametrize("width", [80, 40])
def test_show_json_blocks_read_as_pygments_syntax_did(width):
    """`logs show` colours its JSON blocks with Rich's JSON highlighter instead of Pygments;
    the text (indentation, wrapping of long values) is what `Syntax(word_wrap=True)` gave."""
    import io

    from rich.console import Console
    from rich.panel import Panel
    from rich.syntax import Syntax

    from agentcal.cli.logs import _json_block

    value = {"messages": [{"role": "user", "content": "Gym tomorrow at 6am " * 8}],
             "x": "a" * 150, "n": 1.5, "ok": True, "none": None, "u": "é 日本語 " * 6}  # fmt: skip
    outs = []
    for block in (_json_block(value),
                  Syntax(json.dumps(value, indent=2, ensure_ascii=False), "json", word_wrap=True)):  # fmt: skip
        out = Console(file=io.StringIO(), width=width, color_system=None)
        out.print(Panel(block, title="agent_state", title_align="left"))
        outs.append(out.file.getvalue())
    assert outs[0] == outs[1]
    assert "Gym tomorrow" in outs[0] and "日本語" in outs[0]


def test_show_json_has_the_record_and_its_steps(cli):
    call = _turn()
    data = json.loads(cli("logs", "show", str(call.id), "--json").stdout)
    assert data["id"] == call.id and data["tool_result"] == {"event_id": "evt-42"}
    assert data["cost_source"] == "unpriced" and data["llm_cost_usd"] is None
    assert [s["name"] for s in data["steps"]] == ["ChatOpenAI", "create_event", "check_conflicts"]
    assert data["steps"][2]["parent_run_id"] == "tool1"


@pytest.mark.parametrize(
    "args,code,message",
    [
        (("show", "999"), 1, "Error: no logged agent call with id 999"),
        (("show", "abc"), 2, ""),
        (("list", "--status", "weird"), 1, "--status must be one of"),
        (("list", "-n", "0"), 1, "--limit must be between"),
        (("list", "--since", "yesterdayish"), 1, "as a time"),
        (("list", "--user", "bob", "--all-users"), 2, "either --user or --all-users"),
    ],
)
def test_bad_input(cli, snapshot, args, code, message):
    _turn()
    before = snapshot()
    result = cli("logs", *args)
    assert result.exit_code == code
    assert message in result.stderr
    if code == 1:
        assert result.stderr.count("\n") == 1
    assert snapshot() == before
