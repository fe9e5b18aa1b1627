"""`agentcal calendar`: export the calendar as ICS, push pending events, show busy time."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from agentcal.cli._common import JsonOption, UserOption, console, escape, print_json, resolve_user

app = typer.Typer(
    help="Export your calendar, push pending events to the backend, show busy time.",
    no_args_is_help=True,
)


@app.command(name="export")
def calendar_export(
    path: Annotated[
        str, typer.Argument(help="ICS file to write (replaced atomically), or - for stdout.")
    ],
    user: UserOption = None,
) -> None:
    """Write your active events to an .ics file any calendar app can import."""
    from agentcal.planning.push import calendar_push_service

    if path == "-":
        data, _count = calendar_push_service.render(resolve_user(user))
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    count = calendar_push_service.export(resolve_user(user), path)
    console().print(f"wrote {count} event{'s' if count != 1 else ''} to {escape(path)}")


@app.command(name="sync")
def calendar_sync(user: UserOption = None, as_json: JsonOption = False) -> None:
    """Push events the calendar backend has not seen yet, now (batched)."""
    from agentcal.cli import render
    from agentcal.planning.push import calendar_push_service

    who = resolve_user(user)
    with render.progress(console(), "syncing") as update:
        outcomes = calendar_push_service.push_pending(who, progress=update)
    failed = sum(1 for o in outcomes if not o.ok)
    if as_json:
        print_json(outcomes)
        if failed:
            raise typer.Exit(1)
        return
    out = console()
    if not outcomes:
        out.print("nothing to sync: the calendar backend is up to date")
        return
    down = [o for o in outcomes if o.outage]
    for o in outcomes:
        if o.outage:
            continue  # the calendar as a whole is down: one line below, not one per event
        state = "skipped" if o.skipped else ("ok" if o.ok else "failed")
        note = f" ({escape(o.error)})" if o.error else ""
        out.print(f"#{o.event_id} {o.action} {escape(o.title)}: {state}{note}")
    out.print(f"{len(outcomes) - failed} synced, {failed} failed")
    if down:
        typer.echo(
            f"Error: {len(down)} event(s) not synced: {down[0].error}. They wait and are "
            "retried by the daemon, or run `agentcal calendar sync` again.",
            err=True,
        )
    if failed:
        raise typer.Exit(1)


@app.command(name="busy")
def calendar_busy(
    days: Annotated[int, typer.Option("--days", min=1, max=90, help="How many days ahead.")] = 7,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the busy time your calendar backend reports (agentcal's own events left out)."""
    from datetime import UTC, datetime, timedelta

    from agentcal.cli._common import local_time
    from agentcal.planning.push import calendar_push_service
    from agentcal.users.profiles import user_timezone

    who = resolve_user(user)
    start = datetime.now(UTC).replace(microsecond=0)
    spans = calendar_push_service.busy(who, start, start + timedelta(days=days))
    if as_json:
        print_json([{"start": a, "end": b} for a, b in spans])
        return
    out = console()
    if not spans:
        out.print(f"no busy time in the next {days} days")
    zone = user_timezone(who)
    for a, b in spans:
        out.print(f"{local_time(a, zone)} - {local_time(b, zone, fmt='%H:%M')}")
