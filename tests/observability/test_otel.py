"""OpenTelemetry export: off and free by default; on, every turn, LLM call, tool call and job
becomes spans (GenAI semantic conventions) over OTLP/HTTP, and a dead collector costs a warning.

Spans are checked as a collector receives them (tests/otlp_receiver.py decodes the protobuf the
SDK's exporter sends). tests/observability/test_otel_phoenix.py does the same against Arize Phoenix.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import subprocess_env
from tests.openai_loopback import MODEL, LoopbackOpenAI, call, text
from tests.otlp_receiver import OTLPReceiver

pytest.importorskip("opentelemetry.sdk", reason="pip install -e '.[test]' installs it")

SECRET_HEADER = "authorization=Bearer otlp-SECRET-token-4711"


@pytest.fixture
def fresh_otel(monkeypatch):
    """No pipeline or warning left over from another test; cleaned up after this one."""
    import agentcal.otel as otel
    from agentcal.otel.pipeline import install_live

    monkeypatch.setattr(otel.env, "_warned", set())
    install_live(None)
    yield otel
    from agentcal.otel import pipeline

    if pipeline._live is not None:
        pipeline._live.close(timeout=1)
    install_live(None)


@pytest.fixture
def receiver(monkeypatch, fresh_otel):
    with OTLPReceiver() as rx:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rx.url)
        yield rx


def offline_runner(user: str = "alice"):
    from agentcal.agent.offline import OfflineChatModel
    from agentcal.agent.runner import ChatRunner

    return ChatRunner(OfflineChatModel(timezone="Europe/Paris"), user_id=user, persist=False)


def turn_spans(rx: OTLPReceiver, run_id: str):
    from agentcal.otel import flush

    flush()
    trace_id = uuid.UUID(run_id).hex
    return [s for s in rx.spans if s.trace_id == trace_id]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- off: nothing loaded ----------------------------------------------------------------------

OFF_PROBE = """
import json, sys
from typer.testing import CliRunner

importers = []  # the module that first asked for each opentelemetry module


class Spy:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "opentelemetry":
            frame = sys._getframe(1)
            while frame and frame.f_globals.get("__name__", "").split(".")[0] in (
                "importlib", "opentelemetry", "_frozen_importlib", "_frozen_importlib_external"
            ):
                frame = frame.f_back
            importers.append(frame.f_globals.get("__name__") if frame else "?")
        return None


sys.meta_path.insert(0, Spy())
from agentcal.cli.main import app

def run(*args):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output)

body = {"insight_type": "habit", "category": "health", "key": "gym_time", "confidence": 0.9,
        "value": {"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5]}}
run("insights", "update", "--json", json.dumps(body))
run("daemon", "--once")
for args in (["logs", "list"], ["costs"], ["events", "list"], ["insights", "list"]):
    run(*args)
without_langchain = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry")
run("chat", "-m", "Add dentist tomorrow at 3pm")
run("daemon", "--once")
print(json.dumps({
    "without_langchain": without_langchain,
    "importers": sorted(set(importers)),
    "agentcal_otel": sorted(m for m in sys.modules if m.startswith("agentcal.otel.")),
}))
"""


def test_opentelemetry_is_not_imported_when_no_endpoint_is_set(agentcal_home):
    """With export off agentcal loads no OpenTelemetry module: not on the commands that don't
    use LangChain (a job queued from the shell, the daemon running it and the emitter, the
    reports), and on a chat turn only LangSmith's own optional import (langsmith.client
    imports opentelemetry.sdk.trace whenever it is installed: LangChain's, not ours)."""
    proc = subprocess.run(
        [sys.executable, "-c", OFF_PROBE], capture_output=True, text=True,
        env=subprocess_env(), timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["without_langchain"] == []
    assert seen["agentcal_otel"] == ["agentcal.otel.env"]  # the OTEL_* variables: stdlib only
    assert all(name.startswith("langsmith.") for name in seen["importers"]), seen["importers"]
    assert "agentcal: warning" not in proc.stderr


# -- on: what a collector receives ------------------------------------------------------------


def test_a_turn_is_one_trace_shaped_like_logs_show(receiver):
    from agentcal.observability.call_log import call_log_service

    turn = offline_runner().run_turn("Add dentist tomorrow at 3pm")
    assert turn.ok
    row = turn.record
    spans = turn_spans(receiver, row.agent_run_id)
    record = call_log_service.get_record(row.id, "alice")

    (root,) = [s for s in spans if s.parent_id is None]
    assert root.name == "invoke_agent agentcal"
    assert root.span_id == f"{uuid.UUID(row.agent_run_id).int & (2**64 - 1):016x}"
    a = root.attributes
    assert a["gen_ai.operation.name"] == "invoke_agent"
    assert a["gen_ai.agent.name"] == "agentcal"
    assert a["gen_ai.conversation.id"] == row.session_id
    assert a["gen_ai.request.model"] == a["gen_ai.response.model"] == row.llm_model
    assert a["gen_ai.usage.input_tokens"] == row.llm_prompt_tokens
    assert a["gen_ai.usage.output_tokens"] == row.llm_completion_tokens
    assert a["agentcal.run_id"] == row.agent_run_id and a["agentcal.call_id"] == row.id
    assert a["agentcal.cost_usd"] == row.llm_cost_usd and a["agentcal.action"] == "create"
    assert root.resource["service.name"] == "agentcal"

    # The same tree as `logs show`: one span per step, under the same parent.
    expected = []
    for node in record.tree:
        step = node.step
        if step.step_type == "llm":
            name = f"chat {step.name or step.llm_model}"
        else:
            name = f"execute_tool {step.name}"
        expected.append((name, root.span_id))
    children = [(s.name, s.parent_id) for s in spans if s.parent_id is not None]
    assert sorted(children) == sorted(expected)
    assert len(spans) == len(record.steps) + 1

    (tool,) = [s for s in spans if s.name == "execute_tool create_event"]
    assert tool.attributes["gen_ai.tool.name"] == "create_event"
    assert tool.attributes["gen_ai.operation.name"] == "execute_tool"
    llm = [s for s in spans if s.name.startswith("chat ")]
    assert sum(s.attributes["gen_ai.usage.input_tokens"] for s in llm) == row.llm_prompt_tokens
    assert all(s.attributes["gen_ai.operation.name"] == "chat" for s in llm)


def test_message_contents_only_when_asked(receiver, monkeypatch):
    quiet = offline_runner().run_turn("Add dentist tomorrow at 3pm")
    spans = turn_spans(receiver, quiet.record.agent_run_id)
    everything = json.dumps([s.attributes for s in spans])
    assert "dentist" not in everything.lower()
    assert "gen_ai.input.messages" not in everything and "gen_ai.tool.call" not in everything

    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    from agentcal.otel.pipeline import install_live

    install_live(None)  # the flag is read when the pipeline is built
    loud = offline_runner().run_turn("Add dentist tomorrow at 3pm")
    spans = turn_spans(receiver, loud.record.agent_run_id)
    (root,) = [s for s in spans if s.parent_id is None]
    asked = json.loads(root.attributes["gen_ai.input.messages"])
    assert asked == [
        {"role": "user", "parts": [{"type": "text", "content": "Add dentist tomorrow at 3pm"}]}
    ]
    answered = json.loads(root.attributes["gen_ai.output.messages"])
    assert answered[0]["parts"][0]["content"] == loud.answer
    (tool,) = [s for s in spans if s.name == "execute_tool create_event"]
    assert json.loads(tool.attributes["gen_ai.tool.call.arguments"])["title"] == "Dentist"
    assert json.loads(tool.attributes["gen_ai.tool.call.result"])["created"]["title"] == "Dentist"


def test_real_client_turn_with_tool_error_and_model_names(receiver, monkeypatch):
    """ChatOpenAI against the loopback server: provider, request vs response model, cached
    tokens, and a tool error as an error span inside an ok turn."""
    from agentcal.agent.model import make_chat_model
    from agentcal.agent.runner import ChatRunner
    from agentcal.settings import get_settings, reset_settings

    with LoopbackOpenAI() as llm:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789")
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        reset_settings()
        runner = ChatRunner(make_chat_model(get_settings()), user_id="alice", persist=False)
        llm.add(
            call("update_event", {"event_id": 424242, "title": "x"}, cached_tokens=64),
            text("That event does not exist."),
        )
        turn = runner.run_turn("Rename event 424242")
    assert turn.ok
    spans = turn_spans(receiver, turn.record.agent_run_id)
    (root,) = [s for s in spans if s.parent_id is None]
    assert root.status_code == 0  # the turn itself went fine
    assert root.attributes["gen_ai.provider.name"] == "openai"
    llm_spans = [s for s in spans if s.name == "chat gpt-4o-mini"]
    assert len(llm_spans) == 2
    assert {s.attributes["gen_ai.response.model"] for s in llm_spans} == {MODEL}
    assert llm_spans[0].kind == 3  # SPAN_KIND_CLIENT
    assert max(s.attributes.get("gen_ai.usage.cache_read.input_tokens", 0) for s in llm_spans) == 64
    (tool,) = [s for s in spans if s.name == "execute_tool update_event"]
    assert tool.status_code == 2  # STATUS_CODE_ERROR
    assert "424242" in tool.status_message
    assert tool.attributes["error.type"]


def test_failed_turn_is_an_error_span(receiver, monkeypatch):
    from agentcal.agent.model import make_chat_model
    from agentcal.agent.runner import ChatRunner
    from agentcal.settings import get_settings, reset_settings
    from tests.openai_loopback import error

    with LoopbackOpenAI([error(500)]) as llm:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789")
        monkeypatch.setenv("OPENAI_BASE_URL", llm.base_url)
        monkeypatch.setenv("AGENTCAL_LLM_MAX_RETRIES", "0")
        reset_settings()
        runner = ChatRunner(make_chat_model(get_settings()), user_id="alice", persist=False)
        turn = runner.run_turn("Add gym tomorrow at 6am")
    assert turn.status == "error"
    spans = turn_spans(receiver, turn.record.agent_run_id)
    (root,) = [s for s in spans if s.parent_id is None]
    assert root.status_code == 2 and root.status_message == turn.error
    assert root.attributes["error.type"] == "agentcal.turn_failed"
    (llm_span,) = [s for s in spans if s.name.startswith("chat")]
    assert llm_span.status_code == 2


def test_jobs_are_spans_linked_to_the_turn_that_queued_them(receiver):
    from agentcal.otel import flush
    from agentcal.workers.daemon import run_once

    turn = offline_runner().run_turn("I go to the gym every weekday at 6am")
    assert turn.ok and turn.record.agent_action == "insight"
    run_once()
    flush()
    (job,) = receiver.by_name("job update_insight")
    assert job.parent_id is None and job.kind == 5  # SPAN_KIND_CONSUMER
    run_uuid = uuid.UUID(turn.record.agent_run_id)
    assert job.links == [(run_uuid.hex, f"{run_uuid.int & (2**64 - 1):016x}")]
    assert job.attributes["agentcal.job.kind"] == "update_insight"
    assert job.attributes["agentcal.user_id"] == "alice" and job.status_code == 0
    assert receiver.by_name("job preference_emitter")  # the emitter pass
    assert receiver.by_name("job calendar_sync")  # the events it pushed


def test_a_failed_job_is_an_error_span(receiver):
    from agentcal.otel import flush
    from agentcal.queue.jobs import job_queue
    from agentcal.workers.runner import JobWorker

    job_queue.enqueue("update_insight", {"user_id": "alice"}, user_id="alice")
    JobWorker(worker_id="test").run_once()
    flush()
    (job,) = receiver.by_name("job update_insight")
    assert job.status_code == 2 and "insight" in job.status_message
    assert job.attributes["agentcal.status"] == "error"


def test_standard_headers_and_service_name_are_used(receiver, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", SECRET_HEADER)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "my-calendar")
    turn = offline_runner().run_turn("hello")
    (root,) = [s for s in turn_spans(receiver, turn.record.agent_run_id) if s.parent_id is None]
    assert root.resource["service.name"] == "my-calendar"
    assert receiver.requests[-1]["authorization"] == "Bearer otlp-SECRET-token-4711"


# -- a collector that is down, slow or failing costs one line -----------------------------------


def _chat(*args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "agentcal", "chat", *args],
        capture_output=True, text=True, env=subprocess_env(**env), timeout=120,
    )  # fmt: skip
    return proc, time.perf_counter() - t0


def test_dead_collector_is_one_warning_and_no_secret(agentcal_home, fresh_otel):
    port = free_port()  # nothing listens there: connection refused
    proc, _ = _chat(
        "-m", "Add gym tomorrow at 6am",
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://tracer:hunter2@127.0.0.1:{port}",
        OTEL_EXPORTER_OTLP_HEADERS=SECRET_HEADER,
    )  # fmt: skip
    assert proc.returncode == 0 and "Created" in proc.stdout
    warnings = [line for line in proc.stderr.splitlines() if line.strip()]
    assert warnings == [
        f"agentcal: warning: cannot send traces to http://127.0.0.1:{port}/v1/traces "
        "(connection refused); agentcal goes on without them"
    ]
    for secret in ("hunter2", "otlp-SECRET", "tracer"):
        assert secret not in proc.stderr + proc.stdout


def test_a_token_in_the_endpoint_query_is_not_printed(monkeypatch, fresh_otel, capfd):
    port = free_port()
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{port}/v1/traces?key=hunter2"
    )
    runner = offline_runner()
    assert runner.run_turn("hello").ok
    fresh_otel.flush()
    assert runner.run_turn("hello").ok
    fresh_otel.flush()
    err = capfd.readouterr().err
    assert err == (
        f"agentcal: warning: cannot send traces to http://127.0.0.1:{port}/v1/traces "
        "(connection refused); agentcal goes on without them\n"
    )


def test_warnings_go_through_agentcal_masking(monkeypatch, fresh_otel, capfd):
    """Belt and braces: even an endpoint carrying the API key in its path is printed masked."""
    port = free_port()
    token = "ingest-key-0123456789"
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{port}/{token}/v1/traces"
    )
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", f"x-api-key={token}")
    assert offline_runner().run_turn("hello").ok
    fresh_otel.flush()
    err = capfd.readouterr().err
    assert token not in err and f"127.0.0.1:{port}/****/v1/traces" in err


def test_failing_collector_is_not_retried_and_warned_once(receiver, capfd):
    """The SDK alone retries a 503 with back-off for up to 10 s; agentcal drops the batch at
    once, warns once, and does not call again while the breaker is open."""
    from agentcal.otel import flush

    receiver.status = 503
    runner = offline_runner()
    first = runner.run_turn("hello")
    flush()
    second = runner.run_turn("Add gym tomorrow at 6am")
    flush()
    assert first.ok and second.ok
    assert len(receiver.requests) == 1
    err = capfd.readouterr().err
    assert err.count("agentcal: warning") == 1 and "HTTP 503" in err


def test_hung_collector_delays_exit_by_at_most_the_flush_budget(agentcal_home, fresh_otel):
    from agentcal.otel.pipeline import EXIT_FLUSH_SECONDS

    with OTLPReceiver(hang=True) as rx:
        baseline, t_off = _chat("-m", "hello")
        hung, t_on = _chat(
            "-m", "hello", OTEL_EXPORTER_OTLP_ENDPOINT=rx.url, OTEL_EXPORTER_OTLP_TIMEOUT="60"
        )
        assert len(rx.requests) == 1  # it was sent, and never answered
    assert baseline.returncode == hung.returncode == 0 and hung.stdout == baseline.stdout
    # Left to the SDK, exit would wait for the export timeout (60 s here); agentcal waits
    # EXIT_FLUSH_SECONDS. The margin absorbs a loaded machine.
    assert t_on - t_off < EXIT_FLUSH_SECONDS + 15
    assert "did not answer" in hung.stderr and hung.stderr.count("agentcal: warning") == 1


def test_grpc_protocol_is_refused_with_one_warning(monkeypatch, fresh_otel, capfd):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    runner = offline_runner()
    assert runner.run_turn("hello").ok and runner.run_turn("hello").ok
    err = capfd.readouterr().err
    assert err.count("agentcal: warning") == 1 and "http/protobuf" in err


MISSING_PROBE = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Block())
sys.argv = ["agentcal"] + sys.argv[1:]
from agentcal.cli.main import main
main()
"""


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["chat", "-m", "hello"], 0, "agentcal: warning: OTEL_EXPORTER_OTLP_ENDPOINT is set but "
         "OpenTelemetry is not installed (pip install 'agentcal[otel]'); traces are not exported"),
        (["logs", "export", "--otlp"], 1,
         "Error: OpenTelemetry is not installed: pip install 'agentcal[otel]'"),
    ],
)  # fmt: skip
def test_without_the_otel_extra(agentcal_home, args, code, message):
    proc = subprocess.run(
        [sys.executable, "-c", MISSING_PROBE, *args], capture_output=True, text=True,
        env=subprocess_env(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318"), timeout=120,
    )  # fmt: skip
    assert proc.returncode == code
    assert [line for line in proc.stderr.splitlines() if line] == [message]


# -- logs export --otlp ------------------------------------------------------------------------


def _record(user: str, message: str, days_ago: float = 0, **fields):
    from datetime import timedelta

    from agentcal.models import utcnow
    from agentcal.observability.calls import agent_observability_service

    return agent_observability_service.log_agent_call(
        user_id=user, user_message=message, agent_action="read", agent_run_id=str(uuid.uuid4()),
        llm_model="gpt-4o-mini", llm_prompt_tokens=100, llm_completion_tokens=10,
        execution_time_ms=120.0, created_at=utcnow() - timedelta(days=days_ago),
        steps=[{"run_id": str(uuid.uuid4()), "step_type": "llm", "name": "gpt-4o-mini",
                "llm_model": "gpt-4o-mini", "prompt_tokens": 100, "completion_tokens": 10,
                "duration_ms": 100.0, "started_at": utcnow() - timedelta(days=days_ago)}],
        **fields,
    )  # fmt: skip


def test_logs_export_sends_recorded_history(cli, agentcal_home, fresh_otel, monkeypatch):
    old = _record("alice", "old one", days_ago=20)
    recent = [_record("alice", f"recent {i}", days_ago=i) for i in range(3)]
    _record("bob", "not alice's")
    with OTLPReceiver() as rx:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rx.url)
        result = cli("logs", "export", "--otlp", "--since", "7d")
        assert result.exit_code == 0, result.output
        assert result.output == f"Sent 3 call(s) as 6 span(s) to {rx.url}/v1/traces.\n"
        roots = [s for s in rx.spans if s.parent_id is None]
        assert sorted(s.trace_id for s in roots) == sorted(
            uuid.UUID(r.agent_run_id).hex for r in recent
        )
        assert all(s.attributes["agentcal.user_id"] == "alice" for s in roots)
        assert uuid.UUID(old.agent_run_id).hex not in {s.trace_id for s in rx.spans}

        sent = {(s.trace_id, s.span_id) for s in rx.spans}
        assert cli("logs", "export", "--otlp", "--all-users").exit_code == 0
        again = {(s.trace_id, s.span_id) for s in rx.spans[len(sent) :]}
        assert sent < again and len(again) == 10  # the same ids again, plus old and bob's


def test_logs_export_reports_a_dead_collector(cli, agentcal_home, fresh_otel, monkeypatch):
    _record("alice", "one")
    port = free_port()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", SECRET_HEADER)
    from typer.testing import CliRunner

    from agentcal.cli.main import app

    result = CliRunner().invoke(app, ["logs", "export", "--otlp"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: could not send traces to http://127.0.0.1:{port}/v1/traces "
        "(connection refused); 0 of the calls were sent before that\n"
    )


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["logs", "export"], {}, 2, "choose where to send them: --otlp"),
        (["logs", "export", "--otlp"], {}, 1, "set OTEL_EXPORTER_OTLP_ENDPOINT"),
        (["logs", "export", "--otlp", "--since", "soon"], {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"},
         1, "Error: "),
        (["logs", "export", "--otlp"], {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x",
                                        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, 1, "http/protobuf"),
    ],
)  # fmt: skip
def test_logs_export_bad_input_is_one_line(cli, monkeypatch, fresh_otel, args, env, code, message):
    from typer.testing import CliRunner

    from agentcal.cli.main import app

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == code
    assert message in result.output and "Traceback" not in result.output
