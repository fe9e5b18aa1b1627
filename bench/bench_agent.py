"""Agent benchmarks: overhead per turn, recording overhead, time to the chat prompt.

    /work/venv/bin/python bench/bench_agent.py [--turns N] [--runs N] [--memory-turns N]
    /work/venv/bin/python bench/bench_agent.py --only memory     # just the 300-turn session

* Agent overhead per turn: a turn through ChatRunner (graph, tools, recorder, the
  observability row) minus the time spent inside the model, with an instant model (the
  offline model; its own time is measured by the recorder's LLM steps and subtracted).
  Target: <= 50 ms beyond model time.
* Recording overhead: the same turns with and without the recorder callback + the
  agent_observability row and its steps.
* Bounded memory (issue 13): a 300-turn session (one thread, the SQLite checkpointer) through
  the real ChatOpenAI client against the loopback OpenAI server (tests/openai_loopback.py) and
  its scripted model (tests/scripted_model.py, which summarises when asked). Tokens sent per
  turn with the default AGENTCAL_HISTORY_TOKENS against the same session with an unbounded
  budget (the behaviour before), the agent overhead per turn (turn time minus the model
  calls' time) in both, and whether the fact of turn 5 is still known after the last turn.
  Targets: the prompt of turn 300 within 1.2x that of turn 20; overhead <= 50 ms.
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


def seed_profile(user: str = "bench") -> None:
    """What a user of some weeks has: six calendar blocks, working hours and a dozen insights,
    so that the per-turn system prompt has its full weight."""
    from agentcal.insights.user_insights import user_insights_service as insights
    from agentcal.planning.preferences import calendar_preferences_service as prefs

    weekdays = [1, 2, 3, 4, 5]
    for kind, start, minutes, days, flexible in [
        ("gym", "06:00", 60, weekdays, False), ("sleep", "23:00", 480, None, False),
        ("focus", "09:30", 120, weekdays, True), ("meal", "12:30", 45, None, True),
        ("break", "16:00", 15, weekdays, True), ("meditation", "07:15", 20, [6, 7], False),
    ]:  # fmt: skip
        prefs.create_preference(
            user_id=user, preference_type=kind, start_time=start, duration_minutes=minutes,
            day_of_week=days, is_flexible=flexible,
        )  # fmt: skip
    insights.upsert_insight(
        user_id=user, insight_type="constraint", category="work", key="working_hours",
        value={"time": "09:00", "end": "18:00", "days": weekdays}, confidence=1.0,
        source="explicit",
    )  # fmt: skip
    for n in range(12):
        insights.upsert_insight(
            user_id=user, insight_type="preference", category="personal", key=f"fact_{n}",
            value={"note": f"likes thing number {n} in the afternoon"}, confidence=0.6 + n / 40,
        )  # fmt: skip


def bench_turns(turns: int) -> dict[str, dict[str, float]]:
    from agentcal.agent.context import AgentContext
    from agentcal.agent.offline import OfflineChatModel
    from agentcal.agent.runner import ChatRunner
    from agentcal.observability.calls import agent_observability_service
    from agentcal.settings import get_settings

    settings = get_settings()
    runner = ChatRunner(
        OfflineChatModel(timezone=settings.timezone), user_id="bench", persist=False
    )
    for message in MESSAGES:  # warm up imports, caches, the store
        runner.run_turn(message)

    results: dict[str, dict[str, float]] = {}
    for message in MESSAGES:
        totals, overheads, cpu = [], [], []
        for _ in range(turns):
            runner.new_session()  # the same history length every time
            c0, t0 = time.process_time(), time.perf_counter()
            turn = runner.run_turn(message)
            total = (time.perf_counter() - t0) * 1000
            cpu.append((time.process_time() - c0) * 1000)  # all threads; the model's is ~0
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
        built = []
        for _ in range(turns):
            t0 = time.perf_counter()
            runner.system_prompt()
            built.append((time.perf_counter() - t0) * 1000)
        results[message] = {
            "system_prompt_ms": statistics.median(built),
            "turn_ms": statistics.median(totals),
            "cpu_ms": statistics.median(cpu),
            "overhead_ms": statistics.median(overheads),
            "bare_graph_ms": statistics.median(bare),
            "recording_ms": statistics.median(totals) - statistics.median(bare),
        }
    return results


MEMORY_POINTS = (20, 100, 200, 300)


def bench_memory(turns: int, history_tokens: int | None) -> dict[str, object]:
    """One session of `turns` turns, then "What is my sister's name?" (told at turn 5).

    Per turn: the tokens of its first agent request (what the model is sent to answer: the
    system prompt, tools and the history; tests/scripted_model.prompt_tokens, ~4 characters a
    token, as the server reports them), the tokens of all its requests (summaries included),
    the turn's wall time, the model calls' time (the recorder's LLM steps, which include the
    summary calls) and agentcal's CPU time (this process, all threads, less what the loopback
    server's handlers used: far less disturbed by other processes than wall time)."""
    from agentcal.agent.model import make_chat_model
    from agentcal.agent.runner import ChatRunner
    from agentcal.observability.calls import agent_observability_service
    from agentcal.settings import get_settings, reset_settings
    from tests.openai_loopback import LoopbackOpenAI
    from tests.scripted_model import ScriptedConversation, prompt_tokens, session_message

    model = ScriptedConversation()
    saved = dict(os.environ)
    with LoopbackOpenAI(responder=model) as server:
        os.environ.update(
            OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-bench", AGENTCAL_LLM_MAX_RETRIES="0"
        )
        if history_tokens is not None:
            os.environ["AGENTCAL_HISTORY_TOKENS"] = str(history_tokens)
        reset_settings()
        try:
            settings = get_settings()
            runner = ChatRunner(
                make_chat_model(settings), user_id="bench", settings=settings,
                session_name=f"memory-{history_tokens}", new_session=True,
            )  # fmt: skip
            first, sent, wall, model_ms, cpu = [], [], [], [], []
            for turn in range(1, turns + 1):
                before = len(server.requests)
                s0, c0, t0 = server.cpu_seconds, time.process_time(), time.perf_counter()
                result = runner.run_turn(session_message(turn))
                wall.append((time.perf_counter() - t0) * 1000)
                # This process's CPU, all threads, less the loopback server's handlers.
                cpu.append((time.process_time() - c0 - (server.cpu_seconds - s0)) * 1000)
                assert result.ok, (turn, result.error)
                mine = server.requests[before:]
                first.append(prompt_tokens(next(r for r in mine if r.get("tools"))))
                sent.append(sum(prompt_tokens(r) for r in mine))
                steps = agent_observability_service.get_steps(result.record.id)
                model_ms.append(sum(s.duration_ms or 0 for s in steps if s.step_type == "llm"))
            recall = runner.run_turn("What is my sister's name?").answer
        finally:
            os.environ.clear()
            os.environ.update(saved)
            reset_settings()
    return {
        "budget": settings.history_tokens, "first": first, "sent": sent, "wall": wall,
        "model": model_ms, "cpu": cpu, "summaries": model.summaries, "recall": recall,
    }  # fmt: skip


def _around(values: list[float], turn: int, width: int = 5) -> float:
    """Median of the turns turn-width+1 .. turn (1-based): one point less noisy."""
    return statistics.median(values[max(0, turn - width) : turn])


def memory_lines(bounded: dict, unbounded: dict, turns: int) -> list[str]:
    points = [p for p in MEMORY_POINTS if p <= turns]
    head = " | ".join(f"turn {p}" for p in points)
    lines = [
        f"| {turns}-turn session | {head} | turn {points[-1]} / turn {points[0]} |",
        "|---|" + "---:|" * (len(points) + 1),
    ]
    for label, run in (("bounded (default budget)", bounded), ("unbounded (baseline)", unbounded)):
        budget = f"{run['budget']:,}"
        for what, key in (("tokens of the answering request", "first"),
                          ("tokens sent in all (summaries too)", "sent")):  # fmt: skip
            values = [run[key][p - 1] for p in points]
            cells = " | ".join(f"{v:,}" for v in values)
            lines.append(
                f"| {label}, AGENTCAL_HISTORY_TOKENS={budget}: {what} | {cells} | "
                f"{values[-1] / values[0]:.2f} |"
            )
        overhead = [w - m for w, m in zip(run["wall"], run["model"], strict=True)]
        cells = " | ".join(f"{_around(overhead, p):.1f}" for p in points)
        lines.append(
            f"| {label}: agent overhead ms, wall (median of 5 turns up to it) | {cells} | "
            f"{_around(overhead, points[-1]) / _around(overhead, points[0]):.2f} |"
        )
        cells = " | ".join(f"{_around(run['cpu'], p):.1f}" for p in points)
        lines.append(
            f"| {label}: agentcal CPU ms per turn (median of 5 turns up to it) | {cells} | "
            f"{_around(run['cpu'], points[-1]) / _around(run['cpu'], points[0]):.2f} |"
        )
    for label, run in (("bounded", bounded), ("unbounded", unbounded)):
        overhead = [w - m for w, m in zip(run["wall"], run["model"], strict=True)]
        lines.append(
            f"\n{label}: tokens of the answering request over turns 20-{turns}: min "
            f"{min(run['first'][19:]):,}, max {max(run['first'][19:]):,}, mean "
            f"{statistics.mean(run['first'][19:]):,.0f}; tokens sent in all per turn, mean "
            f"{statistics.mean(run['sent'][19:]):,.0f}; summary requests: {run['summaries']}; "
            "agent overhead "
            f"(wall) median {statistics.median(overhead):.1f} ms, 90th percentile "
            f"{statistics.quantiles(overhead, n=10)[-1]:.1f} ms; agentcal CPU per turn median "
            f"{statistics.median(run['cpu']):.1f} ms, 90th percentile "
            f"{statistics.quantiles(run['cpu'], n=10)[-1]:.1f} ms; model calls median "
            f"{statistics.median(run['model']):.1f} ms; after turn {turns}, "
            f'"What is my sister\'s name?" (turn 5): {run["recall"]!r}'
        )
    return lines


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
    from agentcal.observability.calls import agent_observability_service
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


PARTS = ("turns", "prompt", "otel", "memory")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=15, help="turns per message kind")
    parser.add_argument("--runs", type=int, default=7, help="chat start-ups to time")
    parser.add_argument(
        "--otel-turns", type=int, default=40, help="turns per kind, export off and on"
    )
    parser.add_argument("--memory-turns", type=int, default=300, help="turns of the session")
    parser.add_argument(
        "--only", action="append", choices=PARTS, help="run only this part (repeatable)"
    )
    args = parser.parse_args()
    if args.memory_turns < MEMORY_POINTS[0]:
        parser.error(f"--memory-turns must be at least {MEMORY_POINTS[0]} (turn 20 is the base)")
    parts = args.only or list(PARTS)
    _setup_home()
    seed_profile()

    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    lines = [f"Machine: {machine()}; load average {load} at the start."]
    if "turns" in parts:
        turns = bench_turns(args.turns)
        lines += [
            "",
            f"Median of {args.turns} turns.",
            "",
            "| turn (offline model) | turn ms | model ms | agent overhead ms (target <= 50) | turn CPU ms | bare graph ms | runner + recording ms |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for message, r in turns.items():
            model_ms = r["turn_ms"] - r["overhead_ms"]
            lines.append(
                f"| {message!r} | {r['turn_ms']:.1f} | {model_ms:.1f} | {r['overhead_ms']:.1f} | "
                f"{r['cpu_ms']:.1f} | {r['bare_graph_ms']:.1f} | {r['recording_ms']:.1f} |"
            )
        prompt_ms = next(iter(turns.values()))["system_prompt_ms"]
        lines.append(
            f"\nThe per-turn system prompt built from the store (`ChatRunner.system_prompt`, "
            f"part of every turn above): {prompt_ms:.1f} ms."
        )
    if "prompt" in parts:
        prompt = bench_prompt(args.runs)
        ratio = prompt["prompt_ms"] / prompt["python_pass_ms"]
        lines += [
            "",
            f"Median of {args.runs} start-ups.",
            "",
            "| start-up | ms | ratio to `python -c pass` |",
            "|---|---:|---:|",
            f"| `python -c pass` (baseline) | {prompt['python_pass_ms']:.0f} | 1.0 |",
            f"| `agentcal --version` (the CLI's floor) | {prompt['version_ms']:.0f} | "
            f"{prompt['version_ms'] / prompt['python_pass_ms']:.1f} |",
            f"| `agentcal chat` to first prompt (target <= 300) | {prompt['prompt_ms']:.0f} | {ratio:.1f} |",
        ]
    if "otel" in parts:
        exported = bench_otel(args.otel_turns)
        lines += [
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
    if "memory" in parts:
        bounded = bench_memory(args.memory_turns, None)
        unbounded = bench_memory(args.memory_turns, 1_000_000)
        lines += ["", *memory_lines(bounded, unbounded, args.memory_turns)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
