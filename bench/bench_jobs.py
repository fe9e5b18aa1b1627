"""Job queue and emitter benchmarks.

    python bench/bench_jobs.py [--jobs 4000] [--users 1000] [--emit-only] [--profile]
                               [--baseline GIT_REF] [--repeat K] [--zones N]

1. Queue throughput, enqueue + claim + complete with a no-op handler, 1 and 4 worker processes
   on one SQLite file: agentcal's JobQueue, a bare sqlite3 implementation of the same claim
   (BEGIN IMMEDIATE; UPDATE ... WHERE id=(SELECT ...) RETURNING), and huey's SqliteHuey; ours
   also with claim_many/complete_many batches of 16.
   Every run checks that no job ran twice. Then the same at twice the jobs.
2. The emitter: N users x 6 preferences x 7 days, first run and rerun, then 2N users; with
   --baseline, the same at another commit (extracted with `git archive`) in the same run.
3. With --zones Z: the same N users spread over Z time zones (a profile each, as `agentcal
   users add` writes it), against all of them in one zone, runs alternating (and against the
   --baseline commit's single zone, alternating too).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _machine import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


# -- agentcal's queue -----------------------------------------------------------------------


def _agentcal_worker(url: str, out: mp.Queue, produced: Any, batch: int) -> None:
    from agentcal.db import get_engine
    from agentcal.queue.jobs import JobQueue

    queue = JobQueue(get_engine(url))
    worker = f"bench:{os.getpid()}"
    ids = []
    while True:
        if batch == 1:
            job = queue.claim(worker, lease_seconds=300)
            jobs = [] if job is None else [job]
        else:
            jobs = queue.claim_many(worker, batch, lease_seconds=300)
        if not jobs:
            if produced.is_set():
                break
            time.sleep(0.001)
            continue
        if batch == 1:
            assert queue.complete(jobs[0])
        else:
            assert all(queue.complete_many([(job, None) for job in jobs]))
        ids.extend(job.id for job in jobs)
    out.put(ids)


def bench_agentcal(n: int, workers: int, tmp: Path, batch: int = 1) -> tuple[float, int]:
    return bench_queue(f"sqlite:///{tmp / f'agentcal-{n}-{workers}-{batch}.db'}", n, workers, batch)


def bench_queue(url: str, n: int, workers: int, batch: int = 1) -> tuple[float, int]:
    """Seconds for n jobs through `workers` processes on the store at `url` (SQLite or
    PostgreSQL); and the number of jobs run twice or never."""
    from agentcal.db import dispose_engines, get_engine
    from agentcal.queue.jobs import JobQueue

    get_engine(url)  # migrate before the clock starts
    dispose_engines()
    out: mp.Queue = mp.Queue()
    produced = mp.Event()
    t0 = time.perf_counter()
    procs = [
        mp.Process(target=_agentcal_worker, args=(url, out, produced, batch))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    queue = JobQueue(get_engine(url))
    for i in range(n):
        queue.enqueue("calendar_sync", {"event_id": i, "revision": 1}, max_attempts=5)
    produced.set()
    ids = [i for _ in procs for i in out.get()]
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - t0
    dispose_engines()
    return elapsed, len(ids) - len(set(ids)) + (n - len(set(ids)))


# -- bare sqlite3 -----------------------------------------------------------------------------

BARE_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, kind TEXT, payload TEXT, state TEXT,
  priority INT, attempts INT, run_at TEXT, lease_token TEXT, locked_until TEXT);
CREATE INDEX IF NOT EXISTS ix_claim ON jobs(state, priority, run_at, id);
"""


def _bare_connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _bare_worker(path: str, out: mp.Queue, produced: Any) -> None:
    import secrets

    conn = _bare_connect(path)
    ids = []
    while True:
        now = datetime.now(UTC).isoformat()
        token = secrets.token_hex(16)
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(
            "UPDATE jobs SET state='running', attempts=attempts+1, lease_token=?, locked_until=? "
            "WHERE id=(SELECT id FROM jobs WHERE state='queued' AND run_at<=? "
            "ORDER BY priority, run_at, id LIMIT 1) RETURNING id, payload",
            (token, now, now),
        ).fetchone()
        conn.execute("COMMIT")
        if row is None:
            if produced.is_set():
                break
            time.sleep(0.001)
            continue
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "UPDATE jobs SET state='done', lease_token=NULL WHERE id=? AND lease_token=?",
            (row[0], token),
        )
        conn.execute("COMMIT")
        ids.append(row[0])
    out.put(ids)


def bench_bare(n: int, workers: int, tmp: Path) -> tuple[float, int]:
    import json

    path = str(tmp / f"bare-{n}-{workers}.db")
    conn = _bare_connect(path)
    conn.executescript(BARE_SCHEMA)
    out: mp.Queue = mp.Queue()
    t0 = time.perf_counter()
    produced = mp.Event()
    procs = [mp.Process(target=_bare_worker, args=(path, out, produced)) for _ in range(workers)]
    for p in procs:
        p.start()
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO jobs (kind, payload, state, priority, attempts, run_at) "
            "VALUES ('calendar_sync', ?, 'queued', 100, 0, ?)",
            (json.dumps({"event_id": i}), datetime.now(UTC).isoformat()),
        )
        conn.execute("COMMIT")
    produced.set()
    ids = [i for _ in procs for i in out.get()]
    for p in procs:
        p.join()
    return time.perf_counter() - t0, len(ids) - len(set(ids)) + (n - len(set(ids)))


# -- huey ---------------------------------------------------------------------------------------


def bench_huey(n: int, workers: int, tmp: Path) -> tuple[float, int]:
    """huey's own consumer (process workers) draining n no-op tasks enqueued while it runs."""
    path = tmp / f"huey-{n}-{workers}.db"
    module = tmp / "hueybench_tasks.py"
    module.write_text(
        "import os\nfrom huey import SqliteHuey\n"
        f"huey = SqliteHuey(filename={str(path)!r})\n"
        "@huey.task()\ndef noop(i):\n    return None\n"
    )
    env = dict(os.environ, PYTHONPATH=str(tmp))
    consumer = subprocess.Popen(
        [sys.executable, "-m", "huey.bin.huey_consumer", "hueybench_tasks.huey",
         "-w", str(workers), "-k", "process", "-d", "0.001", "-m", "0.01", "-q"],
        env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    sys.path.insert(0, str(tmp))
    try:
        import importlib

        tasks = importlib.import_module("hueybench_tasks")
        importlib.reload(tasks)
        t0 = time.perf_counter()
        for i in range(n):
            tasks.noop(i)
        while tasks.huey.pending_count() > 0:
            time.sleep(0.005)
        elapsed = time.perf_counter() - t0
    finally:
        consumer.terminate()
        consumer.wait(timeout=30)
        sys.path.remove(str(tmp))
    return elapsed, 0  # huey does not expose per-task run counts; queue drained


# -- emitter ------------------------------------------------------------------------------------


# Twenty zones: both hemispheres' DST rules, none, half and quarter hours, the date line.
ZONES = (
    "Pacific/Auckland", "Australia/Sydney", "Australia/Adelaide", "Asia/Tokyo", "Asia/Shanghai",
    "Asia/Kathmandu", "Asia/Kolkata", "Asia/Dubai", "Europe/Moscow", "Africa/Cairo",
    "Europe/Paris", "Europe/London", "Atlantic/Azores", "America/Sao_Paulo", "America/St_Johns",
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "Pacific/Honolulu",
)  # fmt: skip


def _emit_setup(users: int, tmp: Path, zones: int = 0) -> tuple[Any, list[str]]:
    """A fresh store with `users` x 6 auto-scheduled preferences (spread over `zones` time
    zones by profile, or all in AGENTCAL_TIMEZONE); returns (emitter, user ids)."""
    home = tmp / f"emit-{users}-z{zones}"
    os.environ["AGENTCAL_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AGENTCAL_TIMEZONE"] = "Europe/Paris"
    os.environ["AGENTCAL_USER"] = "nobody-configured"

    from agentcal.db import dispose_engines, get_engine
    from agentcal.settings import reset_settings

    reset_settings()
    dispose_engines()
    emitter, ids = seed_preferences(get_engine(), users)
    if zones:
        seed_profiles(get_engine(), ids, zones)
    return emitter, ids


def seed_profiles(engine: Any, ids: list[str], zones: int) -> None:
    """A profile per user, local calendar, in one of the first `zones` ZONES (round robin)."""
    from sqlalchemy import insert

    from agentcal.models import UserProfile, utcnow

    now = utcnow()
    rows = [
        {"user_id": u, "timezone": ZONES[i % zones], "calendar": "local", "created_at": now,
         "updated_at": now}
        for i, u in enumerate(ids)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(UserProfile.__table__), rows)  # type: ignore[attr-defined]


def seed_preferences(engine: Any, users: int) -> tuple[Any, list[str]]:
    """`users` x 6 auto-scheduled preferences in the store at `engine`; (emitter, user ids)."""
    from sqlalchemy import insert

    from agentcal.models import CalendarPreference, utcnow

    # The seed's name: the same import on a --baseline commit from before the domain packages.
    from agentcal.services.calendar_event_emitter import CalendarEventEmitter

    now = utcnow()
    kinds = [("sleep", "23:00", 480, False), ("meal", "12:30", 60, True), ("gym", "06:30", 60, True),
             ("focus", "09:00", 120, True), ("meditation", "07:30", 20, True), ("break", "15:30", 15, True)]  # fmt: skip
    rows = [
        {"user_id": f"u{u:05d}", "preference_type": t, "title": t.title(), "start_time": at,
         "duration_minutes": d, "is_flexible": f, "auto_schedule": True, "priority": p + 1,
         "is_active": True, "user_edited": False, "day_of_week": None, "created_at": now,
         "updated_at": now}
        for u in range(users) for p, (t, at, d, f) in enumerate(kinds)
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(CalendarPreference.__table__), rows)  # type: ignore[attr-defined]
    emitter = CalendarEventEmitter(engine)
    return emitter, emitter.all_user_ids()


def bench_emit(users: int, tmp: Path, zones: int = 0) -> tuple[float, float, int]:
    return time_emit(*_emit_setup(users, tmp, zones))


def time_emit(emitter: Any, ids: list[str]) -> tuple[float, float, int]:
    """(first run s, rerun s, events created) of emitting 7 days for `ids`; the rerun must
    change nothing. Disposes the engines afterwards."""
    return time_emit_cpu(emitter, ids)[:3]  # type: ignore[return-value]


def time_emit_cpu(emitter: Any, ids: list[str]) -> tuple[float, float, int, float, float]:
    """`time_emit`, plus the CPU seconds of this process for the first run and the rerun (the
    steadier figure when other processes share the CPUs; SQLite works in-process)."""
    from agentcal.db import dispose_engines

    # No backend given: each user's own, as `emit --all-users` does (local users' busy time is
    # in the store; the configured user is none of them).
    t0, c0 = time.perf_counter(), time.process_time()
    first = emitter.process_users(ids, 7)
    t1, c1 = time.perf_counter(), time.process_time()
    again = emitter.process_users(ids, 7)
    t2, c2 = time.perf_counter(), time.process_time()
    created = sum(len(r.changes) for r in first)
    assert sum(len(r.changes) for r in again) == 0
    dispose_engines()
    return t1 - t0, t2 - t1, created, c1 - c0, c2 - c1


def profile_emit(users: int, tmp: Path) -> None:
    import cProfile
    import pstats

    from agentcal.db import dispose_engines

    emitter, ids = _emit_setup(users, tmp)
    for name in ("first run", "rerun"):
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.runcall(emitter.process_users, ids, 7)
        print(f"## {name}: {time.perf_counter() - t0:.2f} s under cProfile")
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    dispose_engines()


def best_emit(users: int, tmp: Path, repeat: int) -> tuple[float, float, int]:
    """`bench_emit` `repeat` times on fresh stores: the fastest first run and rerun."""
    runs = []
    for i in range(repeat):
        runs.append(bench_emit(users, tmp / f"r{i}"))
    return min(r[0] for r in runs), min(r[1] for r in runs), runs[0][2]


def baseline_emit(
    ref: str, users: int, repeat: int, tmp: Path, *, one_size: bool = False
) -> list[tuple[float, float, int]]:
    """The emit bench on `ref`'s code: `git archive` it into tmp (once), run this file there."""
    import json
    import shutil

    from _baseline import extract

    tree = tmp / "baseline"
    if not tree.exists():
        extract(ref, tree)
    shutil.copy(__file__, tree / "bench" / "bench_jobs.py")
    out = subprocess.run(
        [sys.executable, str(tree / "bench" / "bench_jobs.py"), "--emit-json", "--users",
         str(users), "--repeat", str(repeat), *(["--one-size"] if one_size else [])],
        check=True, capture_output=True, text=True, cwd=tree,
    ).stdout  # fmt: skip
    return [tuple(json.loads(line)) for line in out.splitlines() if line.startswith("[")]  # type: ignore[misc]


def zones_section(users: int, zones: int, repeat: int, ref: str | None, tmp: Path) -> list[str]:
    """`users` in `zones` time zones against all in one zone (and against `ref`'s code in one
    zone): runs alternate, best of `repeat` each, so the machine's load hits all alike."""
    runs: dict[str, list[Any]] = {"base": [], "one": [], "many": []}
    time_emit_cpu(*_emit_setup(20, tmp / "warm-up", zones))  # imports, first queries
    for i in range(repeat):
        if ref:
            runs["base"] += baseline_emit(ref, users, 1, tmp, one_size=True)
        runs["one"].append(time_emit_cpu(*_emit_setup(users, tmp / f"zr{i}")))
        runs["many"].append(time_emit_cpu(*_emit_setup(users, tmp / f"zr{i}", zones)))
        print(f"zones run {i + 1}/{repeat} (wall first/rerun, cpu first/rerun): " + ", ".join(
            f"{k} {v[-1][0]:.2f}/{v[-1][1]:.2f} {v[-1][3]:.2f}/{v[-1][4]:.2f}"
            for k, v in runs.items() if v), flush=True)  # fmt: skip
    # Best of the runs, each figure on its own; events differ a little between zones (a day's
    # blocks that already began locally are not planned).
    best = {k: [min(r[j] for r in v) for j in range(5)] for k, v in runs.items() if v}
    created = {k: v[0][2] for k, v in runs.items() if v}
    head = ("| users × 6 prefs × 7 days | code | zones | events | first run s | rerun s "
            "| first run CPU s | rerun CPU s |")  # fmt: skip
    rule = "|---:|---|---:|---:|---:|---:|---:|---:|"
    labels = {"base": (ref, 1), "one": ("this", 1), "many": ("this", zones)}
    rows = [
        f"| {users} | {labels[k][0]} | {labels[k][1]} | {created[k]:,} | {b[0]:.2f} | {b[1]:.2f} "
        f"| {b[3]:.2f} | {b[4]:.2f} |"
        for k, b in best.items()
    ]
    ratios = []
    for k, against in (("many", "one"), ("many", "base"), ("one", "base")):
        if k in best and against in best:
            a, b = best[k], best[against]
            ratios.append(
                f"{labels[k][0]} {labels[k][1]} zone(s) / {labels[against][0]} 1 zone: wall "
                f"{a[0] / b[0]:.2f} first, {a[1] / b[1]:.2f} rerun; CPU {a[3] / b[3]:.2f} first, "
                f"{a[4] / b[4]:.2f} rerun"
            )
    return [head, rule, *rows, "", *ratios]


# -- report -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--emit-only", action="store_true", help="skip the queue benchmark")
    parser.add_argument(
        "--baseline", metavar="GIT_REF", help="also run the emit bench on this commit's code"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="emit: best of K runs (each on a fresh store)"
    )
    parser.add_argument("--emit-json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one-size", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--zones", type=int, default=0, metavar="Z",
        help="only the time-zone comparison: N users over Z zones (at most 20) vs one zone",
    )  # fmt: skip
    parser.add_argument(
        "--profile", action="store_true", help="cProfile one emit first run and rerun (top 25)"
    )
    args = parser.parse_args()
    if args.emit_json:  # the --baseline child: one JSON line per size
        import json

        with tempfile.TemporaryDirectory() as d:
            if args.one_size:  # one run, warmed up like zones_section's, with CPU times
                time_emit_cpu(*_emit_setup(20, Path(d) / "warm-up"))
                print(json.dumps(time_emit_cpu(*_emit_setup(args.users, Path(d)))), flush=True)
                return
            for users in (args.users, 2 * args.users):
                print(json.dumps(best_emit(users, Path(d), args.repeat)), flush=True)
        return
    if args.zones:
        with tempfile.TemporaryDirectory() as d:
            lines = zones_section(
                args.users, min(args.zones, len(ZONES)), args.repeat, args.baseline, Path(d)
            )
        print("\n".join([f"Machine: {machine()}", "", *lines]))
        return
    if args.profile:
        with tempfile.TemporaryDirectory() as d:
            profile_emit(args.users, Path(d))
        return
    lines = [f"Machine: {machine()}", ""]
    if not args.emit_only:
        lines += ["| jobs | workers | agentcal jobs/s | agentcal batch 16 jobs/s | bare sqlite3 jobs/s | huey jobs/s | agentcal / bare | agentcal / huey | double or lost |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for n in () if args.emit_only else (args.jobs, 2 * args.jobs):
            for workers in (1, 4):
                a, a_bad = bench_agentcal(n, workers, tmp)
                k, k_bad = bench_agentcal(n, workers, tmp, batch=16)
                b, b_bad = bench_bare(n, workers, tmp)
                h, _ = bench_huey(n, workers, tmp)
                lines.append(
                    f"| {n} | {workers} | {n / a:,.0f} | {n / k:,.0f} | {n / b:,.0f} | "
                    f"{n / h:,.0f} | {b / a:.2f} | {h / a:.2f} | {a_bad} / {k_bad} / {b_bad} |"
                )
                print(lines[-1], flush=True)
        if not args.emit_only:
            lines.append("")
        base = baseline_emit(args.baseline, args.users, args.repeat, tmp) if args.baseline else []
        head = "| users × 6 prefs × 7 days | events | first run s | rerun s |"
        rule = "|---:|---:|---:|---:|"
        if base:
            head += f" {args.baseline} first s | {args.baseline} rerun s | speed-up first / rerun |"
            rule += "---:|---:|---:|"
        lines += [head, rule]
        for i, users in enumerate((args.users, 2 * args.users)):
            first, rerun, created = best_emit(users, tmp, args.repeat)
            lines.append(f"| {users} | {created:,} | {first:.2f} | {rerun:.2f} |")
            if base:
                b_first, b_rerun, _ = base[i]
                lines[-1] += (
                    f" {b_first:.2f} | {b_rerun:.2f} | {b_first / first:.1f}x / "
                    f"{b_rerun / rerun:.1f}x |"
                )
            print(lines[-1], flush=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
