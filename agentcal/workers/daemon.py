"""`agentcal daemon`: the job processor and the preference emitter in one process.

APScheduler 3 BlockingScheduler in UTC with an in-memory job store (the state lives in our
tables), `coalesce=True, max_instances=1, misfire_grace_time=300` (its 1 s default skips runs
after a suspend). Both jobs first run at start (`next_run_time=now`; an interval trigger would
otherwise wait one interval). Each job is bounded in time, so a slow pass cannot block the next
ones forever. SIGTERM/SIGINT set a stop flag that the job loop checks between jobs, then the
scheduler shuts down waiting for the job in hand.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)
MONITOR_INTERVAL_SECONDS = 60
MAX_DRAIN_SECONDS = 50.0


@dataclass
class OnceResult:
    jobs_run: int
    emit: Any


def run_once() -> OnceResult:
    """One emitter pass, then every due job (including the syncs that pass queued)."""
    from agentcal.workers.preference_emitter_worker import EmitterWorker
    from agentcal.workers.runner import JobWorker, default_worker_id

    emitter = EmitterWorker(worker_id=default_worker_id("daemon-emitter"))
    emit = emitter.run_once()
    emitter._beat("stopped")
    worker = JobWorker("async_job_processor", worker_id=default_worker_id("daemon-jobs"))
    ran = worker.run_once()
    worker.finish()
    return OnceResult(ran, emit)


def check_workers() -> None:
    """Alert (once) about each stale worker."""
    from agentcal.services.monitoring import monitoring_service

    for w in monitoring_service.workers():
        if w.stale:
            monitoring_service.raise_alert(
                f"worker {w.worker_id} stopped sending heartbeats",
                source="monitor",
                level="warning",
                dedupe=True,
            )


def _warm_up() -> None:
    """Import everything the jobs use and open the store in this thread: the scheduler's pool
    threads would otherwise import SQLAlchemy concurrently, which fails (circular import)."""
    import importlib

    from agentcal.db import get_engine

    get_engine()
    for name in (
        "agentcal.models",
        "agentcal.services.jobs",
        "agentcal.services.monitoring",
        "agentcal.services.calendar_events",
        "agentcal.services.calendar_preferences",
        "agentcal.services.calendar_event_emitter",
        "agentcal.services.insight_preferences",
        "agentcal.services.pattern_analysis",
        "agentcal.services.user_insights",
        "sqlmodel",
    ):
        importlib.import_module(name)


def run_daemon(stop: threading.Event | None = None) -> None:
    """Run until `stop` is set (by SIGTERM/SIGINT when called from the CLI)."""
    from datetime import UTC, datetime

    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
    from apscheduler.schedulers.blocking import BlockingScheduler

    from agentcal.settings import get_settings
    from agentcal.workers.preference_emitter_worker import EmitterWorker
    from agentcal.workers.runner import JobWorker, default_worker_id

    settings = get_settings()
    stop = stop or threading.Event()
    _warm_up()
    jobs = JobWorker("async_job_processor", worker_id=default_worker_id("daemon-jobs"), stop=stop)
    emitter = EmitterWorker(stop=stop, worker_id=default_worker_id("daemon-emitter"))
    scheduler = BlockingScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )

    def drain() -> None:
        if not stop.is_set():
            jobs.run_once(max_seconds=MAX_DRAIN_SECONDS)

    def emit() -> None:
        if not stop.is_set():
            emitter.run_once()

    def on_event(event: Any) -> None:  # runs on a pool thread: keep it tiny
        log.warning("scheduler event %s for job %s", event.code, getattr(event, "job_id", "?"))

    now = datetime.now(UTC)
    scheduler.add_job(
        drain, "interval", seconds=settings.worker_poll_seconds, id="jobs", next_run_time=now
    )
    scheduler.add_job(
        emit, "interval", seconds=settings.emit_interval_seconds, id="emit", next_run_time=now
    )
    scheduler.add_job(check_workers, "interval", seconds=MONITOR_INTERVAL_SECONDS, id="monitor")
    scheduler.add_listener(on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)

    def watch_stop() -> None:
        stop.wait()
        log.info("stopping: waiting for the job in hand")
        while not scheduler.running:  # a signal that came before start() finished
            time.sleep(0.05)
        with contextlib.suppress(Exception):  # already stopped
            scheduler.shutdown(wait=True)

    threading.Thread(target=watch_stop, name="agentcal-stop", daemon=True).start()
    try:
        scheduler.start()
    finally:
        stop.set()
        jobs.finish()
        emitter._beat("stopped")
