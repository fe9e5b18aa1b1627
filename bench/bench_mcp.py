"""MCP benchmark: a `list_events` round trip over stdio on a store with 10,000 events.

    python bench/bench_mcp.py [--events 10000] [--calls 60]

The SDK's own client (`mcp.Client`) starts `python -m agentcal mcp` over stdio, as Claude
Desktop would. Timed: `list_events` (the default week) end to end, the client's `ping` round
trip (the transport's floor, same run), and the same `list_events` operation called directly in
this process (no MCP, no recording), so the ratios show where the time goes. Target: the
`list_events` round trip <= 20 ms (median).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _machine import machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

USER = "bench"


def seed(events: int) -> int:
    """`events` events for USER, one every ~105 minutes from a year ago to a year ahead."""
    from agentcal.db import session_scope
    from agentcal.planning.events import calendar_events_service

    step = timedelta(days=730) / events
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=365)
    with session_scope() as s:
        for n in range(events):
            calendar_events_service.create_event(
                user_id=USER, title=f"Block {n}", start=start + n * step, duration_minutes=45,
                timezone="Europe/Paris", sync=False, session=s,
            )  # fmt: skip
    from agentcal.agent.context import AgentContext
    from agentcal.agent.operations import list_events

    return len(list_events(AgentContext(user_id=USER, timezone="Europe/Paris"))["events"])


def direct(calls: int) -> float:
    from agentcal.agent.context import AgentContext
    from agentcal.agent.operations import list_events

    ctx = AgentContext(user_id=USER, timezone="Europe/Paris")
    list_events(ctx)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        list_events(ctx)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _child_cpu_ms() -> float:
    """CPU time (user + system) of this process's `agentcal mcp` child, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and b"mcp" in cmdline:
            return (int(fields[11]) + int(fields[12])) * 1000 / tick
    return float("nan")


def over_stdio(calls: int) -> dict[str, float]:
    import warnings

    import anyio
    from mcp import Client, MCPDeprecationWarning, StdioServerParameters
    from mcp.types import Implementation

    # `ping` exists in the handshake-era protocol this client speaks (mode="legacy"), as
    # Claude Desktop does today; the SDK warns that the 2026-07-28 protocol dropped it.
    warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

    env = dict(os.environ, PYTHONPATH=str(ROOT))
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "agentcal", "mcp", "--user", USER], env=env
    )

    async def main() -> dict[str, float]:
        t0 = time.perf_counter()
        async with Client(
            params, mode="legacy", client_info=Implementation(name="bench", version="1")
        ) as client:
            started = (time.perf_counter() - t0) * 1000
            for _ in range(5):  # warm up: first queries, caches
                await client.call_tool("list_events", {})
                await client.send_ping()
            calls_ms, pings_ms = [], []
            server0, client0 = _child_cpu_ms(), time.process_time()
            for _ in range(calls):
                t0 = time.perf_counter()
                result = await client.call_tool("list_events", {})
                calls_ms.append((time.perf_counter() - t0) * 1000)
                assert not result.is_error
                t0 = time.perf_counter()
                await client.send_ping()
                pings_ms.append((time.perf_counter() - t0) * 1000)
            server_cpu = (_child_cpu_ms() - server0) / calls
            client_cpu = (time.process_time() - client0) * 1000 / calls
        calls_ms.sort()
        return {
            "server_cpu_ms": server_cpu,
            "client_cpu_ms": client_cpu,
            "start_ms": started,
            "call_ms": statistics.median(calls_ms),
            "call_p95_ms": calls_ms[int(0.95 * (len(calls_ms) - 1))],
            "ping_ms": statistics.median(pings_ms),
        }

    return anyio.run(main)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000, help="events in the store")
    parser.add_argument("--calls", type=int, default=60, help="timed list_events calls")
    args = parser.parse_args()
    os.environ["AGENTCAL_HOME"] = tempfile.mkdtemp(prefix="agentcal-bench-mcp-")
    os.environ["AGENTCAL_USER"] = USER
    os.environ["AGENTCAL_TIMEZONE"] = "Europe/Paris"
    for name in [n for n in os.environ if n.startswith("OTEL_")]:
        del os.environ[name]

    week = seed(args.events)
    direct_ms = direct(args.calls)
    r = over_stdio(args.calls)
    print(
        "\n".join(
            [
                f"Machine: {machine()}. {args.events:,} events in the store, {week} in the "
                f"default week; median of {args.calls} calls.",
                "",
                "| | ms | ratio to ping |",
                "|---|---:|---:|",
                f"| `ping` round trip over stdio (the transport's floor) | {r['ping_ms']:.2f} | 1.0 |",
                f"| `list_events` in-process, no MCP, no recording | {direct_ms:.2f} | "
                f"{direct_ms / r['ping_ms']:.1f} |",
                f"| `list_events` round trip over stdio (target <= 20) | {r['call_ms']:.2f} | "
                f"{r['call_ms'] / r['ping_ms']:.1f} |",
                f"| `list_events` round trip, p95 | {r['call_p95_ms']:.2f} | |",
                f"| CPU per call + ping, server process | {r['server_cpu_ms']:.2f} | |",
                f"| CPU per call + ping, client (the SDK's `Client`) | {r['client_cpu_ms']:.2f} | |",
                f"| server start to initialized (once) | {r['start_ms']:.0f} | |",
            ]
        )
    )


if __name__ == "__main__":
    main()
