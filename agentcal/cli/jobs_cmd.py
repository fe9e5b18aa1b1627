"""`agentcal jobs`: the background job queue."""

from __future__ import annotations

from typing import Annotated

import typer

from agentcal.cli._common import JsonOption, console, escape, print_json
from agentcal.vocab import JOB_KINDS, JOB_STATES

app = typer.Typer(help="Inspect, retry and purge background jobs.", no_args_is_help=True)
MAX_PURGE_DAYS = 36_500  # a century: beyond it the cut-off date does not exist

StateOpt = Annotated[
    str | None, typer.Option("--state", "-s", help=f"Only this state: {', '.join(JOB_STATES)}.")
]
KindOpt = Annotated[
    str | None, typer.Option("--kind", "-k", help=f"Only this kind: {', '.join(JOB_KINDS)}.")
]


def _short(value: object, width: int = 50) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


@app.command(name="list")
def jobs_list(
    state: StateOpt = None,
    kind: KindOpt = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", help="At most this many (newest first).")
    ] = 50,
    as_json: JsonOption = False,
) -> None:
    """List jobs, newest first."""
    from agentcal.queue.jobs import job_queue

    rows = job_queue.list_jobs(state=state, kind=kind, limit=limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console().print("No jobs.")
        return
    from agentcal.cli import render

    listing = render.Listing()
    listing.column("id", "id")
    listing.column("kind", "tag")
    listing.column("state", "tag")
    listing.column("tries", "number", optional=3)
    listing.column("run at", "date")
    listing.column("user", "tag", optional=2)
    listing.column("payload", "text", optional=1)
    listing.column("last error", "text", want=20)
    for j in rows:
        state = j.state if j.state != "dead" else "[red]dead[/red]"
        listing.row(
            str(j.id), j.kind, state, f"{j.attempts}/{j.max_attempts}", render.when(j.run_at),
            escape(j.user_id or "-"), escape(_short(j.payload, 200)),
            escape(_short(j.last_error or "", 200)),
        )  # fmt: skip
    listing.print(console())


@app.command(name="show")
def jobs_show(
    job_id: Annotated[int, typer.Argument(help="Job id (see `agentcal jobs list`).")],
    as_json: JsonOption = False,
) -> None:
    """Show one job: payload, attempts, lease, result and last error."""
    from agentcal.queue.jobs import job_queue

    job = job_queue.get(job_id)
    if as_json:
        print_json(job)
        return
    import json

    from agentcal.cli._common import local_time

    out = console()
    out.print(f"[bold]job #{job.id}[/bold] {job.kind}  state: {job.state}")
    out.print(f"attempts:  {job.attempts}/{job.max_attempts}   priority: {job.priority}")
    out.print(f"run at:    {local_time(job.run_at)}   created: {local_time(job.created_at)}")
    if job.unique_key:
        out.print(f"key:       {escape(job.unique_key)}")
    if job.locked_by:
        out.print(f"held by:   {escape(job.locked_by)} until {local_time(job.locked_until)}")
    if job.finished_at:
        out.print(f"finished:  {local_time(job.finished_at)}")
    out.print(f"payload:   {escape(json.dumps(job.payload, ensure_ascii=False))}")
    if job.result is not None:
        out.print(f"result:    {escape(json.dumps(job.result, ensure_ascii=False))}")
    if job.last_error:
        out.print(f"error:     {escape(job.last_error)}")


@app.command(name="retry")
def jobs_retry(
    job_ids: Annotated[
        list[int] | None, typer.Argument(help="Job ids to run again (dead or done jobs).")
    ] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Retry every dead job.")] = False,
    kind: KindOpt = None,
) -> None:
    """Queue dead (or done) jobs again with a fresh set of attempts."""
    from agentcal.errors import ValidationError
    from agentcal.queue.jobs import job_queue

    if all_dead:
        ids = job_queue.retry_dead(kind=kind)
    elif job_ids:
        ids = [job_queue.retry(i).id for i in job_ids]  # type: ignore[misc]
    else:
        raise ValidationError("give job ids or --all-dead")
    console().print(
        f"queued {len(ids)} job(s) again" + (f": {', '.join(map(str, ids))}" if ids else "")
    )


@app.command(name="purge")
def jobs_purge(
    state: Annotated[
        list[str] | None,
        typer.Option("--state", "-s", help="done or dead (repeatable; default: done)."),
    ] = None,
    older_than: Annotated[
        float, typer.Option("--older-than", help="Only jobs finished more than this many days ago.")
    ] = 7.0,
) -> None:
    """Delete finished jobs."""
    from datetime import timedelta

    from agentcal.errors import ValidationError
    from agentcal.queue.jobs import job_queue

    if not 0 <= older_than <= MAX_PURGE_DAYS:
        raise ValidationError(f"--older-than must be 0 to {MAX_PURGE_DAYS} days (got {older_than})")
    n = job_queue.purge(states=tuple(state or ("done",)), older_than=timedelta(days=older_than))
    console().print(f"purged {n} job(s)")
