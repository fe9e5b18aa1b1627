"""Google Calendar sync: HTTP requests per N events and time with an emulated round trip.

The Google backend runs unchanged (googleapiclient, the bundled discovery document, batching,
retries) against an in-process fake of the Calendar API whose every HTTP request sleeps for the
round-trip time (default 100 ms). The baseline is the same backend sending one call per HTTP
request (batch size 1), measured in the same run.

    python bench/bench_sync.py [--events 100] [--rtt-ms 100] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _machine import machine, write_docs_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BOUNDARY = "batch_bench"


class LatencyHttp:
    """An httplib2.Http stand-in: sleeps one round trip per request, answers like Google."""

    def __init__(self, rtt: float) -> None:
        self.rtt = rtt
        self.requests = 0
        self.store: dict[str, dict] = {}  # type: ignore[type-arg]

    def request(self, uri, method="GET", body=None, headers=None, **_):  # type: ignore[no-untyped-def]
        import httplib2

        self.requests += 1
        time.sleep(self.rtt)
        if "/batch/" in uri:
            parts = []
            for key, m, path, payload in _split_batch(body):
                status, content = self._one(m, path, payload)
                parts.append(
                    f"--{BOUNDARY}\r\nContent-Type: application/http\r\n"
                    f"Content-ID: <response-b + {key}>\r\n\r\n"
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(content)}\r\n\r\n{content}"
                )
            text = "\r\n".join([*parts, f"--{BOUNDARY}--"])
            headers = {"status": "200", "content-type": f"multipart/mixed; boundary={BOUNDARY}"}
            return httplib2.Response(headers), text.encode()
        path = uri.split("://", 1)[1].split("/", 1)[1]
        status, content = self._one(method, "/" + path, body)
        return httplib2.Response({"status": str(status)}), content.encode()

    def _one(self, method: str, path: str, body: str | None) -> tuple[int, str]:
        path = path.split("?")[0]
        event_id = path.rsplit("/", 1)[-1]
        if method == "POST":
            data = json.loads(body or "{}")
            if data["id"] in self.store:
                return 409, json.dumps({"error": {"errors": [{"reason": "duplicate"}]}})
            self.store[data["id"]] = dict(data, status="confirmed")
            return 200, json.dumps(self.store[data["id"]])
        if event_id not in self.store:
            return 404, json.dumps({"error": {"errors": [{"reason": "notFound"}]}})
        if method == "GET":
            return 200, json.dumps(self.store[event_id])
        if method == "PATCH":
            self.store[event_id].update(json.loads(body or "{}"))
            return 200, json.dumps(self.store[event_id])
        if method == "DELETE":
            self.store[event_id]["status"] = "cancelled"
            return 204, ""
        return 400, "{}"


def _split_batch(body: str):  # type: ignore[no-untyped-def]
    text = body.replace("\r\n", "\n")
    boundary = text.lstrip().split("\n", 1)[0].strip()
    for chunk in text.split(boundary)[1:]:
        if chunk.startswith("--"):
            break
        part_headers, request = chunk.strip("\n").split("\n\n", 1)
        cid = next(
            line.split(":", 1)[1].strip()
            for line in part_headers.splitlines()
            if line.lower().startswith("content-id")
        )
        head, _, payload = request.partition("\n\n")
        method, path, _ = head.splitlines()[0].split(" ", 2)
        yield cid[1:-1].split(" + ", 1)[1], method, path, payload.strip() or None


def _events(n: int):  # type: ignore[no-untyped-def]
    from agentcal.calendars.base import EventData

    t0 = datetime(2026, 11, 30, 11, tzinfo=UTC)
    return [
        EventData(
            id=i + 1,
            uid=f"{i:032x}@agentcal",
            user_id="bench",
            title=f"Focus block {i}",
            start=t0 + timedelta(hours=i),
            end=t0 + timedelta(hours=i, minutes=50),
            timezone="America/New_York",
            revision=1,
        )
        for i in range(n)
    ]


def run(n: int, rtt: float, batch_size: int) -> dict[str, float]:
    """Insert n events, then update them all, then delete them all; requests and seconds each."""
    from dataclasses import replace

    from agentcal.calendars.google import GoogleCalendar
    from agentcal.settings import get_settings

    http = LatencyHttp(rtt)
    backend = GoogleCalendar(get_settings(), transport=http, batch_size=batch_size)
    out: dict[str, float] = {}
    changes = {
        "insert": {},
        "update": {"revision": 2, "title": "Focus block (renamed)"},
        "delete": {"revision": 3, "cancelled": True},
    }
    synced = _events(n)
    for name, change in changes.items():
        batch = [replace(e, **change) for e in synced]  # type: ignore[arg-type]
        before, t = http.requests, time.perf_counter()
        results = backend.sync_many(batch)
        out[f"{name}_s"] = time.perf_counter() - t
        out[f"{name}_requests"] = http.requests - before
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        synced = [
            replace(e, backend_event_id=r.backend_event_id)
            for e, r in zip(batch, results, strict=True)
        ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--rtt-ms", type=float, default=100.0)
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="agentcal-bench-")
    os.environ["AGENTCAL_HOME"] = home
    os.environ["AGENTCAL_TIMEZONE"] = "America/New_York"
    os.environ["AGENTCAL_CALENDAR"] = "google"
    from agentcal.settings import get_settings

    settings = get_settings()
    settings.ensure_data_dir()
    expiry = (datetime.now(UTC) + timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
    settings.google_token_path.write_text(
        json.dumps(
            {
                "token": "bench",
                "refresh_token": "bench",
                "client_id": "bench",
                "client_secret": "bench",
                "token_uri": "https://oauth2.googleapis.com/token",
                "expiry": expiry.isoformat() + "Z",
            }
        )
    )
    rtt = args.rtt_ms / 1000
    n = args.events
    batched = run(n, rtt, 50)
    single = run(n, rtt, 1)

    rows = []
    for phase in ("insert", "update", "delete"):
        rb, rs = batched[f"{phase}_requests"], single[f"{phase}_requests"]
        tb, ts = batched[f"{phase}_s"], single[f"{phase}_s"]
        rows.append(
            f"| {phase} | {rs:.0f} | {rb:.0f} | {rs / rb:.0f}x | {ts:.2f} | {tb:.2f} | {ts / tb:.1f}x |"
        )
    table = "\n".join(
        [
            f"| {n} events | requests one-by-one | requests batched (50) | fewer | "
            f"s one-by-one | s batched | faster |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    if args.write_docs:
        section = (
            "## Calendar sync (Google, bench/bench_sync.py)\n\n"
            f"{n} events through the Google backend against an in-process fake of the Calendar "
            f"API with an emulated {args.rtt_ms:.0f} ms round trip per HTTP request. Baseline: "
            "the same backend sending one call per request (batch size 1), same run. "
            "Insert = first sync; update = every event renamed (a GET round to respect user "
            "edits, then a PATCH round); delete = every event cancelled. Target: <= 3 requests "
            "per 100 inserted events.\n\n"
            f"{table}\n\n"
            f"Machine: {machine()}. "
            f"Run: `python bench/bench_sync.py --events {n} --rtt-ms {args.rtt_ms:.0f} --write-docs`.\n"
        )
        write_docs_section("## Calendar sync (Google", section)


if __name__ == "__main__":
    main()
