"""Worker heartbeats, alerts and the health summary behind `agentcal status`.

Every worker beats on its own timer, idle or busy (AGENTCAL_HEARTBEAT_SECONDS, kept on its row),
and says goodbye (`stopped`) when it stops. `check` is the monitor, run by every daemon each
minute, by `daemon --once`, by each worker as it starts and by `agentcal status`:

* a worker with no heartbeat for three of its intervals is stale; one whose process is gone
  from this host without a goodbye is `vanished`. Either raises one alert per process
  (subject `process:<host>:<pid>`), cleared when the process beats again, when a new worker of
  its kind starts on that host (it is then `gone`: replaced), or when the alert is acknowledged;
* a job still `running` after its lease ended raises one alert (`lease:<job>:<attempt>`),
  cleared once the job leaves that state (reaped, finished).

An alert is a row in `alerts`; when AGENTCAL_ALERT_COMMAND is set the command also gets the
alert's text on stdin, and when AGENTCAL_ALERT_WEBHOOK is set the URL gets it as a JSON POST.
Delivery failures are logged, never raised: alerting must not take a worker down.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcal.health.alerts import Alerts, deliver_alert, process_subject
from agentcal.reader import columns
from agentcal.records import HeartbeatRow

if TYPE_CHECKING:
    from agentcal.models import Alert, WorkerHeartbeat

log = logging.getLogger(__name__)
STALE_AFTER_BEATS = 3


@dataclass
class WorkerStatus:
    worker_id: str
    kind: str
    hostname: str | None
    pid: int | None
    state: str
    started_at: datetime
    last_seen: datetime
    jobs_done: int
    jobs_failed: int
    heartbeat_seconds: float
    stale: bool  # running, but no heartbeat for STALE_AFTER_BEATS intervals

    @property
    def lost(self) -> bool:
        """Stale, or died without a goodbye: someone should look."""
        return self.stale or self.state == "vanished"


@dataclass
class HealthReport:
    healthy: bool
    problems: list[str]
    workers: list[WorkerStatus]
    queue: dict[str, int]
    oldest_queued_age_seconds: float | None
    dead_unacknowledged: int
    alerts: list[dict[str, Any]] = field(default_factory=list)
    # People whose latest calendar sync failed (agentcal.health.sync_health).
    sync_failures: list[dict[str, Any]] = field(default_factory=list)


class MonitoringService(Alerts):
    """Heartbeats, alerts, health."""

    # -- heartbeats -------------------------------------------------------------------------

    def heartbeat(
        self,
        worker_id: str,
        kind: str,
        *,
        jobs_done: int = 0,
        jobs_failed: int = 0,
        state: str = "running",
        current_job_id: int | None = None,
        interval: float | None = None,
        now: datetime | None = None,
    ) -> None:
        """Record that a worker is alive (counts are totals since it started) and how often it
        promises to say so (`interval`, default AGENTCAL_HEARTBEAT_SECONDS)."""
        from agentcal.models import WorkerHeartbeat, utcnow
        from agentcal.settings import get_settings

        now = now or utcnow()
        with self.transaction() as s:
            row = s.get(WorkerHeartbeat, worker_id)
            if row is None:
                row = WorkerHeartbeat(
                    worker_id=worker_id,
                    kind=kind,
                    hostname=socket.gethostname(),
                    pid=os.getpid(),
                    started_at=now,
                )
            row.last_seen = now
            row.jobs_done = jobs_done
            row.jobs_failed = jobs_failed
            row.state = state
            row.current_job_id = current_job_id
            row.heartbeat_seconds = interval or get_settings().heartbeat_seconds
            s.add(row)

    def workers(self, *, now: datetime | None = None) -> list[WorkerStatus]:
        now = now or datetime.now(UTC)
        sql = f"SELECT {columns(HeartbeatRow)} FROM worker_heartbeats ORDER BY last_seen DESC"
        with self.reading() as r:
            rows = r.records(HeartbeatRow, sql)
        return [_status(row, now) for row in rows]

    def job_workers_alive(self, *, now: datetime | None = None) -> list[WorkerStatus]:
        """Job processors that run now: a fresh heartbeat, and on this host a live process."""
        here = socket.gethostname()
        return [
            w
            for w in self.workers(now=now)
            if w.kind == "async_job_processor"
            and w.state == "running"
            and not w.stale
            and (w.hostname != here or w.pid is None or _pid_alive(w.pid))
        ]

    # -- the monitor ------------------------------------------------------------------------

    def check(self, *, now: datetime | None = None, replacing: tuple[str, ...] = ()) -> list[Alert]:
        """Raise one alert per lost worker process and per job overrunning its lease, clear
        the alerts whose problem is resolved; returns the new alerts (already delivered).

        `replacing`: kinds of long-running worker this process is starting as; vanished
        workers of those kinds on this host are then `gone`, and their alerts cleared (a crash
        that a restart fixed is still alerted once).
        """
        now = now or datetime.now(UTC)
        if not replacing and self._nothing_to_check(now):
            return []
        from sqlmodel import col, select

        from agentcal.models import Alert, Job, WorkerHeartbeat

        host, me = socket.gethostname(), os.getpid()
        raised: list[Alert] = []
        with self.transaction() as s:
            if s.get_bind().dialect.name == "postgresql":  # one monitor at a time decides
                from sqlalchemy import text

                s.execute(text("SELECT pg_advisory_xact_lock(472194)"))
            rows = list(s.exec(select(WorkerHeartbeat)))
            for row in rows:
                if (
                    row.state == "running"
                    and row.hostname == host
                    and row.pid not in (None, me)
                    and not _pid_alive(row.pid)
                ):
                    row.state = "vanished"
                    s.add(row)
            lost = _lost_processes([_status(r, now) for r in rows])
            lease = {
                f"lease:{j.id}:{j.attempts}": j
                for j in s.exec(
                    select(Job).where(Job.state == "running", col(Job.locked_until) < now)
                )
            }
            open_alerts = list(  # the monitor's own subjects (calendar outages are not)
                s.exec(
                    select(Alert).where(
                        col(Alert.subject).startswith("process:")
                        | col(Alert.subject).startswith("lease:"),
                        col(Alert.acknowledged_at).is_(None),
                    )
                )
            )
            known = {a.subject for a in open_alerts}
            for subject, workers in lost.items():
                if subject not in known:
                    raised.append(_process_alert(subject, workers, now))
            for subject, job in lease.items():
                already = s.exec(select(Alert.id).where(Alert.subject == subject)).first()
                if subject not in known and already is None:
                    raised.append(_lease_alert(subject, job, now))
            for alert in raised:
                s.add(alert)
            if replacing:
                for row in rows:
                    if row.state == "vanished" and row.hostname == host and row.kind in replacing:
                        row.state = "gone"
                        s.add(row)
                lost = _lost_processes([_status(r, now) for r in rows])
            for alert in open_alerts:  # resolved: the process is back or replaced, the job moved
                if alert.subject not in lost and alert.subject not in lease:
                    alert.acknowledged_at = now
                    s.add(alert)
            s.flush()
            if replacing:  # raised and resolved at once: still delivered below, once
                for alert in raised:
                    if alert.subject not in lost and alert.subject not in lease:
                        alert.acknowledged_at = now
                        s.add(alert)
        for alert in raised:
            deliver_alert(alert)
        return raised

    def _nothing_to_check(self, now: datetime) -> bool:
        """True when `check` would change nothing: no running worker of this host whose
        process is gone, no lost worker, no job past its lease, and no open alert about a
        process or a lease (it might be resolved now). Read-only, so the usual healthy case
        costs no write transaction (and `agentcal status` no SQLAlchemy import)."""
        from agentcal.queue.jobs import job_queue

        host, me = socket.gethostname(), os.getpid()
        for w in self.workers(now=now):
            if w.lost:
                return False
            ours = w.state == "running" and w.hostname == host and w.pid not in (None, me)
            if ours and not _pid_alive(w.pid):  # type: ignore[arg-type]
                return False
        if job_queue.past_lease(now=now):
            return False
        sql = "SELECT COUNT(*) FROM alerts WHERE subject IS NOT NULL AND acknowledged_at IS NULL"
        with self.reading() as r:
            return not r.scalar(sql)

    # -- health -----------------------------------------------------------------------------

    def health(self, *, now: datetime | None = None) -> HealthReport:
        """Everything `agentcal status` shows, and whether it is healthy."""
        from agentcal.queue.jobs import job_queue

        now = now or datetime.now(UTC)
        workers = self.workers(now=now)
        queue = job_queue.counts()
        oldest = job_queue.oldest_due(now=now)
        dead = job_queue.unacknowledged_dead()
        alerts = self.list_alerts(limit=10)
        problems = [
            f"worker {w.worker_id} "
            + ("died without saying goodbye; " if w.state == "vanished" else "")
            + f"last seen {int((now - w.last_seen).total_seconds())} s ago"
            for w in workers
            if w.lost
        ]
        overdue = job_queue.past_lease(now=now)
        problems += [
            f"job {j.id} ({j.kind}) still running {int((now - j.locked_until).total_seconds())} s"
            f" after its lease ended (worker {j.locked_by})"
            for j in overdue
            if j.locked_until is not None
        ]
        if dead:
            problems.append(
                f"{dead} dead job(s) not acknowledged (agentcal jobs list --state dead)"
            )
        # Shown, not counted as a problem by itself: a failing sync retries with backoff, and
        # one that runs out of attempts is a dead job (above) with its alert.
        failing = _sync_failures()
        return HealthReport(
            healthy=not problems,
            problems=problems,
            workers=workers,
            queue=queue,
            oldest_queued_age_seconds=None if oldest is None else (now - oldest).total_seconds(),
            dead_unacknowledged=dead,
            alerts=[a._asdict() for a in alerts],
            sync_failures=failing,
        )


def _sync_failures() -> list[dict[str, Any]]:
    """The failing users' sync health, with the calendar their profile names when the failure
    came before a backend could be built."""
    from agentcal.health.sync_health import sync_health
    from agentcal.users.profiles import user_profiles_service

    failures = sync_health.failing()
    if not failures:  # the usual case: no profile to read, no settings to load
        return []
    profiles = user_profiles_service.profiles_for(f.user_id for f in failures)
    return [
        {
            "user_id": f.user_id,
            "backend": f.backend or profiles[f.user_id].calendar,
            "failing_since": f.failing_since,
            "failures": f.failures,
            "last_success_at": f.last_success_at,
            "last_error": f.last_error,
        }
        for f in failures
    ]


def _status(row: WorkerHeartbeat | HeartbeatRow, now: datetime) -> WorkerStatus:
    interval = row.heartbeat_seconds
    if not interval:  # rows written before workers stored their interval
        from agentcal.settings import get_settings  # pydantic-settings: ~60 ms for `status`

        interval = get_settings().heartbeat_seconds
    return WorkerStatus(
        worker_id=row.worker_id,
        kind=row.kind,
        hostname=row.hostname,
        pid=row.pid,
        state=row.state,
        started_at=row.started_at,
        last_seen=row.last_seen,
        jobs_done=row.jobs_done,
        jobs_failed=row.jobs_failed,
        heartbeat_seconds=interval,
        stale=row.state == "running"
        and now - row.last_seen > timedelta(seconds=STALE_AFTER_BEATS * interval),
    )


def _lost_processes(workers: list[WorkerStatus]) -> dict[str, list[WorkerStatus]]:
    """The lost workers, by process (a daemon's job processor and emitter are one process)."""
    out: dict[str, list[WorkerStatus]] = {}
    for w in workers:
        if w.lost:
            out.setdefault(process_subject(w.hostname, w.pid), []).append(w)
    return out


def _process_alert(subject: str, workers: list[WorkerStatus], now: datetime) -> Alert:
    from agentcal.models import Alert

    last = max(w.last_seen for w in workers)
    names = ", ".join(sorted(w.worker_id for w in workers))
    if any(w.state == "vanished" for w in workers):
        what = "died without saying goodbye (its process is gone)"
    else:
        what = f"sent no heartbeat for {int((now - last).total_seconds())} s"
    return Alert(
        level="error",
        source="monitor",
        subject=subject,
        created_at=now,
        message=f"worker {names} {what}; last heartbeat {last:%Y-%m-%d %H:%M:%S} UTC. Restart "
        "`agentcal daemon`, or `agentcal alerts ack` if it was stopped on purpose",
    )


def _lease_alert(subject: str, job: Any, now: datetime) -> Alert:
    from agentcal.models import Alert

    overdue = int((now - job.locked_until).total_seconds())
    return Alert(
        level="error",
        source="monitor",
        subject=subject,
        job_id=job.id,
        created_at=now,
        message=f"job {job.id} ({job.kind}) is still running {overdue} s after its lease ended "
        f"(worker {job.locked_by}): that worker is stuck or dead; a live worker re-queues it",
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


monitoring_service = MonitoringService()
