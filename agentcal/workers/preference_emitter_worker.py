"""`python -m agentcal.workers.preference_emitter_worker [--once]`: keep habits on the calendar.

Each pass: pattern analysis (recurring agent-made events -> habit insights), then for every
user insights -> preferences -> events for the next AGENTCAL_EMIT_DAYS days, queueing
`calendar_sync` jobs. Loops every AGENTCAL_EMIT_INTERVAL_SECONDS, or one pass with --once.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agentcal import otel

log = logging.getLogger(__name__)
_PASS = {"kind": "preference_emitter"}  # what an emitter pass's span is named after


@dataclass
class PassResult:
    users: int
    created: int
    changed: int
    unplaced: int
    patterns: int
    in_place: int = 0  # events the pass found already where their preference wants them


def event_counts(counts: dict[str, int]) -> tuple[int, int, int]:
    """An emitter run's placement counts as (events created, changed, unplaced)."""
    created = counts.get("planned", 0) + counts.get("moved", 0)
    changed = counts.get("updated", 0) + counts.get("cancelled", 0)
    return created, changed, counts.get("unplaced", 0)


class EmitterWorker:
    """One emitter pass at a time, with a heartbeat like the job workers."""

    kind = "preference_emitter"

    def __init__(
        self,
        *,
        stop: threading.Event | None = None,
        worker_id: str | None = None,
        heartbeat_seconds: float | None = None,
        clock: Callable[[], datetime] | None = None,
    ):
        from agentcal.models import utcnow
        from agentcal.settings import get_settings
        from agentcal.workers.runner import default_worker_id

        self.stop = stop or threading.Event()
        self.worker_id = worker_id or default_worker_id(self.kind)
        self.heartbeat_seconds = heartbeat_seconds or get_settings().heartbeat_seconds
        self.clock = clock or utcnow
        self.done = 0
        self.failed = 0

    def run_once(self) -> PassResult:
        from datetime import timedelta

        from agentcal.health.monitoring import monitoring_service
        from agentcal.insights.patterns import LOOKBACK_DAYS, pattern_analysis
        from agentcal.planning.emitter import calendar_event_emitter
        from agentcal.settings import get_settings

        self._beat()
        now = self.clock()
        patterns = 0
        started_ns = time.time_ns()
        try:
            for user in pattern_analysis.users_with_agent_events(
                now - timedelta(days=LOOKBACK_DAYS)
            ):
                patterns += len(pattern_analysis.analyse_user(user, now=now))
            users = calendar_event_emitter.all_user_ids()
            results = calendar_event_emitter.process_users(users, get_settings().emit_days)
        except Exception as exc:
            self.failed += 1
            otel.export_job(_PASS, started_ns, time.time_ns(), f"{type(exc).__name__}: {exc}")
            self._beat()
            monitoring_service.raise_alert(
                f"the preference emitter failed: {exc}", source="emitter", dedupe=True
            )
            raise
        self.done += 1
        otel.export_job(_PASS, started_ns, time.time_ns(), None)
        self._beat()
        created = changed = unplaced = in_place = 0
        for r in results:
            c, ch, u = event_counts(r.counts)
            created, changed, unplaced = created + c, changed + ch, unplaced + u
            in_place += r.counts.get("unchanged", 0)
        return PassResult(len(users), created, changed, unplaced, patterns, in_place)

    def run_forever(self, interval: float | None = None) -> None:
        from agentcal.settings import get_settings
        from agentcal.workers.runner import Heartbeat, check_workers

        every = interval if interval is not None else get_settings().emit_interval_seconds
        check_workers(self.clock(), replacing=(self.kind,))
        beats = Heartbeat(self._beat, self.heartbeat_seconds, name=self.worker_id)
        try:
            while not self.stop.is_set():
                try:
                    result = self.run_once()
                    log.info("emitter pass: %s", result)
                except Exception as exc:  # one line; the traceback with -v
                    log.warning("emitter pass failed: %s: %s", type(exc).__name__, exc)
                    log.info("emitter pass traceback", exc_info=True)
                self.stop.wait(every)
        finally:
            beats.stop()
            self._beat("stopped")

    def _beat(self, state: str = "running") -> None:
        from agentcal.health.monitoring import monitoring_service
        from agentcal.workers.runner import log_failure

        try:
            monitoring_service.heartbeat(
                self.worker_id,
                self.kind,
                jobs_done=self.done,
                jobs_failed=self.failed,
                state=state,
                interval=self.heartbeat_seconds,
                now=self.clock(),
            )
        except Exception as exc:
            log_failure("emitter heartbeat failed", exc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentcal.workers.preference_emitter_worker", description=__doc__
    )
    parser.add_argument("--once", action="store_true", help="Run one pass, then exit.")
    args = parser.parse_args(argv)

    from agentcal.workers.runner import worker_main

    def body(stop: threading.Event) -> None:
        worker = EmitterWorker(stop=stop)
        if not args.once:
            worker.run_forever()
            return
        print(worker.run_once())
        worker._beat("stopped")

    return worker_main(body)


if __name__ == "__main__":
    sys.exit(main())
