"""PostgreSQL benchmarks, beside SQLite in the same run.

    python bench/bench_postgres.py [--jobs 3000] [--users 1000] [--full]

Starts its own PostgreSQL server (tests/pgserver.py: initdb + pg_ctl in a temporary directory,
loopback port; fsync off, like the test server) and measures:
1. Queue throughput (enqueue + claim + complete, no-op handler) with 1 and 4 worker processes,
   claiming one job at a time and in batches of 16, on a SQLite file and on PostgreSQL (claim with FOR UPDATE SKIP LOCKED). Every run checks
   that no job ran twice or was lost.
2. The emitter: N users x 6 preferences x 7 days on PostgreSQL and on SQLite (first run and
   rerun). `--full` uses 10,000 users.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_jobs import bench_queue, machine, seed_preferences, time_emit  # noqa: E402

_counter = 0


def _new_pg_db(server) -> str:  # type: ignore[no-untyped-def]
    global _counter
    _counter += 1
    return str(server.create_database(f"bench{_counter}"))


def bench_emit(url: str, users: int) -> tuple[float, float, int]:
    from agentcal.db import get_engine

    os.environ["AGENTCAL_TIMEZONE"] = "Europe/Paris"
    return time_emit(*seed_preferences(get_engine(url), users))


def main() -> None:
    from tests.pgserver import PostgresServer

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--full", action="store_true", help="The emitter for 10,000 users.")
    args = parser.parse_args()
    users = 10_000 if args.full else args.users
    os.environ["AGENTCAL_USER"] = "nobody-configured"
    server = PostgresServer().start()
    lines = [f"Machine: {machine()}, PostgreSQL {server.bindir.parent.name}", ""]
    lines += ["| jobs | workers | claim batch | SQLite jobs/s | PostgreSQL jobs/s | PostgreSQL / SQLite | double or lost (S/P) |",
              "|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    try:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            for workers, batch in ((1, 1), (4, 1), (1, 16), (4, 16)):
                sqlite_url = f"sqlite:///{tmp / f'q{workers}-{batch}.db'}"
                s, s_bad = bench_queue(sqlite_url, args.jobs, workers, batch)
                p, p_bad = bench_queue(_new_pg_db(server), args.jobs, workers, batch)
                lines.append(
                    f"| {args.jobs} | {workers} | {batch} | {args.jobs / s:,.0f} | "
                    f"{args.jobs / p:,.0f} | {s / p:.2f} | {s_bad} / {p_bad} |"
                )
                print(lines[-1], flush=True)
            lines += ["", "| emitter: users × 6 prefs × 7 days | store | events | first run s | rerun s | users/s (first) |",
                      "|---:|---|---:|---:|---:|---:|"]  # fmt: skip
            for label, url in (("SQLite", f"sqlite:///{tmp / 'emit.db'}"),
                               ("PostgreSQL", _new_pg_db(server))):  # fmt: skip
                first, rerun, created = bench_emit(url, users)
                lines.append(
                    f"| {users} | {label} | {created} | {first:.2f} | {rerun:.2f} | "
                    f"{users / first:,.0f} |"
                )
                print(lines[-1], flush=True)
    finally:
        server.stop()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
