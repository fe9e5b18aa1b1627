"""The job-processing loop shared by `python -m agentcal.workers.async_job_processor` and the
daemon: claim a job, run its handler, complete or fail it, keep a heartbeat, reap dead leases.

Stopping: `stop` (a threading.Event, set by SIGTERM/SIGINT) is checked between jobs, so the
job in hand finishes. A second signal interrupts it; the job is then released untouched.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcal import otel
from agentcal.errors import AgentcalError, ValidationError
from agentcal.workers.handlers import (
    HANDLERS,
    BackendOutage,
    Handler,
    JobContext,
    PermanentJobError,
    RetryableJobError,
)

if TYPE_CHECKING:
    from agentcal.queue.jobs import ClaimedJob, JobQueue

log = logging.getLogger(__name__)
REAP_EVERY_SECONDS = 15.0


def default_worker_id(kind: str) -> str:
    return f"{kind}@{socket.gethostname()}:{os.getpid()}"


class JobWorker:
    """Runs queued jobs until stopped (or, with `run_once`, until the queue has nothing due)."""

    def __init__(
        self,
        kind: str = "async_job_processor",
        *,
        handlers: Mapping[str, Handler] | None = None,
        context: JobContext | None = None,
        worker_id: str | None = None,
        stop: threading.Event | None = None,
        queue: JobQueue | None = None,
        heartbeat_seconds: float | None = None,
        batch_size: int = 1,
        clock: Callable[[], datetime] | None = None,
        on_done: Callable[[str, Any], None] | None = None,
    ) -> None:
        """`on_done(kind, result)` is called after each job that completes (a summary)."""
        from agentcal.models import utcnow
        from agentcal.queue.jobs import job_queue
        from agentcal.settings import get_settings

        self.kind = kind
        self.handlers = dict(HANDLERS if handlers is None else handlers)
        self.context = context or JobContext()
        self.worker_id = worker_id or default_worker_id(kind)
        self.stop = stop or threading.Event()
        self.queue = queue or job_queue
        self.heartbeat_seconds = heartbeat_seconds or get_settings().heartbeat_seconds
        self.clock = clock or utcnow  # every time written (leases, heartbeats) comes from here
        self.on_done = on_done
        # >1: claim that many due jobs per transaction and run them in turn (short jobs).
        self.batch_size = max(1, batch_size)
        self._claimed: deque[ClaimedJob] = deque()
        self._claimed_at = 0.0
        self.done = 0
        self.failed = 0
        self.deferred = 0  # of the failed: jobs waiting for their backend to answer again
        self.dead = 0  # of the failed: jobs that will not run again
        self._last_outage = ""
        self._last_beat = 0.0
        self._last_reap = 0.0
        self._started = False
        self._error: str | None = None  # the last failed job's error

    # -- one job ----------------------------------------------------------------------------

    def process_one(self) -> bool:
        """Claim and run one due job; False when none is due."""
        job = self._next_job()
        if job is None:
            return False
        # A heartbeat per job would double the write transactions of a busy worker.
        self._maybe_beat(current_job_id=job.id)
        self._process(job)
        return True

    def run_jobs(self, job_ids: list[int]) -> list[int]:
        """Claim these due jobs and run them here and now, without heartbeats: this process is
        no worker (the chat applying an insight it just recorded when no worker runs). Returns
        the ids that completed."""
        claimed = self.queue.claim_many(
            self.worker_id, max(1, len(job_ids)), ids=tuple(job_ids), now=self.clock()
        )
        return [job.id for job in claimed if self._process(job)]

    def _process(self, job: ClaimedJob) -> bool:
        """Run a claimed job and complete it; False when it failed (retried later, or dead)."""
        started_ns = time.time_ns()
        try:
            result = self._run(job)
        except BaseException:  # interrupted: give the job back for someone else
            self.queue.release(job)
            self.release_claimed()
            raise
        # A span per job run when OTEL_EXPORTER_OTLP_ENDPOINT is set (else a no-op).
        otel.export_job(job, started_ns, time.time_ns(), self._error if result is _FAILED else None)
        if result is _FAILED:
            return False
        if self.queue.complete(job, result, now=self.clock()):
            self.done += 1
            if self.on_done is not None:
                self.on_done(job.kind, result)
            return True
        log.warning("job %s: lease lost before completion, result dropped", job.id)
        return False

    def _next_job(self) -> ClaimedJob | None:
        if self.batch_size == 1:
            return self.queue.claim(self.worker_id, now=self.clock())
        if self._claimed and time.monotonic() - self._claimed_at > self._lease_seconds() / 2:
            self.release_claimed()  # the batch is getting old: let other workers have it
        if not self._claimed:
            self._claimed_at = time.monotonic()
            self._claimed.extend(
                self.queue.claim_many(self.worker_id, self.batch_size, now=self.clock())
            )
        return self._claimed.popleft() if self._claimed else None

    def _lease_seconds(self) -> float:
        from agentcal.settings import get_settings

        return float(get_settings().job_lease_seconds)

    def release_claimed(self) -> None:
        """Give back the jobs claimed in a batch but not started (their attempt is not counted)."""
        while self._claimed:
            job = self._claimed.popleft()
            try:
                self.queue.release(job)
            except Exception as exc:  # the reaper re-queues it when the lease expires
                log.warning("job %s: could not release it: %s", job.id, exc)

    def _run(self, job: ClaimedJob) -> Any:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise PermanentJobError(f"no handler for job kind {job.kind!r}")
            return handler(job, self.context)
        except BackendOutage as exc:
            self._deferred(job, str(exc), exc.retry_after)
        except (PermanentJobError, ValidationError) as exc:
            log.warning("job %s (%s) failed: %s", job.id, job.kind, exc)
            self._failed(job, f"{exc}", permanent=True)
        except RetryableJobError as exc:
            log.warning("job %s (%s) failed, will retry: %s", job.id, job.kind, exc)
            self._failed(job, f"{exc}", permanent=False)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a bug or a store error: one line; the traceback with -v
            log.warning("job %s (%s) failed: %s: %s", job.id, job.kind, type(exc).__name__, exc)
            log.info("job %s traceback", job.id, exc_info=True)
            self._failed(job, f"{type(exc).__name__}: {exc}", permanent=False)
        return _FAILED

    def _deferred(self, job: ClaimedJob, error: str, seconds: float) -> None:
        """The job's backend is down: it waits and runs again (its attempt is not counted)."""
        self.failed += 1
        self.deferred += 1
        self._error = error
        # The same outage for job after job: one warning, then quiet (shown with -v).
        level = logging.INFO if error == self._last_outage else logging.WARNING
        self._last_outage = error
        log.log(level, "job %s (%s) waits %.0f s: %s", job.id, job.kind, seconds, error)
        self.queue.defer(job, error, seconds, now=self.clock())

    def _failed(self, job: ClaimedJob, error: str, *, permanent: bool) -> None:
        from agentcal.health.monitoring import monitoring_service

        self.failed += 1
        self._error = error
        outcome = self.queue.fail(job, error, permanent=permanent, now=self.clock())
        if outcome.state == "dead":
            self.dead += 1
            monitoring_service.raise_alert(
                f"job {job.id} ({job.kind}) is dead after {job.attempts} attempt(s): {error}",
                source="jobs",
                job_id=job.id,
            )

    # -- loops ------------------------------------------------------------------------------

    def run_once(self, *, max_seconds: float | None = None) -> int:
        """Run due jobs until none is due, `stop` is set or `max_seconds` pass; returns how many."""
        first = not self._started
        self.start()
        if first or time.monotonic() - self._last_reap > REAP_EVERY_SECONDS:
            self.reap()  # a write transaction: not on every poll of an idle daemon
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        count = 0
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if not self.process_one():
                break
            count += 1
            self._maybe_beat()
        self.release_claimed()
        if count:
            self.beat()  # the counts; an idle pass leaves beating to the heartbeat timer
        return count

    def run_forever(self, poll_seconds: float | None = None) -> None:
        """Loop until `stop` is set, waiting `poll_seconds` when the queue is empty."""
        from agentcal.settings import get_settings

        poll = poll_seconds if poll_seconds is not None else get_settings().worker_poll_seconds
        self.start(replacing=(self.kind,))
        beats = Heartbeat(self.beat, self.heartbeat_seconds, name=self.worker_id)
        try:
            while not self.stop.is_set():
                try:
                    if time.monotonic() - self._last_reap > REAP_EVERY_SECONDS:
                        self.reap()
                    busy = self.process_one()
                    self._maybe_beat()
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception as exc:  # the store hiccuped: log, wait, carry on
                    log.warning("worker %s: queue error: %s", self.worker_id, exc)
                    log.info("queue error traceback", exc_info=True)
                    busy = False
                if not busy:
                    self.stop.wait(poll)
        finally:
            beats.stop()
            self.finish()

    def reap(self) -> None:
        from agentcal.health.monitoring import monitoring_service

        self._last_reap = time.monotonic()
        for job_id, state in self.queue.reap(now=self.clock()):
            log.warning("job %s: lease expired, now %s", job_id, state)
            if state == "dead":
                monitoring_service.raise_alert(
                    f"job {job_id} is dead: its worker died on every attempt",
                    source="jobs",
                    job_id=job_id,
                )

    # -- heartbeats -------------------------------------------------------------------------

    def start(self, *, replacing: tuple[str, ...] = ()) -> None:
        """Once: look for lost workers (a long-running worker replaces the dead ones of the
        kinds it takes over on this host), then say hello."""
        if self._started:
            return
        self._started = True
        # At start a store the monitor cannot read stops the worker with that one error
        # (everything after would fail the same way), instead of a warning, then the error.
        check_workers(self.clock(), replacing=replacing, survive_store_failure=False)
        self.beat()

    def _maybe_beat(self, current_job_id: int | None = None) -> None:
        if time.monotonic() - self._last_beat >= self.heartbeat_seconds:
            self.beat(current_job_id=current_job_id)

    def beat(self, *, state: str = "running", current_job_id: int | None = None) -> None:
        from agentcal.health.monitoring import monitoring_service

        self._last_beat = time.monotonic()
        try:
            monitoring_service.heartbeat(
                self.worker_id,
                self.kind,
                jobs_done=self.done,
                jobs_failed=self.failed,
                state=state,
                current_job_id=current_job_id,
                interval=self.heartbeat_seconds,
                now=self.clock(),
            )
        except Exception as exc:  # a missed heartbeat must not stop the work
            log_failure(f"worker {self.worker_id}: heartbeat failed", exc)

    def finish(self) -> None:
        """Give back unstarted batch jobs and record that the worker stopped cleanly."""
        self.release_claimed()
        self.beat(state="stopped")


_FAILED = object()


class Heartbeat:
    """Calls `beat()` every `seconds` on its own thread until `stop()`: a worker is seen alive
    while it waits for work and while it runs a long job."""

    def __init__(self, beat: Callable[[], object], seconds: float, *, name: str) -> None:
        self._stop = threading.Event()
        self._beat = beat
        self._seconds = seconds
        self._thread = threading.Thread(target=self._run, name=f"heartbeat {name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            self._beat()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def check_workers(
    now: datetime | None = None,
    *,
    replacing: tuple[str, ...] = (),
    survive_store_failure: bool = True,
) -> None:
    """Run the monitor (lost workers, overrun leases); a failure is logged, never raised
    (except an unusable store when `survive_store_failure` is off)."""
    from agentcal.health.monitoring import monitoring_service
    from agentcal.storecheck import describe_failure

    try:
        monitoring_service.check(now=now, replacing=replacing)
    except Exception as exc:
        if not survive_store_failure and (
            isinstance(exc, AgentcalError) or describe_failure(exc) is not None
        ):
            raise
        log_failure("worker monitor failed", exc)


def log_failure(what: str, exc: BaseException) -> None:
    """A failure the worker survives: one line for an expected one (bad settings, a damaged,
    full or read-only store), with the traceback for anything else."""
    from agentcal.storecheck import describe_failure

    known = str(exc) if isinstance(exc, AgentcalError) else describe_failure(exc)
    if known is not None:
        log.warning("%s: %s", what, known)
    else:  # one line too; the traceback with -v
        log.warning("%s: %s: %s", what, type(exc).__name__, exc)
        log.info("%s: traceback", what, exc_info=True)


def install_stop_signals(stop: threading.Event) -> None:
    """SIGTERM/SIGINT set `stop`; a second one interrupts the job in hand."""

    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("signal %s: stopping after the current job", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def worker_main(body: Callable[[threading.Event], object]) -> int:
    """The frame of a worker's `main`: settings checked first, `body(stop)` run with stop
    signals installed, any expected failure one masked line on stderr (exit 1), Ctrl-C 130."""
    import sys

    from agentcal.masking import mask
    from agentcal.settings import get_settings
    from agentcal.storecheck import describe_failure

    stop = threading.Event()
    try:
        get_settings()
        configure_logging()
        install_stop_signals(stop)
        body(stop)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        message = str(exc) if isinstance(exc, AgentcalError) else describe_failure(exc)
        if message is None:
            raise
        print(f"Error: {' '.join(mask(message).split())}", file=sys.stderr)
        return 1
    return 0


def configure_logging() -> None:
    """Workers log agentcal's INFO lines by default (see agentcal.log_setup)."""
    from agentcal.log_setup import configure_logging as configure

    configure(default_level="INFO")
