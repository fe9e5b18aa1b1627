"""HTTP requests per N events through the real Google and CalDAV backends, against the real
test servers: the stateful fake Google Calendar that validates every body (tests/google_server.py)
and a real Radicale (tests/radicale_server.py).

Phases, each over the same N events: first sync (create), update (every event renamed),
unchanged (the same revisions pushed again, e.g. a retried job), delete. Google's baseline in
the same run is the same backend with one call per HTTP request (batch size 1); CalDAV has no
batch, so its floor is one request per event. Request counts are deterministic: no load effect.

    python bench/bench_calendar_requests.py [--events 100] [--write-docs]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _machine import machine, write_docs_section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PHASES = ("create", "update", "unchanged", "delete")


def _events(n: int):  # type: ignore[no-untyped-def]
    from agentcal.calendars.base import EventData

    t0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
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


def _phases(backend, count, n: int, etags: bool = True) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Requests per phase; `count()` reads the requests sent so far. etags=False: the store
    keeps no ETag (CalDAV then reads each object before writing it)."""
    changes = {
        "create": {},
        "update": {"revision": 2, "title": "Focus block (renamed)"},
        "unchanged": {},
        "delete": {"revision": 3, "cancelled": True},
    }
    out: dict[str, int] = {}
    synced = _events(n)
    for phase in PHASES:
        batch = [replace(e, **changes[phase]) for e in synced]  # type: ignore[arg-type]
        before = count()
        results = backend.sync_many(batch)
        out[phase] = count() - before
        assert all(r.ok and not r.skipped for r in results), [r.error for r in results][:3]
        synced = [  # what the store records after a sync (calendar_sync, calendar sync)
            replace(e, backend_event_id=r.backend_event_id, backend_etag=r.etag if etags else None)
            for e, r in zip(batch, results, strict=True)
        ]
    return out


def google(n: int, batch_size: int) -> dict[str, int]:
    from agentcal.calendars.google import GoogleCalendar
    from agentcal.settings import get_settings, reset_settings
    from tests.google_server import FakeGoogleCalendar, token_json

    with FakeGoogleCalendar() as fake:
        os.environ["AGENTCAL_CALENDAR"] = "google"
        os.environ["AGENTCAL_GOOGLE_API_ENDPOINT"] = fake.url
        reset_settings()
        settings = get_settings()
        settings.ensure_data_dir()
        settings.google_token_path.write_text(token_json())
        os.chmod(settings.google_token_path, 0o600)
        backend = GoogleCalendar(settings, batch_size=batch_size)
        out = _phases(backend, lambda: fake.http_requests, n)
        assert not fake.events(), "every event deleted"
        return out


def caldav(n: int, storage: Path, etags: bool = True) -> dict[str, int]:
    from agentcal.calendars.caldav import CalDAVCalendar
    from agentcal.settings import get_settings, reset_settings
    from tests.radicale_server import radicale_server

    with radicale_server(storage) as url:
        os.environ["AGENTCAL_CALENDAR"] = "caldav"
        os.environ["AGENTCAL_CALDAV_URL"] = url
        os.environ["AGENTCAL_CALDAV_USERNAME"] = f"bench{int(etags)}"
        os.environ["AGENTCAL_CALDAV_PASSWORD"] = "bench"
        os.environ["AGENTCAL_CALENDAR_TIMEOUT"] = "60"
        reset_settings()
        backend = CalDAVCalendar(get_settings())
        backend.collection()
        discovery = backend.http_requests
        out = _phases(backend, lambda: backend.http_requests, n, etags)
        out["discovery"] = discovery
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    n = args.events
    home = tempfile.mkdtemp(prefix="agentcal-bench-")
    os.environ["AGENTCAL_HOME"] = home
    os.environ["AGENTCAL_TIMEZONE"] = "America/New_York"

    batched, single = google(n, 50), google(n, 1)
    dav = caldav(n, Path(tempfile.mkdtemp(prefix="agentcal-bench-dav-")))
    dav_read_first = caldav(n, Path(tempfile.mkdtemp(prefix="agentcal-bench-dav-")), etags=False)
    targets = {
        "google": {"create": 3, "update": 5, "unchanged": 5},
        "caldav": {"create": 105, "update": 105},
    }
    rows = [
        f"| {n} events | Google, one call per request (baseline) | Google, batched (50) "
        f"| target | CalDAV, no stored ETag (baseline) | CalDAV, stored ETags | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for phase in PHASES:
        g, c = targets["google"].get(phase), targets["caldav"].get(phase)
        rows.append(
            f"| {phase} | {single[phase]} | {batched[phase]} | {f'≤ {g}' if g else '-'} "
            f"| {dav_read_first[phase]} | {dav[phase]} | {f'≤ {c}' if c else '-'} |"
        )
    rows.append(
        f"| finding the calendar (once per process) | - | - | - "
        f"| {dav_read_first['discovery']} | {dav['discovery']} | - |"
    )
    table = "\n".join(rows)
    print(table)
    for name, got, want in [
        *((f"google {p}", batched[p], t) for p, t in targets["google"].items()),
        *((f"caldav {p}", dav[p], t) for p, t in targets["caldav"].items()),
    ]:
        print(f"{name}: {got} requests (target <= {want}) {'met' if got <= want else 'MISSED'}")
    if args.write_docs:
        section = (
            "## Calendar requests per 100 events (bench/bench_calendar_requests.py)\n\n"
            f"{n} events through the real backends against the real test servers: the stateful "
            "fake Google Calendar that validates every body, and a real Radicale on 127.0.0.1 "
            "(Radicale 3, its own HTTP server). "
            "Request counts are deterministic (the load does not change them). Google's baseline "
            "is the same backend with one call per HTTP request; CalDAV's is the same backend "
            "with no ETag kept in the store (each update reads the object first, as before "
            "this change). CalDAV has no batch: one request per event is its floor. Phases: create (first sync), update (every event "
            "renamed: Google reads the events first in one batched round, to leave the user's "
            "edits and skip what they deleted or moved; CalDAV writes each object with If-Match "
            "on the ETag stored when agentcal wrote it, and reads it first only on a 412), "
            "unchanged (the same revisions pushed "
            "again: Google reads and writes nothing; CalDAV with a stored ETag rewrites each "
            "object whole, one PUT, where reading first would be one GET; the job layer never "
            "pushes a revision already synced), delete.\n\n"
            f"{table}\n\n"
            f"Machine: {machine()}. Run: `python bench/bench_calendar_requests.py --events {n} "
            "--write-docs`.\n"
        )
        write_docs_section("## Calendar requests per 100 events", section)


if __name__ == "__main__":
    main()
