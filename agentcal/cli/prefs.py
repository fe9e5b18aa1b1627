"""`agentcal prefs`: the recurring blocks agentcal keeps on your calendar."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agentcal.cli._common import JsonOption, UserOption, console, escape, print_json, resolve_user
from agentcal.vocab import PREFERENCE_TYPES

app = typer.Typer(
    help="List, add, edit, remove, enable and disable preferences.", no_args_is_help=True
)

IdArg = Annotated[int, typer.Argument(help="Preference id (see `agentcal prefs list`).")]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Event title.")]
AtOpt = Annotated[str | None, typer.Option("--at", help="Start time, HH:MM in your time zone.")]
DurationOpt = Annotated[int | None, typer.Option("--duration", "-d", help="Minutes, 1..1440.")]
DaysOpt = Annotated[
    str | None, typer.Option("--days", help="mon-fri, weekdays, weekends, sat,sun, 1,3,5 or daily.")
]
_EVERY = "Every N weeks on its days: 2 for every other week (1..52)."
EveryOpt = Annotated[int | None, typer.Option("--every", help=_EVERY)]
FromOpt = Annotated[
    str | None,
    typer.Option(
        "--from", help="First day it may happen, YYYY-MM-DD; with --every, which weeks count."
    ),
]
PriorityOpt = Annotated[int | None, typer.Option("--priority", "-p", help="1 (highest) .. 10.")]
FlexibleOpt = Annotated[
    bool | None, typer.Option("--flexible/--fixed", help="May move to avoid conflicts.")
]
AutoOpt = Annotated[
    bool | None, typer.Option("--auto/--suggest", help="Put it on the calendar automatically.")
]


def _render(rows: list[Any]) -> None:
    from agentcal.cli import render
    from agentcal.validation import format_schedule

    listing = render.Listing()
    listing.column("id", "id")
    listing.column("type", "tag")
    listing.column("title", "title")
    listing.column("days", "title")  # "Wed every 2 weeks from 2027-05-05" wraps
    listing.column("at", "date")
    listing.column("min", "number")
    listing.column("prio", "number", optional=2)
    listing.column("flex", "tag", optional=3)
    listing.column("auto", "tag")
    listing.column("on", "tag", optional=4)
    listing.column("from", "text", optional=1)
    for p in rows:
        days = format_schedule(p.day_of_week, p.interval_weeks, p.anchor_date)
        origin = "you"
        if p.source_insight_id:
            origin = "edited" if p.user_edited else f"insight #{p.source_insight_id}"
        listing.row(
            str(p.id), p.preference_type, escape(p.title), days, p.start_time,
            str(p.duration_minutes), str(p.priority), "yes" if p.is_flexible else "no",
            "yes" if p.auto_schedule else "suggest", "yes" if p.is_active else "no", origin,
        )  # fmt: skip
    listing.print(console())


@app.command(name="list")
def prefs_list(
    user: UserOption = None,
    preference_type: Annotated[
        str | None,
        typer.Option("--type", "-t", help=f"Only this type: {', '.join(PREFERENCE_TYPES)}."),
    ] = None,
    active: Annotated[bool, typer.Option("--active", help="Only enabled preferences.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List your preferences."""
    from agentcal.planning.preferences import calendar_preferences_service

    rows = calendar_preferences_service.list_preferences(
        resolve_user(user), preference_type=preference_type, active_only=active
    )
    if as_json:
        print_json(rows)
    elif not rows:
        console().print(
            "No preferences yet. Add one: agentcal prefs add gym --at 06:00 --days weekdays"
        )
    else:
        _render(rows)


def _changes(**opts: Any) -> dict[str, Any]:
    from agentcal.validation import parse_days

    out = {k: v for k, v in opts.items() if v is not None and k not in ("days", "every", "start")}
    if opts.get("days") is not None:
        out["day_of_week"] = parse_days(opts["days"])
    if opts.get("every") is not None:
        out["interval_weeks"] = opts["every"]
    if opts.get("start") is not None:
        out["anchor_date"] = opts["start"]
    return out


@app.command(name="add")
def prefs_add(
    preference_type: Annotated[str, typer.Argument(help=f"One of {', '.join(PREFERENCE_TYPES)}.")],
    at: Annotated[str, typer.Option("--at", help="Start time, HH:MM in your time zone.")],
    duration: Annotated[int, typer.Option("--duration", "-d", help="Minutes, 1..1440.")] = 60,
    days: DaysOpt = None,
    every: Annotated[int, typer.Option("--every", help=_EVERY)] = 1,
    start: FromOpt = None,
    title: TitleOpt = None,
    priority: Annotated[int, typer.Option("--priority", "-p", help="1 (highest) .. 10.")] = 5,
    flexible: Annotated[
        bool, typer.Option("--flexible/--fixed", help="May move to avoid conflicts.")
    ] = False,
    auto: Annotated[
        bool, typer.Option("--auto/--suggest", help="Put it on the calendar automatically.")
    ] = True,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a recurring preference (every week, or every N weeks with --every)."""
    from agentcal.planning.preferences import calendar_preferences_service
    from agentcal.validation import parse_days

    pref = calendar_preferences_service.create_preference(
        user_id=resolve_user(user),
        preference_type=preference_type,
        title=title,
        start_time=at,
        duration_minutes=duration,
        day_of_week=parse_days(days) if days is not None else None,
        interval_weeks=every,
        anchor_date=start,
        priority=priority,
        is_flexible=flexible,
        auto_schedule=auto,
    )
    if as_json:
        print_json(pref)
    else:
        console().print(f"added preference #{pref.id}")
        _render([pref])


@app.command(name="edit")
def prefs_edit(
    preference_id: IdArg,
    title: TitleOpt = None,
    at: AtOpt = None,
    duration: DurationOpt = None,
    days: DaysOpt = None,
    every: EveryOpt = None,
    start: FromOpt = None,
    priority: PriorityOpt = None,
    flexible: FlexibleOpt = None,
    auto: AutoOpt = None,
    preference_type: Annotated[
        str | None, typer.Option("--type", "-t", help="Change the type.")
    ] = None,
    user: UserOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change a preference. Your edits win over what the agent later learns."""
    from agentcal.planning.preferences import calendar_preferences_service

    changes = _changes(
        title=title, start_time=at, duration_minutes=duration, days=days, every=every,
        start=start, priority=priority, is_flexible=flexible, auto_schedule=auto,
        preference_type=preference_type,
    )  # fmt: skip
    pref = calendar_preferences_service.update_preference(
        resolve_user(user), preference_id, **changes
    )
    if as_json:
        print_json(pref)
    else:
        console().print(f"updated preference #{pref.id}")
        _render([pref])


@app.command(name="remove")
def prefs_remove(preference_id: IdArg, user: UserOption = None) -> None:
    """Remove a preference (its future events are cancelled)."""
    from agentcal.planning.preferences import calendar_preferences_service

    pref = calendar_preferences_service.delete_preference(resolve_user(user), preference_id)
    console().print(f"removed preference #{pref.id} ({escape(pref.title)})")


@app.command(name="enable")
def prefs_enable(preference_id: IdArg, user: UserOption = None) -> None:
    """Enable a preference."""
    from agentcal.planning.preferences import calendar_preferences_service

    pref = calendar_preferences_service.set_active(resolve_user(user), preference_id, True)
    console().print(f"enabled preference #{pref.id} ({escape(pref.title)})")


@app.command(name="disable")
def prefs_disable(preference_id: IdArg, user: UserOption = None) -> None:
    """Disable a preference (its future events are cancelled)."""
    from agentcal.planning.preferences import calendar_preferences_service

    pref, cancelled = calendar_preferences_service.disable_preference(
        resolve_user(user), preference_id
    )
    console().print(
        f"disabled preference #{pref.id} ({escape(pref.title)}): "
        f"{len(cancelled)} future event(s) cancelled"
    )
