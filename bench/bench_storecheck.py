"""What the damaged-store check costs a command: `python bench/bench_storecheck.py [--runs 7]`.

On bench_commands' store (100,000 agent calls, 10,000 events, 1,000 jobs), timed in rounds
against the floor of the same run (`python -c "import typer"`, a command's least cost):

- `quick_check`: `PRAGMA quick_check` on the file, what a command pays when the store changed
  since the last check (after any write);
- `stamp hit`: `verify_sqlite_file` on an unchanged store (the stamp matches: no check);
- `insights list`: the whole command (stdlib read path), with the store unchanged.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine
from bench_commands import TYPER_FLOOR, bench_store, run_once

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu_ms(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    fn()
    return (time.process_time() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    from agentcal.storecheck import _stamp_path, quick_check, verify_sqlite_file

    work = Path(tempfile.mkdtemp(prefix="agentcal-bench-check-"))
    store = work / "agentcal.db"
    shutil.copy(bench_store(), store)
    env = dict(os.environ, AGENTCAL_HOME=str(work), AGENTCAL_USER="bench", COLUMNS="80")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    verify_sqlite_file(store)  # leaves the stamp
    times: dict[str, list[float]] = {k: [] for k in ("floor", "quick", "hit", "insights")}
    for _ in range(args.runs):
        times["floor"].append(run_once([sys.executable, *TYPER_FLOOR], env)[1])
        times["quick"].append(_cpu_ms(lambda: quick_check(store)))
        times["hit"].append(_cpu_ms(lambda: verify_sqlite_file(store)))
        times["insights"].append(
            run_once([sys.executable, "-m", "agentcal", "insights", "list"], env)[1]
        )
    assert _stamp_path(store).exists()
    shutil.rmtree(work)

    med = {k: statistics.median(v) for k, v in times.items()}
    size = bench_store().stat().st_size / 1e6
    print(f"machine: {machine()}; store {size:.0f} MB; {args.runs} rounds; CPU ms, medians\n")
    print("| what | CPU ms | x floor |")
    print("|---|---:|---:|")
    print(f"| floor: python -c 'import typer' | {med['floor']:.1f} | 1.00 |")
    for key, label in (
        ("quick", "quick_check (the store changed since the last check)"),
        ("hit", "verify_sqlite_file, stamp hit (unchanged store)"),
        ("insights", "agentcal insights list (unchanged store)"),
    ):
        print(f"| {label} | {med[key]:.1f} | {med[key] / med['floor']:.2f} |")


if __name__ == "__main__":
    main()
