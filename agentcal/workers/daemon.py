"""`agentcal daemon`: the job processor and the preference emitter in one process.

`Daemon` holds the parts and their timetable (`tasks`): a heartbeat for both workers every
AGENTCAL_HEARTBEAT_SECONDS, idle or busy; a queue drain every AGENTCAL_WORKER_POLL_SECONDS;
an emitter pass every AGENTCAL_EMIT_INTERVAL_SECONDS; the monitor every minute. Every time it
writes comes from its `clock`, so a test can run the same timetable through simulated hours.

`run_daemon` runs the timetable on APScheduler 3: BlockingScheduler in UTC, in-memory job store
(the state lives in our tables), `coalesce=True, max_instances=1, misfire_grace_time=300` (its
1 s default skips runs after a suspend). Every task first runs at start (`next_run_time=now`;
an interval trigger would otherwise wait one interval) and runs on its own pool thread, so the
heartbeat goes on during a long drain. Each pass is bounded in time, so a slow one cannot block
the next ones forever. SIGTERM/SIGINT set a stop flag that the job loop checks between jobs,
then the scheduler shuts down waiting for the job in hand.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)
MONITOR_INTERVAL_SECONDS = 60
MAX_DRAIN_SECONDS = 50.0


@dataclass
class OnceResult:
    """What `daemon --once` did: its emitter pass, and what the jobs it ran did."""

    jobs_run: int
    emit: Any  # the emitter pass's PassResult; None when it failed
    jobs_failed: int = 0  # jobs that failed in this run (retried later, or dead)
    jobs_waiting: int = 0  # of those, jobs waiting for their calendar to answer again
    jobs_dead: int = 0  # of those, jobs that will not run again
    emit_error: str | None = None
    events_created: int = 0  # by the pass and by emit jobs
    events_changed: int = 0  # moved or cancelled
    events_unplaced: int = 0
    events_in_place: int = 0  # found by the pass already placed (by chat, or an earlier run)
    events_synced: int = 0  # pushed to the calendar
    insights_applied: int = 0  # created, updated or reinforced

    @property
    def ok(self) -> bool:
        return self.emit_error is None and self.jobs_failed == 0

    def add_job(self, kind: str, result: Any) -> None:
        """Count what one finished job did, from its handler's result."""
        from agentcal.workers.preference_emitter_worker import event_counts

        if not isinstance(result, dict):
            return
        if kind == "update_insight" and result.get("outcome") in (
            "created",
            "updated",
            "reinforced",
        ):
            self.insights_applied += 1
        elif kind == "emit_preference_events":
            created, changed, unplaced = event_counts(result.get("counts") or {})
            self.events_created += created
            self.events_changed += changed
            self.events_unplaced += unplaced
        elif kind == "calendar_sync" and result.get("outcome") == "synced":
            self.events_synced += int(result.get("batched") or 1)

    def summary(self) -> str:
        """One line: what changed on the calendar, what was learned, the jobs."""

        def n(count: int, what: str) -> str:
            return f"{count} {what}" + ("" if count == 1 else "s")

        events = f"{n(self.events_created, 'event')} created"
        if self.events_in_place:
            events += f" ({self.events_in_place} already in place)"
        events += f", {self.events_changed} changed"
        if self.events_unplaced:
            events += f", {self.events_unplaced} without room"
        return (
            f"{events}, {self.events_synced} synced; {n(self.insights_applied, 'insight')} "
            f"applied; {n(self.jobs_run, 'job')} run, {self.jobs_failed} failed"
        )


@dataclass(frozen=True)
class Task:
    """One entry of the daemon's timetable: run `run` every `every` seconds."""

    name: str
    run: Callable[[], object]
    every: float


class Daemon:
    """The daemon's workers and timetable, apart from the scheduler that runs them."""

    def __init__(
        self,
        *,
        stop: threading.Event | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from agentcal.models import utcnow
        from agentcal.settings import get_settings
        from agentcal.workers.preference_emitter_worker import EmitterWorker
        from agentcal.workers.runner import JobWorker, default_worker_id

        self.settings = get_settings()
        self.stop = stop or threading.Event()
        self.clock = clock or utcnow
        self.jobs = JobWorker(
            "async_job_processor",
            worker_id=default_worker_id("daemon-jobs"),
            stop=self.stop,
            clock=self.clock,
        )
        self.emitter = EmitterWorker(
            stop=self.stop, worker_id=default_worker_id("daemon-emitter"), clock=self.clock
        )

    def tasks(self) -> list[Task]:
        s = self.settings
        return [
            Task("heartbeat", self.beat, s.heartbeat_seconds),
            Task("jobs", self.drain, s.worker_poll_seconds),
            Task("emit", self.emit, s.emit_interval_seconds),
            Task("monitor", self.check, MONITOR_INTERVAL_SECONDS),
        ]

    def start(self) -> None:
        """Replace lost workers of the daemon's kinds on this host (alerting them once), then
        say hello."""
        self.jobs.start(replacing=(self.jobs.kind, self.emitter.kind))
        self.emitter._beat()

    def beat(self) -> None:
        self.jobs.beat()
        self.emitter._beat()

    def drain(self) -> None:
        if not self.stop.is_set():
            self.jobs.run_once(max_seconds=MAX_DRAIN_SECONDS)

    def emit(self) -> None:
        if not self.stop.is_set():
            self.emitter.run_once()

    def check(self) -> None:
        from agentcal.workers.runner import check_workers

        check_workers(self.clock())

    def finish(self) -> None:
        """Say goodbye: both workers stopped cleanly."""
        self.jobs.finish()
        self.emitter._beat("stopped")


def run_once() -> OnceResult:
    """One emitter pass, then every due job (including the syncs that pass queued), then the
    monitor. A failed emitter pass (already alerted) does not stop the jobs; both show in the
    result."""
    from agentcal.errors import AgentcalError
    from agentcal.health.monitoring import monitoring_service
    from agentcal.storecheck import describe_failure
    from agentcal.workers.preference_emitter_worker import EmitterWorker
    from agentcal.workers.runner import JobWorker, check_workers, default_worker_id

    emitter = EmitterWorker(worker_id=default_worker_id("daemon-emitter"))
    # The store takes writes, or this one-shot run stops now with that one error (a full disk,
    # a read-only store), instead of a warning per heartbeat and then the error.
    monitoring_service.heartbeat(
        emitter.worker_id, emitter.kind, interval=emitter.heartbeat_seconds, now=emitter.clock()
    )
    emit, emit_error = None, None
    try:
        emit = emitter.run_once()
    except Exception as exc:
        if isinstance(exc, AgentcalError) or describe_failure(exc) is not None:
            raise  # the settings or the store are unusable: nothing else can run either
        emit_error = f"{type(exc).__name__}: {exc}"  # one line; the traceback with -v
        log.info("emitter pass traceback", exc_info=True)
    emitter._beat("stopped")
    result = OnceResult(0, emit)
    if emit is not None:
        result.events_created, result.events_changed = emit.created, emit.changed
        result.events_unplaced, result.events_in_place = emit.unplaced, emit.in_place
    worker = JobWorker(
        "async_job_processor", worker_id=default_worker_id("daemon-jobs"), on_done=result.add_job
    )
    result.jobs_run = worker.run_once()
    result.jobs_failed = worker.failed
    worker.finish()
    check_workers()
    result.jobs_waiting, result.jobs_dead, result.emit_error = (
        worker.deferred,
        worker.dead,
        emit_error,
    )
    return result


def _warm_up() -> None:
    """Import everything the jobs use and open the store in this thread: the scheduler's pool
    threads would otherwise import SQLAlchemy concurrently, which fails (circular import)."""
    import importlib

    from agentcal.db import get_engine

    get_engine()
    for name in (
        "agentcal.models",
        "agentcal.queue.jobs",
        "agentcal.health.monitoring",
        "agentcal.planning.events",
        "agentcal.planning.preferences",
        "agentcal.planning.emitter",
        "agentcal.planning.from_insights",
        "agentcal.insights.patterns",
        "agentcal.insights.user_insights",
        "sqlmodel",
    ):
        importlib.import_module(name)


def run_daemon(stop: threading.Event | None = None) -> None:
    """Run until `stop` is set (by SIGTERM/SIGINT when called from the CLI)."""
    from datetime import UTC

    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
    from apscheduler.schedulers.blocking import BlockingScheduler

    stop = stop or threading.Event()
    _warm_up()
    daemon = Daemon(stop=stop)
    scheduler = BlockingScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )

    def on_event(event: Any) -> None:  # runs on a pool thread: keep it tiny
        log.warning("scheduler event %s for job %s", event.code, getattr(event, "job_id", "?"))

    daemon.start()
    now = datetime.now(UTC)
    for task in daemon.tasks():
        scheduler.add_job(task.run, "interval", seconds=task.every, id=task.name, next_run_time=now)
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
        daemon.finish()
