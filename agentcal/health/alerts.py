"""Alerts: stored in `alerts`, delivered to AGENTCAL_ALERT_COMMAND (the text on stdin) and
AGENTCAL_ALERT_WEBHOOK (a JSON POST), acknowledged by `agentcal alerts ack`.

Delivery failures are logged, never raised: alerting must not take a worker down.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from agentcal.errors import NotFoundError
from agentcal.reader import columns
from agentcal.records import AlertRow
from agentcal.service import Service

if TYPE_CHECKING:
    from agentcal.models import Alert

log = logging.getLogger(__name__)
DELIVERY_TIMEOUT_SECONDS = 5.0


class Alerts(Service):
    """Raise, resolve, list and acknowledge alerts."""

    def raise_alert(
        self,
        message: str,
        *,
        source: str,
        level: str = "error",
        job_id: int | None = None,
        dedupe: bool = False,
        subject: str | None = None,
    ) -> Alert | None:
        """Store an alert and deliver it. With `dedupe`, skip it while the same one is open;
        with a `subject` (what it is about), skip it while an alert on that subject is open."""
        from sqlmodel import col, select

        from agentcal.masking import mask
        from agentcal.models import Alert

        message = mask(message)
        with self.transaction() as s:
            if dedupe or subject is not None:
                same = (
                    Alert.subject == subject
                    if subject is not None
                    else (Alert.source == source) & (Alert.message == message)
                )
                open_same = s.exec(
                    select(Alert.id).where(same, col(Alert.acknowledged_at).is_(None))
                ).first()
                if open_same is not None:
                    return None
            alert = Alert(
                level=level, source=source, message=message, job_id=job_id, subject=subject
            )
            s.add(alert)
            s.flush()
        deliver_alert(alert)
        return alert

    def resolve_subject(self, subject: str) -> int:
        """Acknowledge the open alerts about `subject` (what they reported is over); how many."""
        from sqlalchemy import update

        from agentcal.models import Alert, utcnow

        with self.transaction() as s:
            result = s.execute(
                update(Alert)
                .where(Alert.subject == subject, Alert.acknowledged_at.is_(None))  # type: ignore[arg-type,union-attr]
                .values(acknowledged_at=utcnow())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def open_subjects(self, prefix: str) -> set[str]:
        """The subjects starting with `prefix` that have an open alert."""
        from sqlmodel import col, select

        from agentcal.models import Alert

        with self.transaction() as s:
            rows = s.exec(
                select(Alert.subject)
                .where(col(Alert.subject).startswith(prefix), col(Alert.acknowledged_at).is_(None))
                .distinct()
            )
            return {r for r in rows if r}

    def list_alerts(self, *, include_acknowledged: bool = False, limit: int = 50) -> list[AlertRow]:
        """Newest first; open ones only unless `include_acknowledged`."""
        sql = f"SELECT {columns(AlertRow)} FROM alerts"
        if not include_acknowledged:
            sql += " WHERE acknowledged_at IS NULL"
        with self.reading() as r:
            return r.records(AlertRow, sql + " ORDER BY id DESC LIMIT :limit", {"limit": limit})

    def acknowledge_alerts(self, alert_ids: list[int] | None = None) -> int:
        """Acknowledge alerts (all open ones when no ids) and the dead jobs they are about."""
        from sqlmodel import col, select

        from agentcal.models import Alert, utcnow
        from agentcal.queue.jobs import job_queue

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
            _forget_processes(s, [a.subject for a in rows if a.subject])
            job_ids = [a.job_id for a in rows if a.job_id is not None]
            if alert_ids is None:
                from sqlalchemy import update

                from agentcal.models import Job

                s.execute(update(Job).where(Job.state == "dead").values(acknowledged=True))  # type: ignore[arg-type]
            elif job_ids:
                job_queue.acknowledge(job_ids, session=s)
            return len(rows)


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


def process_subject(hostname: str | None, pid: int | None) -> str:
    return f"process:{hostname}:{pid}"


def _forget_processes(s: Any, subjects: list[str]) -> None:
    """The user acknowledged these processes' loss: their rows stop counting (`gone`)."""
    from sqlmodel import col, select

    from agentcal.models import WorkerHeartbeat

    wanted = {x for x in subjects if x.startswith("process:")}
    if not wanted:
        return
    for row in s.exec(
        select(WorkerHeartbeat).where(col(WorkerHeartbeat.state).in_(("running", "vanished")))
    ):
        if process_subject(row.hostname, row.pid) in wanted:
            row.state = "gone"
            s.add(row)
