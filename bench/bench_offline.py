"""How well the built-in offline model understands requests (issue 14).

    .venv/bin/python bench/bench_offline.py [--set dev|heldout] [--failures] [--category C]

Every request of the set runs end to end (ChatRunner, the graph, the tools, a SQLite store in
a temporary data dir) and is scored on what reached the store: exact / partial / wrong /
refused per category (see tests/offline_eval/score.py). The held-out set is scored once, at
the end of a piece of work, and reported as such; tune on the dev set only.

Also measured, in the same run: the time per scored request, and the import cost of the
offline model against `python -c "import langgraph.graph, langchain_core.messages"` (what a
turn truly needs; the CLI issue's target for `chat -m` is <= 1.3x that).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup_home() -> None:
    os.environ["AGENTCAL_HOME"] = tempfile.mkdtemp(prefix="agentcal-bench-offline-")
    os.environ["AGENTCAL_USER"] = "bench"
    os.environ["AGENTCAL_TIMEZONE"] = "UTC"
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AGENTCAL_DATABASE_URL"):
        os.environ.pop(name, None)


def import_cost(runs: int) -> list[tuple[str, float, float]]:
    """(label, median ms, ratio to the langgraph floor) for a few imports, alternating runs."""
    probes = [
        ("python -c pass", "pass"),
        ("import langgraph.graph, langchain_core.messages (floor)",
         "import langgraph.graph, langchain_core.messages"),
        ("floor + agentcal.agent.offline",
         "import langgraph.graph, langchain_core.messages, agentcal.agent.offline"),
        ("agentcal.agent.quickadd alone", "import agentcal.agent.quickadd"),
    ]  # fmt: skip
    times: dict[str, list[float]] = {label: [] for label, _ in probes}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(runs):
        for label, code in probes:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env)
            times[label].append((time.perf_counter() - t0) * 1000)
    floor = statistics.median(times[probes[1][0]])
    return [
        (label, statistics.median(t), statistics.median(t) / floor) for label, t in times.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", choices=("dev", "heldout"), default="dev")
    parser.add_argument("--failures", action="store_true", help="List every non-exact case.")
    parser.add_argument("--category", help="Only this category.")
    parser.add_argument("--imports", type=int, default=0, help="Also time imports, N runs.")
    args = parser.parse_args()
    _setup_home()

    from agentcal.db import get_engine
    from tests.offline_eval.cases import DEV, HELDOUT, load
    from tests.offline_eval.score import Evaluator, table

    cases = load(DEV if args.set == "dev" else HELDOUT)
    if args.category:
        cases = [c for c in cases if c.category == args.category]
    evaluator = Evaluator(get_engine())
    t0 = time.perf_counter()
    outcomes = evaluator.run_all(cases)
    elapsed = time.perf_counter() - t0

    print(f"## Offline model, {args.set} set ({len(cases)} requests)\n")
    print(table(outcomes))
    print(f"\n{machine()}; {elapsed / len(cases) * 1000:.0f} ms per request end to end.")
    if args.failures:
        print()
        for o in outcomes:
            if o.verdict != "exact":
                answer = o.answer.splitlines()[0][:90] if o.answer else ""
                print(f"[{o.verdict}] {o.case.category} L{o.case.line}: {o.case.text[:70]!r}")
                print(f"    want {o.case.expect}\n    got  {o.why} | {answer}")
    if args.imports:
        print("\n| import | median ms | ratio to floor |\n|---|---:|---:|")
        for label, ms, ratio in import_cost(args.imports):
            print(f"| {label} | {ms:.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
