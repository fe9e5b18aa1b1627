"""The queue's Python path in CPU seconds, against another commit in the same run.

    python bench/bench_queue_cpu.py [--jobs 2000] [--runs 10] [--baseline GIT_REF]

One process enqueues N jobs (one transaction each), then claims and completes them one at a
time, on a fresh SQLite store; the figure is that process's CPU time (SQLite works in-process),
steadier than wall time when other processes share the CPUs. With --baseline the same runs on
that commit's code (extracted with `git archive`), alternating with this code's runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine

ROOT = Path(__file__).resolve().parent.parent


def child(jobs: int) -> None:
    """One run on the code on sys.path; prints its CPU seconds as one JSON line."""
    with tempfile.TemporaryDirectory() as d:
        os.environ["AGENTCAL_HOME"] = d
        os.environ["AGENTCAL_DATABASE_URL"] = f"sqlite:///{Path(d) / 'queue.db'}"
        from agentcal.db import get_engine

        try:
            from agentcal.queue.jobs import JobQueue
        except ImportError:  # a commit from before the domain packages
            from agentcal.services.jobs import JobQueue  # type: ignore[no-redef]

        queue = JobQueue(get_engine())
        queue.enqueue("calendar_sync", {"event_id": 0, "revision": 1})  # schema, first queries
        queue.complete(queue.claim("warm-up"))  # type: ignore[arg-type]
        start = time.process_time()
        for i in range(jobs):
            queue.enqueue("calendar_sync", {"event_id": i, "revision": 1}, unique_key=f"k{i}")
        enqueued = time.process_time()
        done = 0
        while (job := queue.claim("bench")) is not None:
            queue.complete(job)
            done += 1
        assert done == jobs, f"{done} of {jobs} jobs ran"
        print(json.dumps([enqueued - start, time.process_time() - enqueued]))


def run(tree: Path, jobs: int) -> list[float]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", "--jobs", str(jobs)],
        env=dict(os.environ, PYTHONPATH=str(tree)), cwd=tempfile.gettempdir(),
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return json.loads(out.splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--baseline", metavar="GIT_REF")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.jobs)
        return
    with tempfile.TemporaryDirectory() as d:
        trees = {"this": ROOT}
        if args.baseline:
            from _baseline import extract

            trees[args.baseline] = extract(args.baseline, Path(d) / "baseline")
        runs: dict[str, list[list[float]]] = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():
                runs[name].append(run(tree, args.jobs))
    print(f"Machine: {machine()}\n")
    print(f"| code | {args.jobs} enqueues: best / median CPU s | claim + complete: best / median |")
    print("|---|---:|---:|")
    figures = {}
    for name, values in runs.items():
        figures[name] = [(min(v[i] for v in values), statistics.median(v[i] for v in values))
                         for i in (0, 1)]  # fmt: skip
        (eb, em), (cb, cm) = figures[name]
        print(f"| {name} | {eb:.3f} / {em:.3f} | {cb:.3f} / {cm:.3f} |")
    if args.baseline:
        (eb, em), (cb, cm) = figures["this"]
        (ob, om), (pb, pm) = figures[args.baseline]
        print(f"\nthis / {args.baseline}: enqueue {eb / ob:.2f} best, {em / om:.2f} median; "
              f"claim + complete {cb / pb:.2f} best, {cm / pm:.2f} median")  # fmt: skip


if __name__ == "__main__":
    main()
