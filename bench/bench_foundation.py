"""Foundation benchmarks: CLI start, the store, `agentcal costs` over a million calls.

    /work/venv/bin/python bench/bench_foundation.py [--rows 1000000] [--runs 5] [--baseline REF]

Each figure is measured next to a baseline in the same run (python -c pass; a raw sqlite3
insert; the sqlite3 shell running the equivalent GROUP BY on the same file). With --baseline,
the insights and costs commands also run on that commit's code (`git archive`), alternating
run by run with this code's. The generated
databases are cached in $TMPDIR/agentcal-bench (keyed by row count and migration), since
inserting a million rows takes about half a minute. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import hashlib
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
MODELS = [("gpt-4o-mini", 0.15, 0.6), ("gpt-4o", 2.5, 10.0), ("claude-3-5-haiku", 0.8, 4.0),
          ("gpt-4.1-nano", 0.1, 0.4), ("my-llama", None, None)]  # fmt: skip
ACTIONS = ["create", "read", "update", "delete", "search", "schedule", "insight", "answer"]
COLUMNS = (
    "created_at", "user_id", "session_id", "agent_run_id", "agent_action", "agent_tool",
    "llm_provider", "llm_model", "llm_prompt_tokens", "llm_completion_tokens", "llm_total_tokens",
    "llm_cached_tokens", "tokens_estimated", "llm_cost_usd", "cost_source", "cost_note",
    "user_message", "agent_response", "agent_state", "tool_result", "execution_time_ms",
    "intent_category", "entities", "status", "error",
)  # fmt: skip


def _rows(n: int, seed: int = 42):
    rnd = random.Random(seed)
    end = datetime.now(UTC).replace(tzinfo=None)
    for i in range(n):
        model, p_in, p_out = MODELS[rnd.randrange(len(MODELS))]
        p, c = rnd.randrange(200, 4000), rnd.randrange(10, 800)
        cached = rnd.choice((0, 0, p // 2))
        cost = None if p_in is None else ((p - cached) * p_in + cached * p_in / 2 + c * p_out) / 1e6
        when = end - timedelta(seconds=rnd.random() * 365 * 86400)
        err = rnd.random() < 0.02
        yield (
            when.strftime("%Y-%m-%d %H:%M:%S.%f"), USER, f"s{rnd.randrange(50_000)}", f"run-{i}",
            rnd.choice(ACTIONS), "create_event", "openai", model, p, c, p + c, cached, 0, cost,
            "genai-prices" if cost is not None else "unpriced",
            None if cost is not None else "no price data",
            "Schedule gym tomorrow at 6am and move my 1:1 with Sam to Friday afternoon please",
            "Created gym event for tomorrow 06:00-07:00 and moved the 1:1 to Friday 15:00.",
            '{"messages": [{"role": "user", "content": "Schedule gym tomorrow at 6am"}]}',
            '{"event_id": "abc123"}', rnd.lognormvariate(7, 0.6), "schedule",
            '{"when": "tomorrow"}', "error" if err else "ok", "boom" if err else None,
        )  # fmt: skip


def build_db(path: Path, rows: int) -> None:
    from agentcal.db import dispose_engines, get_engine

    get_engine(f"sqlite:///{path}")
    dispose_engines()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    placeholders = ",".join("?" * len(COLUMNS))
    conn.executemany(
        f"INSERT INTO agent_observability ({','.join(COLUMNS)}) VALUES ({placeholders})",
        _rows(rows),
    )
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def cached_db(rows: int) -> Path:
    migrations = sorted((ROOT / "migrations/versions").glob("*.py"))
    schema = hashlib.sha1(b"".join(m.read_bytes() for m in migrations)).hexdigest()
    cache = Path(tempfile.gettempdir()) / "agentcal-bench"
    path = cache / f"obs-{rows}-{schema[:10]}" / "agentcal.db"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        t = time.perf_counter()
        build_db(tmp, rows)
        tmp.rename(path)
        print(
            f"built {rows:,}-row database in {time.perf_counter() - t:.1f} s: {path}",
            file=sys.stderr,
        )
    return path


def many_models_db(rows: int, models: int = 100) -> Path:
    """The `rows` database with `models` distinct models (many small groups), cached."""
    source = cached_db(rows)
    path = source.parent.with_name(source.parent.name + f"-{models}models") / "agentcal.db"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        shutil.copy(source, tmp)
        conn = sqlite3.connect(tmp)
        conn.execute("UPDATE agent_observability SET llm_model = 'm' || (id % ?)", (models,))
        conn.commit()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        tmp.rename(path)
    return path


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AGENTCAL_HOME=str(home), AGENTCAL_USER=USER, AGENTCAL_TIMEZONE="Europe/Paris",
               PYTHONPATH=str(ROOT), COLUMNS="120")  # fmt: skip
    return env


CPU_MS: dict[str, float] = {}  # median CPU (user + sys) ms per command, filled by time_cmd


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_cmd(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time in ms of `runs` runs (after one warm-up run). The median CPU time
    (user + sys) goes to CPU_MS: on a loaded machine it is the steadier figure."""
    subprocess.run(cmd, env=env, capture_output=True, check=True)
    times, cpu = [], []
    for _ in range(runs):
        c = _children_cpu()
        t = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((_children_cpu() - c) * 1000)
    CPU_MS[" ".join(cmd)] = statistics.median(cpu)
    return statistics.median(times)


def time_alternating(
    cmd: list[str], runs: int, env: dict[str, str], other_env: dict[str, str]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Median (wall ms, CPU ms) of `cmd` under `env` and under `other_env`, one run of each in
    turn (after a warm-up of each), so that both see the same machine load."""
    samples: dict[int, tuple[list[float], list[float]]] = {0: ([], []), 1: ([], [])}
    for e in (env, other_env):
        subprocess.run(cmd, env=e, capture_output=True, check=True)
    for _ in range(runs):
        for i, e in enumerate((env, other_env)):
            c = _children_cpu()
            t = time.perf_counter()
            subprocess.run(cmd, env=e, capture_output=True, check=True)
            samples[i][0].append((time.perf_counter() - t) * 1000)
            samples[i][1].append((_children_cpu() - c) * 1000)
    med = statistics.median
    return (med(samples[0][0]), med(samples[0][1])), (med(samples[1][0]), med(samples[1][1]))


def with_cpu(cmd: list[str], wall_ms: float) -> str:
    return f"{wall_ms:.0f} ms (CPU {CPU_MS[' '.join(cmd)]:.0f} ms)"


def bench_log_agent_call(home: Path, calls: int = 300) -> dict[str, float]:
    """Median ms of log_agent_call with 100,000 rows present, and what it is made of."""
    os.environ.update(_env(home))
    from agentcal.db import dispose_engines, get_engine
    from agentcal.observability.calls import AgentObservabilityService
    from agentcal.observability.pricing import price_call
    from agentcal.settings import reset_settings

    reset_settings()
    dispose_engines()
    svc = AgentObservabilityService(get_engine())
    kwargs = dict(user_id=USER, agent_action="create", user_message="Schedule gym tomorrow at 6am",
                  agent_response="Created gym event", agent_tool="create", tool_result={"event_id": "x"},
                  execution_time_ms=1500, llm_model="gpt-4o-mini", llm_prompt_tokens=200,
                  llm_completion_tokens=50)  # fmt: skip

    def median_ms(fn, n: int = calls) -> float:
        fn()
        times = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times)

    out = {
        "log_agent_call (priced by genai-prices)": median_ms(lambda: svc.log_agent_call(**kwargs)),
        "log_agent_call (cost given)": median_ms(
            lambda: svc.log_agent_call(**kwargs, llm_cost_usd=0.001)
        ),
        "price_call alone": median_ms(lambda: price_call("gpt-4o-mini", 200, 50, None)),
    }
    dispose_engines()
    raw = sqlite3.connect(home / "agentcal.db", isolation_level=None)
    raw.execute("PRAGMA synchronous=NORMAL")
    row = next(_rows(1, seed=7))
    sql = f"INSERT INTO agent_observability ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})"

    def raw_insert() -> None:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute(sql, row)
        raw.execute("COMMIT")

    out["baseline: raw sqlite3 insert + commit"] = median_ms(raw_insert)
    raw.close()
    return out


SHELL_DAILY = (
    "SELECT date(created_at, '+1 hours') AS day, COUNT(*), SUM(status = 'error'), "
    "COUNT(llm_cost_usd), SUM(llm_cost_usd), SUM(llm_prompt_tokens), SUM(llm_completion_tokens), "
    "SUM(llm_cached_tokens), SUM(llm_total_tokens) FROM agent_observability "
    f"WHERE user_id = '{USER}' GROUP BY day;"
)
SHELL_MODEL = SHELL_DAILY.replace("date(created_at, '+1 hours') AS day", "llm_model").replace(
    "GROUP BY day", "GROUP BY llm_model"
)
SHELL_ACTION = SHELL_MODEL.replace("llm_model", "agent_action")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="calls in the costs database")
    parser.add_argument("--runs", type=int, default=5, help="runs per CLI measurement")
    parser.add_argument(
        "--baseline",
        metavar="GIT_REF",
        help="also time the insights and costs commands on this commit's code, in the same run",
    )
    args = parser.parse_args()
    py = sys.executable
    results: list[tuple[str, str, str, str]] = []

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = _env(home)
        before: dict[str, str] = {}  # measurement label -> the baseline commit's figure
        if args.baseline:
            from _baseline import extract

            old_root = extract(args.baseline, Path(tmp) / "baseline")

        def timed(label: str, cmd: list[str], env: dict[str, str], runs: int = args.runs) -> float:
            """`cmd`'s median wall ms on this code. With --baseline, runs alternate with runs
            on the baseline's code (both see the same load), whose figure goes to `before`."""
            if not args.baseline:
                return time_cmd(cmd, runs, env)
            old_env = {**env, "PYTHONPATH": str(old_root)}
            (ours, ours_cpu), (old, old_cpu) = time_alternating(cmd, runs, env, old_env)
            CPU_MS[" ".join(cmd)] = ours_cpu
            before[label] = f"{old:.0f} ms (CPU {old_cpu:.0f} ms); now {ours / old:.2f}x"
            return ours

        base = time_cmd([py, "-c", "pass"], args.runs * 2)
        helptime = time_cmd([py, "-m", "agentcal", "--help"], args.runs * 2, env)
        results.append(("`agentcal --help`", with_cpu([py, "-m", "agentcal", "--help"], helptime),
                        f"`python -c pass` {with_cpu([py, '-c', 'pass'], base)}",
                        f"{helptime / base:.1f}x; target <= 150 ms"))  # fmt: skip
        for i in range(20):
            subprocess.run([py, "-m", "agentcal", "insights", "set", "health", f"k{i}", str(i)],
                           env=env, capture_output=True, check=True)  # fmt: skip
        ins_cmd = [py, "-m", "agentcal", "insights", "list"]
        ins = timed("`agentcal insights list` (20 insights)", ins_cmd, env)
        results.append(("`agentcal insights list` (20 insights)", with_cpu(ins_cmd, ins),
                        f"`python -c pass` {base:.0f} ms", "target <= 500 ms"))  # fmt: skip

        small = home.parent / "small"
        small.mkdir()
        shutil.copy(cached_db(100_000), small / "agentcal.db")
        for name, ms in bench_log_agent_call(small).items():
            results.append((f"{name}, 100,000 rows present", f"{ms:.3f} ms", "", "target <= 1 ms median"
                            if name.startswith("log_agent_call (priced") else ""))  # fmt: skip

        big = cached_db(args.rows)
        big_home = home.parent / "big"
        big_home.mkdir()
        os.symlink(big, big_home / "agentcal.db")
        benv = _env(big_home)
        shell = "/usr/bin/sqlite3"
        for label, cli_args, sql in (
            ("`agentcal costs` (totals, p50/p95, daily chart)", [], SHELL_DAILY),
            ("`agentcal costs --by model`", ["--by", "model"], SHELL_MODEL),
            ("`agentcal costs --by action`", ["--by", "action"], SHELL_ACTION),
            ("`agentcal costs --by day`", ["--by", "day"], SHELL_DAILY),
        ):
            costs_cmd = [py, "-m", "agentcal", "costs", *cli_args]
            ours = timed(f"{label}, {args.rows:,} calls", costs_cmd, benv)
            theirs = time_cmd([shell, str(big), sql], args.runs)
            # The shell's own plan reads the wide rows; pinned to the covering index it does not.
            covered = sql.replace(
                "FROM agent_observability", "FROM agent_observability INDEXED BY ix_obs_usage"
            )
            best = time_cmd([shell, str(big), covered], args.runs)
            results.append((f"{label}, {args.rows:,} calls", with_cpu(costs_cmd, ours),
                            f"sqlite3 shell GROUP BY {theirs:.0f} ms (own plan), {best:.0f} ms (covering index)",
                            f"{ours / theirs:.2f}x / {ours / best:.2f}x; target <= 1000 ms, <= 3x"))  # fmt: skip

        # Many small groups in a big window: 100 models over the same million calls.
        many_home = home.parent / "many"
        many_home.mkdir()
        os.symlink(many_models_db(args.rows), many_home / "agentcal.db")
        label = f"`agentcal costs --by model`, 100 models, {args.rows:,} calls"
        many_cmd = [py, "-m", "agentcal", "costs", "--by", "model"]
        ours = timed(label, many_cmd, _env(many_home), runs=max(1, args.runs // 2))
        results.append((label, with_cpu(many_cmd, ours), "", "target <= 1000 ms"))

    print(f"\nMachine: {machine()}\n")
    old = f" {args.baseline} (same run) |" if args.baseline else ""
    print(f"| measurement | result | baseline (same run) | ratio / target |{old}")
    print("|---|---|---|---|" + ("---|" if args.baseline else ""))
    for row in results:
        extra = f" {before.get(row[0], '')} |" if args.baseline else ""
        print("| " + " | ".join(row) + " |" + extra)


if __name__ == "__main__":
    main()
