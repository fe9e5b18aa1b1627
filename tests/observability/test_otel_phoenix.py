"""End to end against Arize Phoenix: agentcal's traces as a real receiver stores and shows them.

Phoenix starts once per test session (about 20 s) from its own virtualenv (tests/phoenix_server.py;
.ci/run installs it). Outside CI, a machine without it skips this test and says how to get it;
in CI (CI=true) its absence fails the run.

One scenario test, so one xdist worker pays Phoenix's start-up: history sent with
`logs export --otlp`, then a live `chat -m` and the daemon's jobs, read back through Phoenix's
REST API. Phoenix understands the GenAI conventions: it files the spans as AGENT, LLM and TOOL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import subprocess_env
from tests.phoenix_server import phoenix_executable, phoenix_server, venv_dir, wait_for_spans

pytestmark = pytest.mark.sqlite_only  # the store is read the same way on PostgreSQL (test_otel)


@pytest.fixture(scope="session")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if phoenix_executable() is None:
        hint = "python -m tests.phoenix_server install (.ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(f"Arize Phoenix is required in CI and is not in {venv_dir()}: {hint}")
        pytest.skip(f"Arize Phoenix is not installed in {venv_dir()}: {hint}")
    with phoenix_server(tmp_path_factory.mktemp("phoenix")) as (url, startup):
        print(f"\nPhoenix started in {startup:.1f} s")
        yield url


def _agentcal(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "agentcal", *args], capture_output=True, text=True,
        env=subprocess_env(**env), timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "agentcal: warning" not in proc.stderr
    return proc


def _trace(spans: list[dict], run_id: str) -> list[dict]:
    return [s for s in spans if s["context"]["trace_id"] == uuid.UUID(run_id).hex]


def _tree(spans: list[dict]) -> set[tuple[str, str, str | None]]:
    names = {s["context"]["span_id"]: s["name"] for s in spans}
    return {(s["name"], s["span_kind"], names.get(s["parent_id"])) for s in spans}


def test_turns_jobs_and_history_reach_phoenix(phoenix, cli, agentcal_home, monkeypatch):
    from agentcal.agent.offline import OfflineChatModel
    from agentcal.agent.runner import ChatRunner
    from agentcal.observability.call_log import call_log_service

    project = f"agentcal-test-{uuid.uuid4().hex[:8]}"
    otel_env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": phoenix,
        "OTEL_RESOURCE_ATTRIBUTES": f"openinference.project.name={project}",
    }

    # 1. History: a turn recorded while export was off, sent afterwards.
    runner = ChatRunner(OfflineChatModel(timezone="Europe/Paris"), user_id="alice", persist=False)
    old = runner.run_turn("Add dentist tomorrow at 3pm").record
    for name, value in otel_env.items():
        monkeypatch.setenv(name, value)
    result = cli("logs", "export", "--otlp")
    assert result.exit_code == 0 and result.output.startswith("Sent 1 call(s) as 4 span(s)")
    spans = wait_for_spans(phoenix, project, lambda s: len(_trace(s, old.agent_run_id)) == 4)
    history = _trace(spans, old.agent_run_id)
    assert _tree(history) == {
        ("invoke_agent agentcal", "AGENT", None),
        ("chat agentcal-offline-1", "LLM", "invoke_agent agentcal"),
        ("execute_tool create_event", "TOOL", "invoke_agent agentcal"),
    }
    (root,) = [s for s in history if s["parent_id"] is None]
    assert root["attributes"]["gen_ai.operation.name"] == "invoke_agent"
    assert root["attributes"]["gen_ai.usage.input_tokens"] == old.llm_prompt_tokens
    assert root["attributes"]["gen_ai.conversation.id"] == old.session_id
    assert root["attributes"]["agentcal.run_id"] == old.agent_run_id
    assert root["attributes"]["agentcal.cost_usd"] == old.llm_cost_usd
    (tool,) = [s for s in history if s["span_kind"] == "TOOL"]
    assert tool["attributes"]["gen_ai.tool.name"] == "create_event"
    assert "gen_ai.tool.call.arguments" not in tool["attributes"]  # content not asked for

    # Sending it again changes nothing: the same ids.
    assert cli("logs", "export", "--otlp").exit_code == 0

    # 2. Live: a chat turn that learns a habit, then the daemon that applies it.
    _agentcal("chat", "-m", "I go to the gym every weekday at 6am", env=otel_env)
    _agentcal("daemon", "--once", env=otel_env)
    (live,) = [c for c in call_log_service.list_calls(user_id="alice") if c.id != old.id]

    def complete(found: list[dict]) -> bool:
        names = {s["name"] for s in found}
        return len(_trace(found, live.agent_run_id)) == 4 and {
            "job update_insight", "job preference_emitter", "job calendar_sync",
        } <= names  # fmt: skip

    spans = wait_for_spans(phoenix, project, complete)
    assert _tree(_trace(spans, live.agent_run_id)) == {
        ("invoke_agent agentcal", "AGENT", None),
        ("chat agentcal-offline-1", "LLM", "invoke_agent agentcal"),
        ("execute_tool record_user_insight", "TOOL", "invoke_agent agentcal"),
    }
    (job,) = [s for s in spans if s["name"] == "job update_insight"]
    assert job["attributes"]["agentcal.run_id"] == live.agent_run_id
    assert job["status_code"] == "OK" or job["status_code"] == "UNSET"
    assert len(_trace(spans, old.agent_run_id)) == 4  # the re-export added nothing
