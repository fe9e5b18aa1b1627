"""What writing the local ICS files before `emit --all-users` returns costs, against the emit.

1,000 users x 6 auto-scheduled preferences x 7 days on the local calendar (bench_jobs' store),
a fresh SQLite store: the emitter's first pass (what `emit --all-users` did before), then
`write_local_calendars()` (what it adds at its end since the ICS file is current when the
command returns: a file per user, and each event's sync recorded). Before this, the same work
ran later in the calendar_sync jobs. CPU seconds of this process (SQLite works in-process) are
the steadier figure under load.

    python bench/bench_ics_flush.py [--users 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from _machine import machine
from bench_jobs import _emit_setup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def once(users: int, tmp: Path) -> tuple[float, float, float, float, int]:
    from agentcal.db import dispose_engines
    from agentcal.planning.push import forget_changes, write_local_calendars

    emitter, ids = _emit_setup(users, tmp)
    forget_changes()
    w, c = time.perf_counter(), time.process_time()
    results = emitter.process_users(ids, 7)
    emit_wall, emit_cpu = time.perf_counter() - w, time.process_time() - c
    w, c = time.perf_counter(), time.process_time()
    problems = write_local_calendars()
    write_wall, write_cpu = time.perf_counter() - w, time.process_time() - c
    assert not problems, problems[:3]
    dispose_engines()
    return emit_wall, emit_cpu, write_wall, write_cpu, sum(len(r.placements) for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for i in range(args.repeat):
        runs.append(once(args.users, Path(tempfile.mkdtemp(prefix=f"agentcal-ics-{i}-"))))
    best = [min(r[k] for r in runs) for k in range(4)]
    print(f"{args.users} users, {runs[0][4]} events; best of {args.repeat}")
    print(f"emit first pass: {best[0]:.2f} s wall, {best[1]:.2f} s CPU")
    print(f"ICS files written: {best[2]:.2f} s wall, {best[3]:.2f} s CPU")
    print(
        f"ratio (emit + files) / emit: wall {1 + best[2] / best[0]:.2f}, CPU {1 + best[3] / best[1]:.2f}"
    )
    print(f"Machine: {machine()}")


if __name__ == "__main__":
    main()
