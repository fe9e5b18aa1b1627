"""Every command against the floor of the same run (issue 15's targets).

    python bench/bench_commands.py [--runs 7] [--baseline REF] [--only WORD ...]

The store holds 10,000 events, 100,000 agent calls and 1,000 jobs for one user (plus
preferences, insights, alerts, workers and named chat sessions); it is built once and cached in
$TMPDIR/agentcal-bench, keyed by the migrations. Each figure is a fresh subprocess, rendered
at 80 columns into a pipe, timed in rounds: every round runs each floor and each command once,
so that they all see the same machine load. Medians of wall time and of the child's CPU time
(user + sys); ratios use CPU time, the steadier figure on a shared machine.

Floors: `python -c "import typer"` for the CLI's commands and their --help;
`python -c "import langgraph.graph, langchain_core.messages"` for `chat -m` with the offline
model (what a turn truly needs). Targets: read-only commands <= 4x, --help <= 1.7x, chat -m
<= 1.3x, the REPL prompt <= 300 ms (timed in a pseudo-terminal).

With --baseline REF the same commands also run on that commit's code (`git archive`), in the
same rounds, so before/after ratios come from one run. The children run byte-compiled, as an
installed agentcal does (this machine sets PYTHONDONTWRITEBYTECODE=1, which would charge every
run for compiling agentcal's own modules, and not the libraries' that pip compiled).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _machine import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER = "bench"
EVENTS, CALLS, JOBS = 10_000, 100_000, 1_000
THREADS = 50_000  # the calls' session ids: s0..s49999 (bench_foundation)
TYPER_FLOOR = ["-c", "import typer"]
CHAT_FLOOR = ["-c", "import langgraph.graph, langchain_core.messages"]
SEED_VERSION = 3  # bump when _seed changes: the cached store is rebuilt
READ_TARGET, HELP_TARGET, CHAT_TARGET, PROMPT_TARGET_MS = 4.0, 1.7, 1.3, 300.0

# (label, arguments). Read-only commands only: they leave the store as it was.
READ_COMMANDS: list[tuple[str, list[str]]] = [
    ("events list", ["events", "list"]),
    ("events list --days 30", ["events", "list", "--days", "30"]),
    ("events list --json", ["events", "list", "--json"]),
    ("week", ["week"]),
    ("prefs list", ["prefs", "list"]),
    ("insights list", ["insights", "list"]),
    ("insights show", ["insights", "show", "health/gym_time"]),
    ("logs list", ["logs", "list"]),
    ("logs list --session", ["logs", "list", "--session", "work"]),
    ("logs list --session one-off", ["logs", "list", "--session", "one-off"]),
    ("logs show", ["logs", "show", "1"]),
    ("jobs list", ["jobs", "list"]),
    ("jobs show", ["jobs", "show", "1"]),
    ("alerts list", ["alerts", "list"]),
    ("status", ["status"]),
    ("costs", ["costs"]),
    ("costs --by session", ["costs", "--by", "session"]),
    ("sessions list", ["sessions", "list"]),
    ("config show", ["config", "show"]),  # every setting: pydantic-settings, no target
]
NO_TARGET = {"config show"}


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def _insert(conn: sqlite3.Connection, table: str, rows: list[dict]) -> None:
    columns = list(rows[0])
    conn.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [tuple(r[c] for c in columns) for r in rows],
    )


def _seed(conn: sqlite3.Connection) -> None:
    """Everything but the calls (bench_foundation's 100,000-row file has those)."""
    rnd = random.Random(15)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    kinds = [("gym", "Morning gym", "06:00", 60), ("sleep", "Sleep", "23:00", 480),
             ("focus", "Deep work", "09:00", 120), ("meal", "Lunch", "13:00", 45),
             ("break", "Walk", "16:00", 15), ("meditation", "Meditation", "07:30", 20)]  # fmt: skip
    insights, prefs = [], []
    for i, (kind, title, at, minutes) in enumerate(kinds, start=1):
        value = {"time": at, "duration_minutes": minutes, "days": [1, 2, 3, 4, 5]}
        insights.append(dict(user_id=USER, insight_type="habit", category="health",
                             key=f"{kind}_time", value=json.dumps(value), confidence=0.9,
                             source="agent", times_seen=2, created_at=_ts(now), updated_at=_ts(now)))  # fmt: skip
        prefs.append(dict(user_id=USER, preference_type=kind, title=title,
                          day_of_week=json.dumps([1, 2, 3, 4, 5]), start_time=at,
                          duration_minutes=minutes, auto_schedule=1, priority=i, is_flexible=i % 2,
                          is_active=1, user_edited=0, source_insight_id=i, created_at=_ts(now),
                          updated_at=_ts(now)))  # fmt: skip
    for i in range(30):
        insights.append(dict(user_id=USER, insight_type="preference", category="work",
                             key=f"meeting_pref_{i}", value=json.dumps({"max_per_day": i % 6}),
                             confidence=0.6, source="pattern_analysis", times_seen=1,
                             created_at=_ts(now), updated_at=_ts(now)))  # fmt: skip
    _insert(conn, "user_insights", insights)
    _insert(conn, "calendar_preferences", prefs)

    # 10,000 events over ~1,000 days (900 past, 100 ahead): about ten a day.
    events = []
    start_day = now - timedelta(days=900)
    for i in range(EVENTS):
        day = start_day + timedelta(days=i // 10)
        slot = i % 10  # six habit blocks a day (one per preference and date), four meetings
        if slot < len(kinds):
            title, origin, pref_id, note = kinds[slot][1], "emitter", slot + 1, "at its usual time"
            hour, minute = map(int, kinds[slot][2].split(":"))
            start = day.replace(hour=hour, minute=minute) - timedelta(hours=1)
            if rnd.random() < 0.2:
                start += timedelta(minutes=30)
                note = "moved 30 min later: “Team sync” at 09:00 overlaps"
        else:
            title, origin, pref_id, note = f"Meeting with team {i % 40}", "agent", None, None
            start = day.replace(hour=rnd.randrange(7, 17), minute=rnd.choice((0, 15, 30, 45)))
        events.append(dict(uid=f"{i}@bench", user_id=USER, preference_id=pref_id, title=title,
                           local_date=start.date().isoformat(), start_at=_ts(start),
                           end_at=_ts(start + timedelta(minutes=rnd.choice((30, 60, 90)))),
                           timezone="Europe/Paris", status="planned", origin=origin,
                           placement_note=note, backend="local", revision=1, synced_revision=1,
                           created_at=_ts(now), updated_at=_ts(now)))  # fmt: skip
    _insert(conn, "calendar_events", events)

    jobs = []
    for i in range(JOBS):
        state = "done" if i < JOBS - 30 else ("dead" if i % 2 else "queued")
        kind = rnd.choice(("calendar_sync", "update_insight", "emit_preference_events"))
        jobs.append(dict(kind=kind, payload=json.dumps({"event_id": i, "revision": 1}),
                         state=state, priority=50, attempts=1 if state != "dead" else 5,
                         max_attempts=5, run_at=_ts(now - timedelta(minutes=JOBS - i)),
                         unique_key=f"bench:{i}", user_id=USER,
                         last_error="HTTP 503 from the calendar" if state == "dead" else None,
                         acknowledged=0, created_at=_ts(now), updated_at=_ts(now),
                         finished_at=_ts(now) if state in ("done", "dead") else None))  # fmt: skip
    _insert(conn, "jobs", jobs)
    _insert(conn, "alerts", [dict(created_at=_ts(now), level="error", source="jobs",
                                  message=f"job {JOBS - 1 - 2 * i} is dead after 5 attempts",
                                  job_id=JOBS - 1 - 2 * i) for i in range(15)])  # fmt: skip
    _insert(conn, "worker_heartbeats", [dict(worker_id=f"daemon-jobs@bench:{i}", kind="daemon",
                                             hostname="bench", pid=1, started_at=_ts(now),
                                             last_seen=_ts(now), jobs_done=100, jobs_failed=1,
                                             state="stopped", heartbeat_seconds=60.0)
                                        for i in range(3)])  # fmt: skip
    # Named sessions over some of the calls' thread ids (the calls use s0..s49999).
    names = ["work", "home", "travel"] + [f"s-{i}" for i in range(197)]
    current = {f"s{i}": name for i, name in enumerate(names)} | {f"s{THREADS - 1}": "one-off"}
    _insert(conn, "chat_sessions", [dict(user_id=USER, name=name, thread_id=thread,
                                         created_at=_ts(now), last_used_at=_ts(now))
                                    for thread, name in current.items()])  # fmt: skip
    # Every thread any name had (chat_threads): the others are older conversations, one in
    # 50 of "work" (--new), the rest one-off `chat -m` turns (a new thread each).
    history = {f"s{i}": "work" if i % 50 == 0 else "one-off" for i in range(len(names), THREADS)}
    _insert(conn, "chat_threads", [dict(user_id=USER, name=name, thread_id=thread,
                                        created_at=_ts(now))
                                   for thread, name in (history | current).items()])  # fmt: skip


def bench_store() -> Path:
    """The cached store: bench_foundation's 100,000 calls plus everything else."""
    from bench_foundation import cached_db

    calls = cached_db(CALLS)
    path = calls.parent.with_name(f"{calls.parent.name}-commands-{SEED_VERSION}") / "agentcal.db"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        shutil.copy(calls, tmp)
        conn = sqlite3.connect(tmp)
        _seed(conn)
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        tmp.rename(path)
    return path


def variant_store(code: str) -> Path:
    """The bench store at the schema of the code in `code` (a --baseline commit with other
    migrations reads a store at its own head: the data are the same, built by its own seed)."""
    if code == str(ROOT):
        return bench_store()
    out = subprocess.run(
        [sys.executable, "-c", "import bench_commands; print(bench_commands.bench_store())"],
        cwd=Path(code) / "bench", env={**os.environ, "PYTHONPATH": code},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return Path(out.strip().splitlines()[-1])


def help_paths() -> list[list[str]]:
    """Every command and group of the app, as argument lists (`[]` is `agentcal` itself)."""
    import typer.main

    from agentcal.cli.main import app

    out: list[list[str]] = []

    def walk(cmd, path: list[str]) -> None:  # type: ignore[no-untyped-def]
        out.append(path)
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return out


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall ms, CPU ms, exit code) of one run, in the directory of the code it runs:
    `python -m agentcal` puts the working directory first on sys.path, so run from this
    checkout a --baseline child would import this checkout's agentcal, not its own."""
    cpu = _children_cpu()
    t = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          cwd=env["PYTHONPATH"])  # fmt: skip
    return (time.perf_counter() - t) * 1000, (_children_cpu() - cpu) * 1000, proc.returncode


def time_to_prompt(env: dict[str, str]) -> float:
    """Wall ms until `agentcal chat` shows its prompt in a pseudo-terminal."""
    import pty
    import select

    master, slave = pty.openpty()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "agentcal", "chat"], stdin=slave,
                            stdout=slave, stderr=slave, env=env, close_fds=True,
                            cwd=env["PYTHONPATH"])  # fmt: skip
    os.close(slave)
    seen, elapsed = b"", float("nan")
    while time.perf_counter() < t0 + 30:
        ready, _, _ = select.select([master], [], [], 0.005)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
            if b"you> " in seen:
                elapsed = (time.perf_counter() - t0) * 1000
                break
    os.write(master, b"/quit\n")
    try:
        proc.wait(timeout=30)
    finally:
        os.close(master)
    return elapsed


class Timings:
    """Samples per (variant, label): variant "" is this code, "base" the --baseline commit."""

    def __init__(self) -> None:
        self.samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
        self.failed: set[tuple[str, str]] = set()

    def add(self, key: tuple[str, str], wall: float, cpu: float, code: int) -> None:
        # `status` exits 1 when unhealthy, which the bench store is (dead jobs): by design.
        if code != 0 and not (code == 1 and key[1] == "status"):
            self.failed.add(key)
        self.samples.setdefault(key, []).append((wall, cpu))

    def median(self, key: tuple[str, str]) -> tuple[float, float] | None:
        if key in self.failed or key not in self.samples:
            return None
        rows = self.samples[key]
        return statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="rounds (medians of this many)")
    parser.add_argument("--baseline", metavar="GIT_REF", help="also time this commit's code")
    parser.add_argument("--only", nargs="*", default=None, help="only labels containing these")
    parser.add_argument("--no-help", action="store_true", help="skip the --help of subcommands")
    args = parser.parse_args()
    py = sys.executable

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        chat_home = Path(tmp) / "chat"
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AGENTCAL_") and k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}  # fmt: skip
        env.update(AGENTCAL_HOME=str(home), AGENTCAL_USER=USER, AGENTCAL_TIMEZONE="Europe/Paris",
                   PYTHONPATH=str(ROOT), COLUMNS="80", LINES="40")  # fmt: skip
        # As installed: byte-compiled (pip compiles the libraries; the warm-up round writes
        # agentcal's own .pyc files, which this machine's PYTHONDONTWRITEBYTECODE=1 forbids).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        chat_env = {**env, "AGENTCAL_HOME": str(chat_home)}
        variants = {"": str(ROOT)}
        if args.baseline:
            from _baseline import extract

            variants["base"] = str(extract(args.baseline, Path(tmp) / "baseline"))
        # Each variant reads its own copy of the store (and `chat -m` writes to another).
        homes: dict[tuple[str, Path], str] = {}
        for variant, code in variants.items():
            store = variant_store(code)
            for base in (home, chat_home):
                homes[(variant, base)] = str(base.with_name(base.name + variant))
                Path(homes[(variant, base)]).mkdir(mode=0o700)
                shutil.copy(store, Path(homes[(variant, base)]) / "agentcal.db")

        jobs: list[tuple[str, str, list[str], dict[str, str]]] = []  # (kind, label, argv, env)
        jobs.append(("floor", "python -c 'import typer'", [py, *TYPER_FLOOR], env))
        jobs.append(("floor", "python -c 'import langgraph.graph, langchain_core.messages'",
                     [py, *CHAT_FLOOR], env))  # fmt: skip
        for label, argv in READ_COMMANDS:
            kind = "other" if label in NO_TARGET else "read"
            jobs.append((kind, label, [py, "-m", "agentcal", *argv], env))
        jobs.append(("chat", "chat -m 'hello' (offline model)",
                     [py, "-m", "agentcal", "chat", "-m", "hello"], chat_env))  # fmt: skip
        if not args.no_help:
            for path in help_paths():
                label = " ".join(["agentcal", *path, "--help"])
                jobs.append(("help", label, [py, "-m", "agentcal", *path, "--help"], env))
        if args.only:
            jobs = [j for j in jobs if j[0] == "floor" or any(w in j[1] for w in args.only)]

        timings = Timings()
        prompt: dict[str, list[float]] = {}
        for round_no in range(args.runs + 1):  # round 0 warms the caches and is dropped
            for kind, label, argv, job_env in jobs:
                for variant, path in variants.items():
                    if kind == "floor" and variant:
                        continue
                    where = Path(job_env["AGENTCAL_HOME"])
                    e = {**job_env, "PYTHONPATH": path, "AGENTCAL_HOME": homes[(variant, where)]}
                    wall, cpu, code = run_once(argv, e)
                    if round_no:
                        timings.add((variant, label), wall, cpu, code)
            for variant, path in variants.items():
                ms = time_to_prompt(
                    {**chat_env, "PYTHONPATH": path, "AGENTCAL_HOME": homes[(variant, chat_home)]}
                )
                if round_no:
                    prompt.setdefault(variant, []).append(ms)

    typer_floor = timings.median(("", jobs[0][1]))
    chat_floor = timings.median(("", jobs[1][1]))
    assert typer_floor and chat_floor
    load = os.getloadavg()
    print(f"\nMachine: {machine()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
          f"after the run; {args.runs} rounds.\n")  # fmt: skip
    head = "| command | wall ms | CPU ms | x floor (CPU) | target | met |"
    rule = "|---|---:|---:|---:|---:|---|"
    if args.baseline:
        head += f" {args.baseline}: CPU ms | {args.baseline}: x floor |"
        rule += "---:|---:|"
    print(head)
    print(rule)
    for kind, label, _, _ in jobs:
        ours = timings.median(("", label))
        floor = chat_floor if kind == "chat" else typer_floor
        target = {"read": READ_TARGET, "help": HELP_TARGET, "chat": CHAT_TARGET}.get(kind)
        if ours is None:
            cells = ["failed", "", "", "", ""]
        else:
            ratio = ours[1] / floor[1]
            met = "" if target is None else ("yes" if ratio <= target else "**no**")
            cells = [f"{ours[0]:.0f}", f"{ours[1]:.0f}", f"{ratio:.2f}",
                     f"<= {target}" if target else ("floor" if kind == "floor" else "none"),
                     met]  # fmt: skip
        if args.baseline:
            base = timings.median(("base", label)) if kind != "floor" else None
            cells += (
                ["n/a", "n/a"] if base is None else [f"{base[1]:.0f}", f"{base[1] / floor[1]:.2f}"]
            )
        print(f"| `{label}` | " + " | ".join(cells) + " |")
    for variant, samples in prompt.items():
        ms = statistics.median(samples)
        name = "`chat` to first prompt (pty)" + (f", {args.baseline}" if variant else "")
        met = "yes" if ms <= PROMPT_TARGET_MS else "**no**"
        print(f"| {name} | {ms:.0f} | | | <= {PROMPT_TARGET_MS:.0f} ms | {met} |"
              + (" | |" if args.baseline else ""))  # fmt: skip


if __name__ == "__main__":
    main()
