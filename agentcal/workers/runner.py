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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agentcal.errors import ValidationError
from agentcal.workers.handlers import HANDLERS, Handler, JobContext, PermanentJobError

if TYPE_CHECKING:
    from agentcal.services.jobs import ClaimedJob, JobQueue

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
        heartbeat_seconds: float = 5.0,
        batch_size: int = 1,
    ) -> None:
        from agentcal.services.jobs import job_queue

        self.kind = kind
        self.handlers = dict(HANDLERS if handlers is None else handlers)
        self.context = context or JobContext()
        self.worker_id = worker_id or default_worker_id(kind)
        self.stop = stop or threading.Event()
        self.queue = queue or job_queue
        self.heartbeat_seconds = heartbeat_seconds
        # >1: claim that many due jobs per transaction and run them in turn (short jobs).
        self.batch_size = max(1, batch_size)
        self._claimed: deque[ClaimedJob] = deque()
        self._claimed_at = 0.0
        self.done = 0
        self.failed = 0
        self._last_beat = 0.0
        self._last_reap = 0.0
        self._started = False

    # -- one job ----------------------------------------------------------------------------

    def process_one(self) -> bool:
        """Claim and run one due job; False when none is due."""
        job = self._next_job()
        if job is None:
            return False
        # A heartbeat per job would double the write transactions of a busy worker.
        self._maybe_beat(current_job_id=job.id)
        try:
            result = self._run(job)
        except BaseException:  # interrupted: give the job back for someone else
            self.queue.release(job)
            self.release_claimed()
            raise
        if result is not _FAILED:
            if self.queue.complete(job, result):
                self.done += 1
            else:
                log.warning("job %s: lease lost before completion, result dropped", job.id)
        return True

    def _next_job(self) -> ClaimedJob | None:
        if self.batch_size == 1:
            return self.queue.claim(self.worker_id)
        if self._claimed and time.monotonic() - self._claimed_at > self._lease_seconds() / 2:
            self.release_claimed()  # the batch is getting old: let other workers have it
        if not self._claimed:
            self._claimed_at = time.monotonic()
            self._claimed.extend(self.queue.claim_many(self.worker_id, self.batch_size))
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
            except Exception:  # the reaper re-queues it when the lease expires
                log.warning("job %s: could not release it", job.id, exc_info=True)

    def _run(self, job: ClaimedJob) -> Any:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise PermanentJobError(f"no handler for job kind {job.kind!r}")
            return handler(job, self.context)
        except (PermanentJobError, ValidationError) as exc:
            self._failed(job, f"{exc}", permanent=True)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:
            log.warning("job %s (%s) failed: %s", job.id, job.kind, exc, exc_info=True)
            self._failed(job, f"{type(exc).__name__}: {exc}", permanent=False)
        return _FAILED

    def _failed(self, job: ClaimedJob, error: str, *, permanent: bool) -> None:
        from agentcal.services.monitoring import monitoring_service

        self.failed += 1
        outcome = self.queue.fail(job, error, permanent=permanent)
        if outcome.state == "dead":
            monitoring_service.raise_alert(
                f"job {job.id} ({job.kind}) is dead after {job.attempts} attempt(s): {error}",
                source="jobs",
                job_id=job.id,
            )

    # -- loops ------------------------------------------------------------------------------

    def run_once(self, *, max_seconds: float | None = None) -> int:
        """Run due jobs until none is due, `stop` is set or `max_seconds` pass; returns how many."""
        self._start()
        self.reap()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        count = 0
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            if not self.process_one():
                break
            count += 1
            self._maybe_beat()
        self.release_claimed()
        self.beat()
        return count

    def run_forever(self, poll_seconds: float | None = None) -> None:
        """Loop until `stop` is set, waiting `poll_seconds` when the queue is empty."""
        from agentcal.settings import get_settings

        poll = poll_seconds if poll_seconds is not None else get_settings().worker_poll_seconds
        self._start()
        try:
            while not self.stop.is_set():
                try:
                    if time.monotonic() - self._last_reap > REAP_EVERY_SECONDS:
                        self.reap()
                    busy = self.process_one()
                    self._maybe_beat()
                except (KeyboardInterrupt, SystemExit):
                    raise
                except Exception:  # the store hiccuped: log, wait, carry on
                    log.exception("worker %s: queue error", self.worker_id)
                    busy = False
                if not busy:
                    self.stop.wait(poll)
        finally:
            self.finish()

    def reap(self) -> None:
        from agentcal.services.monitoring import monitoring_service

        self._last_reap = time.monotonic()
        for job_id, state in self.queue.reap():
            log.warning("job %s: lease expired, now %s", job_id, state)
            if state == "dead":
                monitoring_service.raise_alert(
                    f"job {job_id} is dead: its worker died on every attempt",
                    source="jobs",
                    job_id=job_id,
                )

    # -- heartbeats -------------------------------------------------------------------------

    def _start(self) -> None:
        if self._started:
            return
        from agentcal.services.monitoring import monitoring_service

        self._started = True
        monitoring_service.forget_dead_local_workers()
        self.beat()

    def _maybe_beat(self, current_job_id: int | None = None) -> None:
        if time.monotonic() - self._last_beat >= self.heartbeat_seconds:
            self.beat(current_job_id=current_job_id)

    def beat(self, *, state: str = "running", current_job_id: int | None = None) -> None:
        from agentcal.services.monitoring import monitoring_service

        self._last_beat = time.monotonic()
        try:
            monitoring_service.heartbeat(
                self.worker_id,
                self.kind,
                jobs_done=self.done,
                jobs_failed=self.failed,
                state=state,
                current_job_id=current_job_id,
            )
        except Exception:  # a missed heartbeat must not stop the work
            log.warning("worker %s: heartbeat failed", self.worker_id, exc_info=True)

    def finish(self) -> None:
        """Give back unstarted batch jobs and record that the worker stopped cleanly."""
        self.release_claimed()
        self.beat(state="stopped")


_FAILED = object()


def install_stop_signals(stop: threading.Event) -> None:
    """SIGTERM/SIGINT set `stop`; a second one interrupts the job in hand."""

    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("signal %s: stopping after the current job", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def configure_logging() -> None:
    from agentcal.masking import install_log_masking

    install_log_masking()
    level = os.environ.get("AGENTCAL_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
