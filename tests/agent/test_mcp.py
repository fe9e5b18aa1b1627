"""`agentcal mcp`, driven by the MCP SDK's own client as an outside agent would drive it.

Each test starts `python -m agentcal mcp` (stdio, or --http on a loopback port) in its own
data dir and talks to it with `mcp.Client`: the handshake, the tool list, every tool, bad
arguments, the confirmation rule, per-user isolation, resources, and the rows it records.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import anyio
import pytest

from tests.conftest import subprocess_env

pytest.importorskip("mcp")

TZ = ZoneInfo("Europe/Paris")
TOOLS = {
    "list_events", "search_events", "find_free_time", "create_event", "move_event",
    "cancel_events", "list_preferences", "record_insight", "stop_habit",
}  # fmt: skip


def local(days: int, hour: int, minute: int = 0) -> datetime:
    base = datetime.now(TZ).replace(hour=hour, minute=minute, second=0, microsecond=0)
    return base + timedelta(days=days)


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def run_client(
    scenario: Callable[[Any], Awaitable[Any]], *, user: str = "alice", **env: str
) -> Any:
    """Start `agentcal mcp --user USER` over stdio and run `scenario(client)` against it."""
    from mcp import Client, StdioServerParameters
    from mcp.types import Implementation

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentcal", "mcp", "--user", user],
        env=subprocess_env(**env),
    )

    async def main() -> Any:
        async with Client(
            params, mode="legacy", client_info=Implementation(name="pytest-agent", version="9.1")
        ) as client:
            return await scenario(client)

    return anyio.run(main)


def data(result: Any) -> Any:
    assert not result.is_error, result.content
    return result.structured_content


def error_text(result: Any) -> str:
    assert result.is_error
    return " ".join(c.text for c in result.content)


def calls():
    from agentcal.observability.call_log import call_log_service

    return list(reversed(call_log_service.list_calls(user_id=None, limit=100)))


def events(user: str = "alice", **kw):
    from agentcal.planning.events import calendar_events_service

    return calendar_events_service.list_events(user, **kw)


def without_records(dump: bytes) -> list[str]:
    """The store minus the recording tables (every tool call adds a row there by design)."""
    return [
        line
        for line in dump.decode().splitlines()
        if "agent_observability" not in line and "agent_steps" not in line
    ]


def test_handshake_tool_list_and_every_tool(agentcal_home):
    from agentcal.planning.preferences import calendar_preferences_service

    calendar_preferences_service.create_preference(
        user_id="alice", preference_type="gym", start_time="06:00", duration_minutes=60,
        day_of_week=[1, 3, 5],
    )  # fmt: skip
    start = local(1, 15)

    async def scenario(client: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"server": client.server_info}
        listed = (await client.list_tools()).tools
        out["tools"] = {t.name: t for t in listed}
        out["create"] = data(
            await client.call_tool(
                "create_event", {"title": "Dentist", "start": iso(start), "location": "Main St"}
            )
        )
        event_id = out["create"]["created"]["id"]
        out["list"] = data(await client.call_tool("list_events", {}))
        out["search"] = data(await client.call_tool("search_events", {"query": "dent"}))
        out["free"] = data(
            await client.call_tool(
                "find_free_time",
                {
                    "window_start": iso(local(1, 14)),
                    "window_end": iso(local(1, 18)),
                    "duration_minutes": 60,
                },
            )
        )
        out["move"] = data(
            await client.call_tool("move_event", {"event_id": event_id, "start": iso(local(2, 9))})
        )
        out["prefs"] = data(await client.call_tool("list_preferences", {}))
        out["insight"] = data(
            await client.call_tool(
                "record_insight",
                {
                    "insight_type": "habit",
                    "category": "health",
                    "key": "swim_time",
                    "value": {"time": "07:00", "duration_minutes": 45},
                    "confidence": 0.8,
                },
            )
        )
        out["cancel"] = data(await client.call_tool("cancel_events", {"event_ids": [event_id]}))
        out["stop"] = data(await client.call_tool("stop_habit", {"what": "gym"}))
        return out

    out = run_client(scenario)
    assert out["server"].name == "agentcal"
    assert set(out["tools"]) == TOOLS
    for tool in out["tools"].values():
        assert tool.description and tool.input_schema["type"] == "object"
    assert out["tools"]["cancel_events"].annotations.destructive_hint is True
    assert out["tools"]["list_events"].annotations.read_only_hint is True
    schema = out["tools"]["record_insight"].input_schema
    assert json.dumps(schema).count('"habit"') >= 1  # the closed vocabularies are enums

    created = out["create"]["created"]
    assert created["title"] == "Dentist" and created["start"] == start.isoformat(timespec="minutes")
    assert [e["title"] for e in out["list"]["events"]] == ["Dentist"]
    assert [e["id"] for e in out["search"]["events"]] == [created["id"]]
    assert out["free"]["free"] == [
        {"start": local(1, 14).isoformat(timespec="minutes"),
         "end": local(1, 15).isoformat(timespec="minutes")},
        {"start": local(1, 16).isoformat(timespec="minutes"),
         "end": local(1, 18).isoformat(timespec="minutes")},
    ]  # fmt: skip
    assert out["move"]["updated"]["start"] == local(2, 9).isoformat(timespec="minutes")
    assert out["move"]["updated"]["end"] == local(2, 10).isoformat(timespec="minutes")
    assert [p["preference_type"] for p in out["prefs"]["preferences"]] == ["gym"]
    assert out["cancel"]["cancelled"][0]["status"] == "cancelled"
    assert events() == []  # the store agrees
    assert out["tools"]["stop_habit"].annotations.destructive_hint is True
    assert out["stop"]["stopped"]["title"] == "Gym" and out["stop"]["cancelled_events"] == 0
    (gym,) = calendar_preferences_service.list_preferences("alice")
    assert gym.is_active is False

    # The insight went to the queue like the chat's, linked to the recorded call.
    from agentcal.queue.jobs import job_queue

    (job,) = [j for j in job_queue.list_jobs() if j.kind == "update_insight"]
    rows = calls()
    insight_row = next(r for r in rows if r.agent_tool == "record_insight")
    assert job.payload["source_request_id"] == insight_row.id
    assert job.payload["agent_run_id"] == insight_row.agent_run_id

    # One recorded row per call, like a chat turn, with no tokens.
    assert [r.agent_tool for r in rows] == [
        "create_event", "list_events", "search_events", "find_free_time", "move_event",
        "list_preferences", "record_insight", "cancel_events", "stop_habit",
    ]  # fmt: skip
    assert [r.agent_action for r in rows] == [
        "create",
        "read",
        "search",
        "search",
        "update",
        "read",
        "insight",
        "delete",
        "update",
    ]
    first = rows[0]
    assert first.status == "ok" and first.user_id == "alice"
    assert first.execution_time_ms is not None and first.execution_time_ms > 0
    assert first.llm_total_tokens is None and first.llm_cost_usd == 0.0
    assert first.agent_state["mcp"]["client"] == {"name": "pytest-agent", "version": "9.1"}
    assert first.agent_state["mcp"]["transport"] == "stdio"
    assert first.session_id == "mcp:pytest-agent"
    assert first.entities == [
        {"tool": "create_event", "args": {"title": "Dentist", "start": iso(start),
                                          "location": "Main St"}}
    ]  # fmt: skip
    assert first.tool_result[0]["status"] == "ok"
    assert first.tool_result[0]["result"]["created"]["id"] == created["id"]
    assert first.intent_category == "calendar_change"


def test_logs_and_costs_show_mcp_calls(agentcal_home, cli):
    async def scenario(client: Any) -> None:
        await client.call_tool("list_events", {})
        await client.call_tool("create_event", {"title": "x", "start": "not a time"})

    run_client(scenario)
    listed = cli("logs", "list", "--json")
    rows = json.loads(listed.output)
    assert [(r["agent_tool"], r["status"]) for r in rows] == [
        ("create_event", "error"), ("list_events", "ok"),
    ]  # fmt: skip
    # The table's message column says what the client asked, as a chat turn's shows its text.
    table = cli("logs", "list").output
    assert "MCP create_event" in table and "title=x" in table and "MCP list_events" in table
    shown = cli("logs", "show", str(rows[0]["id"]))
    assert "tool create_event" in shown.output and "pytest-agent" in shown.output
    report = json.loads(cli("costs", "--json").output)
    assert report["totals"]["calls"] == 2 and report["totals"]["errors"] == 1
    assert report["totals"]["unpriced_calls"] == 0  # no model: $0, not "unpriced"


def test_bad_arguments_are_clear_errors_that_write_nothing(agentcal_home, snapshot):
    from agentcal.planning.events import calendar_events_service

    bobs = calendar_events_service.create_event(
        user_id="bob", title="Bob's", start=local(1, 9), duration_minutes=30
    )
    mine = calendar_events_service.create_event(
        user_id="alice", title="Mine", start=local(1, 11), duration_minutes=30
    )
    before = without_records(snapshot())

    bad = [
        ("create_event", {"title": "x", "start": "tomorrow-ish"}, "is not an ISO date-time"),
        ("create_event", {"title": "x", "start": iso(local(1, 10)), "end": iso(local(1, 9))},
         "must end after it starts"),
        ("create_event", {"title": "", "start": iso(local(1, 10))}, "title"),
        ("create_event", {"start": iso(local(1, 10))}, "title"),
        ("create_event", {"title": "x", "start": iso(local(1, 10)), "duration_minutes": 0},
         "duration_minutes"),
        ("move_event", {"event_id": bobs.id, "start": iso(local(2, 9))}, f"no event with id {bobs.id}"),
        ("move_event", {"event_id": "one", "start": iso(local(2, 9))}, "event_id"),
        ("cancel_events", {"event_ids": [mine.id, 999999]}, "no event with id 999999"),
        # beyond PostgreSQL's 32-bit ids: not found, never a DataError
        ("move_event", {"event_id": 2**31, "start": iso(local(2, 9))}, "no event with id 2147483648"),
        ("cancel_events", {"event_ids": [mine.id, 2**40]}, f"no event with id {2**40}"),
        ("cancel_events", {"event_ids": []}, "event_ids"),
        ("find_free_time", {"window_start": iso(local(1, 18)), "window_end": iso(local(1, 9)),
                            "duration_minutes": 30}, "window_end must be after window_start"),
        ("record_insight", {"insight_type": "whim", "category": "health", "key": "k",
                            "value": 1, "confidence": 0.5}, "insight_type"),
        ("record_insight", {"insight_type": "habit", "category": "health", "key": "k",
                            "value": 1, "confidence": 7}, "confidence"),
        ("search_events", {"query": ""}, "query"),
        ("no_such_tool", {}, "no_such_tool"),
    ]  # fmt: skip

    async def scenario(client: Any) -> list[Any]:
        return [await client.call_tool(name, args) for name, args, _ in bad]

    results = run_client(scenario)
    for (name, _, expected), result in zip(bad, results, strict=True):
        text = error_text(result)
        assert expected in text, (name, text)
        assert "Traceback" not in text and "\n" not in text.strip()
    assert without_records(snapshot()) == before  # nothing written but the records
    rows = calls()
    assert [(r.agent_tool, r.status) for r in rows] == [(n, "error") for n, _, _ in bad]
    assert all(r.error and r.tool_result[0]["status"] == "error" for r in rows)


def test_bulk_and_past_cancels_need_confirmation(agentcal_home):
    from agentcal.planning.events import calendar_events_service

    a, b = (
        calendar_events_service.create_event(
            user_id="alice", title=t, start=local(1, h), duration_minutes=30
        )
        for t, h in (("A", 9), ("B", 10))
    )
    past = calendar_events_service.create_event(
        user_id="alice", title="Old", start=local(-1, 9), duration_minutes=30
    )

    async def scenario(client: Any) -> list[Any]:
        return [
            await client.call_tool("cancel_events", {"event_ids": [a.id, b.id]}),
            await client.call_tool("cancel_events", {"event_ids": [past.id]}),
            await client.call_tool("move_event", {"event_id": past.id, "start": iso(local(3, 9))}),
            await client.call_tool("cancel_events", {"event_ids": [a.id, b.id], "confirmed": True}),
        ]

    refused_bulk, refused_past, refused_move, done = run_client(scenario)
    assert "cancelling 2 events at once needs the user's confirmation" in error_text(refused_bulk)
    assert "nothing was changed" in error_text(refused_bulk)
    assert f"event {past.id} has already started" in error_text(refused_past)
    assert "moving it needs the user's confirmation" in error_text(refused_move)
    assert {e["id"] for e in data(done)["cancelled"]} == {a.id, b.id}
    assert [e.title for e in events(start=local(-2, 0))] == ["Old"]


def test_the_user_is_fixed_when_the_server_starts(agentcal_home):
    """Another user's events are out of reach; a server started for them uses their profile's
    time zone, as their chat does."""
    from agentcal.planning.events import calendar_events_service
    from agentcal.users.profiles import user_profiles_service

    user_profiles_service.add("bob", timezone="America/New_York")
    start = local(1, 9)
    calendar_events_service.create_event(
        user_id="bob", title="Bob's dentist", start=start, duration_minutes=30
    )

    async def look(client: Any) -> Any:
        return data(await client.call_tool("search_events", {"query": "dentist"}))

    assert run_client(look)["events"] == []
    (bobs,) = run_client(look, user="bob")["events"]
    assert bobs["title"] == "Bob's dentist"
    new_york = start.astimezone(ZoneInfo("America/New_York"))
    assert bobs["start"] == new_york.isoformat(timespec="minutes")
    assert {r.user_id for r in calls()} == {"alice", "bob"}


def test_resources_agenda_and_insights(agentcal_home):
    from agentcal.insights.user_insights import user_insights_service
    from agentcal.planning.events import calendar_events_service

    calendar_events_service.create_event(
        user_id="alice", title="Dentist", start=local(1, 15), duration_minutes=45
    )
    user_insights_service.create_insight(
        user_id="alice", insight_type="habit", category="health", key="gym_time",
        value={"time": "06:00"}, confidence=0.9,
    )  # fmt: skip

    async def scenario(client: Any) -> tuple[Any, Any, Any]:
        listed = (await client.list_resources()).resources
        agenda = await client.read_resource("agentcal://agenda/week")
        insights = await client.read_resource("agentcal://insights")
        return listed, agenda.contents[0].text, insights.contents[0].text

    listed, agenda, insights = run_client(scenario)
    assert {str(r.uri) for r in listed} == {"agentcal://agenda/week", "agentcal://insights"}
    assert f"{local(1, 15):%H:%M}–{local(1, 15, 45):%H:%M} Dentist" in agenda
    assert json.loads(insights)[0]["key"] == "gym_time"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streamable_http_on_loopback(agentcal_home):
    from mcp import Client
    from mcp.types import Implementation

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcal", "mcp", "--user", "alice", "--http", str(port)],
        env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline
                time.sleep(0.2)

        async def main() -> Any:
            async with Client(
                f"http://127.0.0.1:{port}/mcp",
                client_info=Implementation(name="http-agent", version="1"),
            ) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                return names, data(await client.call_tool("list_events", {}))

        names, listed = anyio.run(main)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert names == TOOLS and listed["events"] == []
    (row,) = calls()
    assert row.agent_tool == "list_events" and row.agent_state["mcp"]["transport"] == "http"
    assert row.agent_state["mcp"]["client"]["name"] == "http-agent"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--http", "0"], 2, "Invalid value for '--http'"),
        (["--http", "70000"], 2, "Invalid value for '--http'"),
        (["--user", "bad\nuser"], 1, "Error: "),
    ],
)
def test_bad_options_are_one_line(cli, args, code, message):
    from typer.testing import CliRunner

    from agentcal.cli.main import app

    result = CliRunner().invoke(app, ["mcp", *args])
    assert result.exit_code == code
    assert message in result.output and "Traceback" not in result.output


def test_a_busy_port_is_one_line(cli):
    from typer.testing import CliRunner

    from agentcal.cli.main import app

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(app, ["mcp", "--http", str(port)])
    assert result.exit_code == 1
    assert result.output == f"Error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_mcp_calls_are_traces_when_export_is_on(agentcal_home):
    from tests.otlp_receiver import OTLPReceiver

    pytest.importorskip("opentelemetry.sdk")
    with OTLPReceiver() as rx:

        async def scenario(client: Any) -> None:
            await client.call_tool("list_events", {})

        run_client(scenario, OTEL_EXPORTER_OTLP_ENDPOINT=rx.url)
        (row,) = calls()
        (root,) = [s for s in rx.spans if s.parent_id is None]
        (child,) = [s for s in rx.spans if s.parent_id == root.span_id]
    assert root.name == "tools/call list_events" and root.kind == 2  # SPAN_KIND_SERVER
    assert root.attributes["mcp.method.name"] == "tools/call"
    assert root.attributes["gen_ai.tool.name"] == "list_events"
    assert root.attributes["agentcal.mcp.client.name"] == "pytest-agent"
    assert root.attributes["network.transport"] == "pipe"
    assert root.trace_id == row.agent_run_id.replace("-", "")
    assert child.name == "execute_tool list_events"


def test_free_slots_are_the_gaps_long_enough():
    from agentcal.calendars.base import free_slots

    t = local(1, 8)
    h = timedelta(hours=1)
    busy = [(t + h, t + 2 * h), (t + 2 * h + timedelta(minutes=20), t + 4 * h)]
    # 8-9 free, 10:00-10:20 too short for 30 min, 12-14 free (clipped to the window)
    assert free_slots(busy, t, t + 6 * h, timedelta(minutes=30), 5) == [
        (t, t + h),
        (t + 4 * h, t + 6 * h),
    ]
    assert free_slots(busy, t, t + 6 * h, timedelta(minutes=30), 1) == [(t, t + h)]
    assert free_slots([(t - h, t + 7 * h)], t, t + 6 * h, timedelta(minutes=5), 5) == []
