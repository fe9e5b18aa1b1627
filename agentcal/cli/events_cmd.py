"""`agentcal events`: what is on your calendar."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agentcal.cli._common import JsonOption, UserOption, console, escape, print_json, resolve_user

app = typer.Typer(help="List and quick-add calendar events.", no_args_is_help=True)


@app.command(name="list")
def events_list(
    days: Annotated[int, typer.Option("--days", help="From today, this many days ahead.")] = 7,
    include_all: Annotated[
        bool, typer.Option("--all", help="Also cancelled and unplaced events.")
    ] = False,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """List events from today for the next N days."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from agentcal.errors import ValidationError
    from agentcal.planning.events import calendar_events_service
    from agentcal.users.profiles import user_timezone

    if not 1 <= days <= 366:
        raise ValidationError(f"--days must be between 1 and 366 (got {days})")
    who = resolve_user(user)
    tz = ZoneInfo(user_timezone(who))
    today = datetime.now(tz).date()
    start = datetime.combine(today, time(0), tzinfo=tz)
    end = datetime.combine(today + timedelta(days=days), time(0), tzinfo=tz)
    rows = calendar_events_service.list_events(
        who, start, end, include_cancelled=include_all,
        statuses=("planned", "confirmed", "cancelled", "unplaced") if include_all else None,
    )  # fmt: skip
    if as_json:
        print_json(rows)
        return
    if not rows:
        console().print(f"No events in the next {days} day(s).")
        return
    _render(rows)


def _render(rows: list[Any]) -> None:
    """Day, time, title and state never cut; a placement note goes under its title (not the
    routine "at its usual time"). The event's origin (agent, emitter, user) is in --json."""
    from agentcal.cli import render
    from agentcal.cli._common import local_time
    from agentcal.vocab import USUAL_TIME_NOTE

    listing = render.Listing()
    listing.column("id", "id")
    listing.column("day", "date")
    listing.column("time", "date")
    listing.column("title", "title")
    listing.column("status", "tag")
    listing.column("synced", "tag", optional=1)
    for e in rows:
        synced = (
            "yes" if e.synced_revision is not None and e.synced_revision >= e.revision else "no"
        )
        if e.sync_note:  # the user deleted or moved it in the calendar: agentcal left it so
            synced = f"[yellow]{escape(e.sync_note)}[/yellow]"
        span = local_time(e.start_at, e.timezone, "%H:%M") + "–"
        span += local_time(e.end_at, e.timezone, "%H:%M")
        listing.row(
            str(e.id), local_time(e.start_at, e.timezone, "%a %d %b"), span, escape(e.title),
            e.status, synced,
            note=None if e.placement_note in (None, "", USUAL_TIME_NOTE) else escape(e.placement_note),
        )  # fmt: skip
    listing.print(console())


@app.command(name="add")
def events_add(
    text: Annotated[
        str,
        typer.Argument(
            help='The event as you would say it: "coffee with Ana at Blue Door Friday 9am".',
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show what would be created; write nothing.")
    ] = False,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Quick-add one event from one line of text (like `gcalcli quick`), with the offline
    model's parser: dates, times, ranges, durations, people and places. Prints what it created."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from agentcal.agent.quickadd import quick_event
    from agentcal.agent.when import month_first
    from agentcal.users.profiles import profile_for

    user_id = resolve_user(user)
    zone = profile_for(user_id).timezone  # the user's own "Friday 9am"
    tz = ZoneInfo(zone)
    intent = quick_event(text, datetime.now(tz), month_first=month_first(zone))
    start, end = intent.span(tz)
    assert intent.title is not None
    if dry_run:
        planned = {"title": intent.title, "start": start, "end": end, "location": intent.location}
        if as_json:
            print_json({**planned, "dry_run": True})
            return
        console().print(
            f"Would create {_describe(intent.title, start, end, intent.location)} "
            "(dry run: nothing written).",
            soft_wrap=True,
        )
        return
    from agentcal.planning.events import calendar_events_service

    event = calendar_events_service.create_event(
        user_id=user_id, title=intent.title, start=start, end=end, timezone=zone,
        location=intent.location, origin="user",
    )  # fmt: skip
    if as_json:
        print_json(event)
        return
    console().print(
        f"Created {_describe(event.title, start, end, event.location)} (#{event.id}).",
        soft_wrap=True,
    )


def _describe(title: str, start, end, location: str | None) -> str:  # type: ignore[no-untyped-def]
    span = (
        f"{start:%a %d %b %H:%M}–{end:%H:%M}"
        if start.date() == end.date()
        else (f"{start:%a %d %b %H:%M} – {end:%a %d %b %H:%M}")
    )
    where = f" at {location}" if location else ""
    return escape(f"“{title}” {span}{where}")
