"""Worker heartbeats, alerts and the health summary behind `agentcal status`.

An alert is a row in `alerts`; when AGENTCAL_ALERT_COMMAND is set the command also gets the
alert's text on stdin, and when AGENTCAL_ALERT_WEBHOOK is set the URL gets it as a JSON POST.
Delivery failures are logged, never raised: alerting must not take a worker down.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcal.errors import NotFoundError
from agentcal.services.base import Service

if TYPE_CHECKING:
    from agentcal.models import Alert, WorkerHeartbeat

log = logging.getLogger(__name__)
DELIVERY_TIMEOUT_SECONDS = 5.0


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
    stale: bool


@dataclass
class HealthReport:
    healthy: bool
    problems: list[str]
    workers: list[WorkerStatus]
    queue: dict[str, int]
    oldest_queued_age_seconds: float | None
    dead_unacknowledged: int
    alerts: list[dict[str, Any]] = field(default_factory=list)


class MonitoringService(Service):
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
        now: datetime | None = None,
    ) -> None:
        """Record that a worker is alive (counts are totals since it started)."""
        from agentcal.models import WorkerHeartbeat, utcnow

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
            s.add(row)

    def forget_dead_local_workers(self) -> int:
        """Mark this host's workers whose process no longer exists as gone (not stale)."""
        from sqlmodel import select

        from agentcal.models import WorkerHeartbeat

        host = socket.gethostname()
        gone = 0
        with self.transaction() as s:
            rows = s.exec(
                select(WorkerHeartbeat).where(
                    WorkerHeartbeat.hostname == host, WorkerHeartbeat.state == "running"
                )
            ).all()
            for row in rows:
                if row.pid is not None and row.pid != os.getpid() and not _pid_alive(row.pid):
                    row.state = "gone"
                    s.add(row)
                    gone += 1
        return gone

    def workers(self, *, now: datetime | None = None) -> list[WorkerStatus]:
        from sqlmodel import col, select

        from agentcal.models import WorkerHeartbeat, utcnow
        from agentcal.settings import get_settings

        now = now or utcnow()
        stale_after = timedelta(seconds=get_settings().worker_stale_seconds)
        with self.transaction() as s:
            rows: list[WorkerHeartbeat] = list(
                s.exec(select(WorkerHeartbeat).order_by(col(WorkerHeartbeat.last_seen).desc()))
            )
        return [
            WorkerStatus(
                worker_id=r.worker_id,
                kind=r.kind,
                hostname=r.hostname,
                pid=r.pid,
                state=r.state,
                started_at=r.started_at,
                last_seen=r.last_seen,
                jobs_done=r.jobs_done,
                jobs_failed=r.jobs_failed,
                stale=r.state == "running" and now - r.last_seen > stale_after,
            )
            for r in rows
        ]

    # -- alerts -----------------------------------------------------------------------------

    def raise_alert(
        self,
        message: str,
        *,
        source: str,
        level: str = "error",
        job_id: int | None = None,
        dedupe: bool = False,
    ) -> Alert | None:
        """Store an alert and deliver it; with `dedupe`, skip it if the same one is still open."""
        from sqlmodel import select

        from agentcal.masking import mask
        from agentcal.models import Alert

        message = mask(message)
        with self.transaction() as s:
            if dedupe:
                open_same = s.exec(
                    select(Alert).where(
                        Alert.source == source,
                        Alert.message == message,
                        Alert.acknowledged_at.is_(None),  # type: ignore[union-attr]
                    )
                ).first()
                if open_same is not None:
                    return None
            alert = Alert(level=level, source=source, message=message, job_id=job_id)
            s.add(alert)
            s.flush()
        deliver_alert(alert)
        return alert

    def list_alerts(self, *, include_acknowledged: bool = False, limit: int = 50) -> list[Alert]:
        from sqlmodel import col, select

        from agentcal.models import Alert

        stmt = select(Alert)
        if not include_acknowledged:
            stmt = stmt.where(col(Alert.acknowledged_at).is_(None))
        stmt = stmt.order_by(col(Alert.id).desc()).limit(limit)
        with self.transaction() as s:
            return list(s.exec(stmt))

    def acknowledge_alerts(self, alert_ids: list[int] | None = None) -> int:
        """Acknowledge alerts (all open ones when no ids) and the dead jobs they are about."""
        from sqlmodel import col, select

        from agentcal.models import Alert, utcnow
        from agentcal.services.jobs import job_queue

        with self.transaction() as s:
            stmt = select(Alert).where(col(Alert.acknowledged_at).is_(None))
            if alert_ids is not None:
                found = {a.id for a in s.exec(select(Alert).where(col(Alert.id).in_(alert_ids)))}
                missing = sorted(set(alert_ids) - found)
                if missing:
                    raise NotFoundError(f"no alert with id {missing[0]}")
                stmt = stmt.where(col(Alert.id).in_(alert_ids))
            rows = list(s.exec(stmt))
            now = utcnow()
            for alert in rows:
                alert.acknowledged_at = now
                s.add(alert)
            job_ids = [a.job_id for a in rows if a.job_id is not None]
            if alert_ids is None:
                from sqlalchemy import update

                from agentcal.models import Job

                s.execute(update(Job).where(Job.state == "dead").values(acknowledged=True))  # type: ignore[arg-type]
            elif job_ids:
                job_queue.acknowledge(job_ids, session=s)
            return len(rows)

    # -- health -----------------------------------------------------------------------------

    def health(self, *, now: datetime | None = None) -> HealthReport:
        """Everything `agentcal status` shows, and whether it is healthy."""
        from agentcal.models import utcnow
        from agentcal.services.jobs import job_queue

        now = now or utcnow()
        workers = self.workers(now=now)
        queue = job_queue.counts()
        oldest = job_queue.oldest_due(now=now)
        dead = job_queue.unacknowledged_dead()
        alerts = self.list_alerts(limit=10)
        problems = [
            f"worker {w.worker_id} last seen {int((now - w.last_seen).total_seconds())} s ago"
            for w in workers
            if w.stale
        ]
        if dead:
            problems.append(
                f"{dead} dead job(s) not acknowledged (agentcal jobs list --state dead)"
            )
        return HealthReport(
            healthy=not problems,
            problems=problems,
            workers=workers,
            queue=queue,
            oldest_queued_age_seconds=None if oldest is None else (now - oldest).total_seconds(),
            dead_unacknowledged=dead,
            alerts=[a.model_dump() for a in alerts],
        )


def deliver_alert(alert: Alert) -> None:
    """Send the alert to AGENTCAL_ALERT_COMMAND and/or AGENTCAL_ALERT_WEBHOOK, if set."""
    from agentcal.settings import get_settings

    settings = get_settings()
    text = f"agentcal {alert.level}: [{alert.source}] {alert.message}"
    if settings.alert_command:
        import shlex
        import subprocess

        try:
            subprocess.run(
                shlex.split(settings.alert_command),
                input=text + "\n",
                text=True,
                timeout=DELIVERY_TIMEOUT_SECONDS,
                check=True,
                capture_output=True,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("alert command failed: %s", exc)
    if settings.alert_webhook:
        import json
        import urllib.request

        body = json.dumps(
            {
                "id": alert.id,
                "level": alert.level,
                "source": alert.source,
                "message": alert.message,
                "job_id": alert.job_id,
                "created_at": alert.created_at.isoformat(),
                "text": text,
            }
        ).encode()
        request = urllib.request.Request(
            settings.alert_webhook,
            data=body,
            headers={"Content-Type": "application/json", "User-Agent": "agentcal"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
                response.read()
        except (OSError, ValueError) as exc:
            log.warning("alert webhook failed: %s", exc)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


monitoring_service = MonitoringService()
