"""`agentcal daemon`, `agentcal status` and `agentcal alerts`: running and watching the workers."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agentcal.cli._common import JsonOption, console, escape, print_json

alerts_app = typer.Typer(help="List and acknowledge alerts.", no_args_is_help=True)


def _Alert(**fields: Any) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(**fields)


def daemon(
    once: Annotated[
        bool, typer.Option("--once", help="One emitter pass and every due job, then exit (cron).")
    ] = False,
) -> None:
    """Run the job processor and the preference emitter until SIGTERM or Ctrl-C.

    With --once the exit code is 1 when the emitter or any job failed in this run."""
    from agentcal.db import get_engine
    from agentcal.settings import get_settings

    get_settings()  # unusable settings: one line now, not a failed heartbeat per worker
    get_engine()  # an unusable store (damaged, newer): likewise
    if once:
        from agentcal.workers.daemon import run_once

        result = run_once()  # one summary line (cron mails what it prints), then failures
        typer.echo(result.summary())
        _report_failures(result)
        return
    from agentcal.workers.runner import configure_logging

    configure_logging()  # a long-running service: agentcal's INFO lines too
    import threading

    from agentcal.workers.daemon import run_daemon
    from agentcal.workers.runner import install_stop_signals

    stop = threading.Event()
    install_stop_signals(stop)
    run_daemon(stop)


def _report_failures(result: Any) -> None:
    """One line per kind of failure on stderr, and exit code 1, when the run had any."""
    if result.emit_error:
        typer.echo(f"Error: the emitter pass failed: {result.emit_error}", err=True)
    if result.jobs_failed:
        parts = []
        if result.jobs_waiting:
            parts.append(f"{result.jobs_waiting} waiting for the calendar to answer again")
        if result.jobs_dead:
            parts.append(f"{result.jobs_dead} dead (agentcal jobs list --state dead)")
        retried = result.jobs_failed - result.jobs_waiting - result.jobs_dead
        if retried:
            parts.append(f"{retried} to be retried")
        typer.echo(
            f"Error: {result.jobs_failed} job(s) failed in this run: {', '.join(parts)} "
            "(see `agentcal status`)",
            err=True,
        )
    if not result.ok:
        raise typer.Exit(1)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def status(as_json: JsonOption = False) -> None:
    """Workers, queue and alerts; exits 1 when unhealthy (a lost worker, a job past its lease,
    dead jobs). It also raises the alerts it finds, so a cron'd `agentcal status` is a watchdog."""
    from datetime import UTC, datetime

    from agentcal.health.monitoring import monitoring_service
    from agentcal.workers.runner import check_workers

    now = datetime.now(UTC)
    check_workers(now, survive_store_failure=False)  # an unusable store: its one error line only
    report = monitoring_service.health(now=now)
    if as_json:
        print_json(report)
    else:
        _render(report, now)
    if not report.healthy:
        raise typer.Exit(1)


def _render(report: Any, now: Any) -> None:
    from agentcal.cli import render

    out = console()
    verdict = "[green]healthy[/green]" if report.healthy else "[red]UNHEALTHY[/red]"
    out.print(f"agentcal: {verdict}")
    for problem in report.problems:
        out.print(f"  - {escape(problem)}")
    if report.workers:
        workers = render.Listing(title="workers")
        workers.column("worker", "title")
        workers.column("kind", "tag", optional=1)
        workers.column("state", "tag")
        workers.column("last seen", "date")
        workers.column("done", "number")
        workers.column("failed", "number")
        for w in report.workers:
            state = "[red]stale[/red]" if w.stale else w.state
            state = "[red]vanished[/red]" if w.state == "vanished" else state
            workers.row(
                escape(w.worker_id), w.kind, state, _age((now - w.last_seen).total_seconds()) + " ago",
                str(w.jobs_done), str(w.jobs_failed),
            )  # fmt: skip
        workers.print(out)
    else:
        out.print("No worker has run yet: start `agentcal daemon` (see docs/workers.md).")
    q = report.queue
    out.print(
        "queue: " + ", ".join(f"{k} {n}" for k, n in q.items())
        + f"; oldest due job waiting {_age(report.oldest_queued_age_seconds)}"
    )  # fmt: skip
    if report.sync_failures:
        failing = render.Listing(title="calendar syncs failing")
        failing.column("user", "title")
        failing.column("calendar", "tag")
        failing.column("failing since", "date")
        failing.column("failed", "number")
        failing.column("last success", "date", optional=1)
        failing.column("last error", "text", want=24)
        for f in report.sync_failures:
            last = f["last_success_at"]
            failing.row(
                escape(f["user_id"]), f["backend"], render.when(f["failing_since"]),
                str(f["failures"]), render.when(last) if last else "never",
                escape(f["last_error"] or ""),
            )  # fmt: skip
        failing.print(out)
    if report.alerts:
        _alerts_listing([_Alert(**a) for a in report.alerts], title="open alerts").print(out)


@alerts_app.command(name="list")
def alerts_list(
    include_all: Annotated[
        bool, typer.Option("--all", help="Include acknowledged alerts.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List open alerts (newest first)."""
    from agentcal.health.monitoring import monitoring_service

    rows = monitoring_service.list_alerts(include_acknowledged=include_all)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console().print("No alerts.")
        return
    _alerts_listing(rows, acknowledged=include_all).print(console())


def _alerts_listing(
    rows: list[Any], *, title: str | None = None, acknowledged: bool = False
) -> Any:
    """The message is never cut (it wraps); job and source go first on a narrow terminal."""
    from agentcal.cli import render

    listing = render.Listing(title=title)
    listing.column("id", "id")
    listing.column("when", "date")
    listing.column("level", "tag", optional=3)
    listing.column("source", "tag", optional=2)
    listing.column("job", "id", optional=1)
    listing.column("message", "title")
    if acknowledged:
        listing.column("acked", "tag")
    for a in rows:
        cells = [str(a.id), render.when(a.created_at), a.level, a.source, str(a.job_id or "-"),
                 escape(a.message)]  # fmt: skip
        listing.row(*cells, *(["yes" if a.acknowledged_at else "no"] if acknowledged else []))
    return listing


@alerts_app.command(name="ack")
def alerts_ack(
    alert_ids: Annotated[
        list[int] | None, typer.Argument(help="Alert ids; none with --all.")
    ] = None,
    ack_all: Annotated[
        bool, typer.Option("--all", help="Acknowledge every open alert and dead job.")
    ] = False,
) -> None:
    """Acknowledge alerts (and the dead jobs they report), so `agentcal status` is healthy again."""
    from agentcal.errors import ValidationError
    from agentcal.health.monitoring import monitoring_service

    if not ack_all and not alert_ids:
        raise ValidationError("give alert ids or --all")
    n = monitoring_service.acknowledge_alerts(None if ack_all else alert_ids)
    console().print(f"acknowledged {n} alert(s)")
