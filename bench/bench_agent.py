"""Agent benchmarks: overhead per turn, recording overhead, time to the chat prompt.

    /work/venv/bin/python bench/bench_agent.py [--turns N] [--runs N]

* Agent overhead per turn: a turn through ChatRunner (graph, tools, recorder, the
  observability row) minus the time spent inside the model, with an instant model (the
  offline model; its own time is measured by the recorder's LLM steps and subtracted).
  Target: <= 50 ms beyond model time.
* Recording overhead: the same turns with and without the recorder callback + the
  agent_observability row and its steps.
* Time to first prompt of `agentcal chat` in a pseudo-terminal, against `python -c pass`.
  Target: <= 300 ms.
* OpenTelemetry export: the same turns with export off and on (to an OTLP/HTTP sink in another
  process), alternating turn by turn. Target: export on adds <= 5 ms per turn (median).
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

from _machine import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGES = ["hello", "Add gym tomorrow at 6am", "what's on my calendar tomorrow?"]


def _setup_home() -> None:
    home = tempfile.mkdtemp(prefix="agentcal-bench-")
    os.environ["AGENTCAL_HOME"] = home
    os.environ["AGENTCAL_USER"] = "bench"
    os.environ["AGENTCAL_TIMEZONE"] = "Europe/Paris"
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        os.environ.pop(name, None)


def bench_turns(turns: int) -> dict[str, dict[str, float]]:
    from agentcal.agent.context import AgentContext
    from agentcal.agent.offline import OfflineChatModel
    from agentcal.agent.runner import ChatRunner
    from agentcal.services.agent_observability import agent_observability_service
    from agentcal.settings import get_settings

    settings = get_settings()
    runner = ChatRunner(
        OfflineChatModel(timezone=settings.timezone), user_id="bench", persist=False
    )
    for message in MESSAGES:  # warm up imports, caches, the store
        runner.run_turn(message)

    results: dict[str, dict[str, float]] = {}
    for message in MESSAGES:
        totals, overheads = [], []
        for _ in range(turns):
            runner.new_session()  # the same history length every time
            t0 = time.perf_counter()
            turn = runner.run_turn(message)
            total = (time.perf_counter() - t0) * 1000
            steps = agent_observability_service.get_steps(turn.record.id)
            model_ms = sum(s.duration_ms or 0 for s in steps if s.step_type == "llm")
            totals.append(total)
            overheads.append(total - model_ms)
        # The same graph run, without recorder, reserved row or log_agent_call.
        bare = []
        for _ in range(turns):
            runner.new_session()
            config = {
                "recursion_limit": settings.recursion_limit,
                "configurable": {"thread_id": runner.thread_id},
            }
            ctx = AgentContext(
                user_id="bench", timezone=settings.timezone, agent_run_id=str(uuid4())
            )
            t0 = time.perf_counter()
            runner.agent.invoke({"messages": [("user", message)]}, config, context=ctx)
            bare.append((time.perf_counter() - t0) * 1000)
        results[message] = {
            "turn_ms": statistics.median(totals),
            "overhead_ms": statistics.median(overheads),
            "bare_graph_ms": statistics.median(bare),
            "recording_ms": statistics.median(totals) - statistics.median(bare),
        }
    return results


SINK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def bench_otel(turns: int) -> dict[str, float]:
    """Median turn time with export off and on, alternating; and the export call alone."""
    from agentcal import otel
    from agentcal.agent.offline import OfflineChatModel
    from agentcal.agent.runner import ChatRunner
    from agentcal.services.agent_observability import agent_observability_service
    from agentcal.settings import get_settings

    sink = subprocess.Popen([sys.executable, "-c", SINK], stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    url = f"http://127.0.0.1:{sink.stdout.readline().strip()}"
    try:
        runner = ChatRunner(
            OfflineChatModel(timezone=get_settings().timezone), user_id="bench", persist=False
        )
        os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = url
        t0 = time.perf_counter()
        from agentcal.otel.pipeline import live_pipeline  # imports the SDK and the exporter

        live_pipeline()
        start_ms = (time.perf_counter() - t0) * 1000
        for message in MESSAGES:
            runner.run_turn(message)
        times: dict[bool, list[float]] = {False: [], True: []}
        cpu: dict[bool, list[float]] = {False: [], True: []}  # all threads: export's too
        export_ms: list[float] = []
        for i in range(turns * len(MESSAGES)):
            message = MESSAGES[i % len(MESSAGES)]
            for on in (i % 2 == 0, i % 2 != 0):  # alternate which goes first
                if on:
                    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = url
                else:
                    os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
                runner.new_session()
                c0, t0 = time.process_time(), time.perf_counter()
                turn = runner.run_turn(message)
                times[on].append((time.perf_counter() - t0) * 1000)
                cpu[on].append((time.process_time() - c0) * 1000)
            steps = agent_observability_service.get_steps(turn.record.id)
            os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = url
            t0 = time.perf_counter()
            otel.export_call(turn.record, steps)
            export_ms.append((time.perf_counter() - t0) * 1000)
        otel.flush()
    finally:
        os.environ.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        sink.terminate()
        sink.wait()
    off, on = statistics.median(times[False]), statistics.median(times[True])
    cpu_off, cpu_on = statistics.median(cpu[False]), statistics.median(cpu[True])
    return {
        "off_ms": off, "on_ms": on, "added_ms": on - off,
        "cpu_off_ms": cpu_off, "cpu_on_ms": cpu_on, "cpu_added_ms": cpu_on - cpu_off,
        "export_call_ms": statistics.median(export_ms), "pipeline_start_ms": start_ms,
    }  # fmt: skip


def _time_to_prompt() -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    master, slave = pty.openpty()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentcal", "chat"], stdin=slave, stdout=slave, stderr=slave,
        env=env, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    seen = b""
    elapsed = float("nan")
    deadline = t0 + 30
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.01)
        if ready:
            seen += os.read(master, 4096)
            if b"you> " in seen:
                elapsed = (time.perf_counter() - t0) * 1000
                break
    os.write(master, b"/quit\n")
    try:
        proc.wait(timeout=30)
    finally:
        os.close(master)
    return elapsed


def _run(*args: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, env=env, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000


def bench_prompt(runs: int) -> dict[str, float]:
    _time_to_prompt()  # warm the OS file cache and .pyc files
    prompt = statistics.median(_time_to_prompt() for _ in range(runs))
    baseline = statistics.median(_run("-c", "pass") for _ in range(runs))
    version = statistics.median(_run("-m", "agentcal", "--version") for _ in range(runs))
    return {"prompt_ms": prompt, "python_pass_ms": baseline, "version_ms": version}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=15, help="turns per message kind")
    parser.add_argument("--runs", type=int, default=7, help="chat start-ups to time")
    parser.add_argument(
        "--otel-turns", type=int, default=40, help="turns per kind, export off and on"
    )
    args = parser.parse_args()
    _setup_home()

    turns = bench_turns(args.turns)
    prompt = bench_prompt(args.runs)
    exported = bench_otel(args.otel_turns)
    lines = [
        f"Machine: {machine()}. Median of {args.turns} turns / {args.runs} start-ups.",
        "",
        "| turn (offline model) | turn ms | model ms | agent overhead ms (target <= 50) | bare graph ms | runner + recording ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for message, r in turns.items():
        model_ms = r["turn_ms"] - r["overhead_ms"]
        lines.append(
            f"| {message!r} | {r['turn_ms']:.1f} | {model_ms:.1f} | {r['overhead_ms']:.1f} | "
            f"{r['bare_graph_ms']:.1f} | {r['recording_ms']:.1f} |"
        )
    ratio = prompt["prompt_ms"] / prompt["python_pass_ms"]
    lines += [
        "",
        "| start-up | ms | ratio to `python -c pass` |",
        "|---|---:|---:|",
        f"| `python -c pass` (baseline) | {prompt['python_pass_ms']:.0f} | 1.0 |",
        f"| `agentcal --version` (the CLI's floor) | {prompt['version_ms']:.0f} | "
        f"{prompt['version_ms'] / prompt['python_pass_ms']:.1f} |",
        f"| `agentcal chat` to first prompt (target <= 300) | {prompt['prompt_ms']:.0f} | {ratio:.1f} |",
        "",
        "| OpenTelemetry export (offline model, three turn kinds, alternating) | wall ms | CPU ms (all threads) |",
        "|---|---:|---:|",
        f"| turn, export off (baseline) | {exported['off_ms']:.1f} | {exported['cpu_off_ms']:.1f} |",
        f"| turn, export on (OTLP/HTTP to a loopback sink) | {exported['on_ms']:.1f} | {exported['cpu_on_ms']:.1f} |",
        f"| added per turn (target <= 5) | {exported['added_ms']:+.2f} | {exported['cpu_added_ms']:+.2f} |",
        f"| `otel.export_call` alone (spans built and queued) | {exported['export_call_ms']:.2f} | |",
        f"| pipeline start (SDK import and set-up), once per process, first turn | "
        f"{exported['pipeline_start_ms']:.0f} | |",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
