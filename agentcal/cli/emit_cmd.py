"""`agentcal emit`: plan habit events now, and say why each went where it did."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agentcal.cli._common import JsonOption, UserOption, console, escape, print_json, resolve_user

PROGRESS_FROM_USERS = 20
OUTCOME_STYLE = {
    "planned": "green",
    "moved": "yellow",
    "updated": "cyan",
    "unplaced": "red",
    "cancelled": "magenta",
}


def emit(
    days: Annotated[
        int | None, typer.Option("--days", help="Days ahead to plan (default: AGENTCAL_EMIT_DAYS).")
    ] = None,
    user: UserOption = None,
    all_users: Annotated[
        bool, typer.Option("--all-users", help="Every user with preferences or insights.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the plan without writing anything.")
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list events that stay as they are.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Turn your preferences into calendar events for the next days, explaining each placement."""
    from agentcal.errors import ValidationError
    from agentcal.planning.emitter import calendar_event_emitter
    from agentcal.settings import get_settings

    if all_users and user is not None:
        raise ValidationError("use --user or --all-users, not both")
    days_ahead = days if days is not None else get_settings().emit_days
    users = calendar_event_emitter.all_user_ids() if all_users else [resolve_user(user)]
    if len(users) >= PROGRESS_FROM_USERS and not as_json:
        results = _with_progress(users, days_ahead, dry_run)
    else:
        results = calendar_event_emitter.process_users(users, days_ahead, dry_run=dry_run)
    if as_json:
        print_json([_placement_json(r, p) for r in results for p in r.placements])
        return
    _render(results, show_all=show_all)


def _with_progress(users: list[str], days_ahead: int, dry_run: bool) -> list[Any]:
    from agentcal.cli import render
    from agentcal.planning.emitter import calendar_event_emitter

    done = 0
    with render.progress(console(), "planning") as update:

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if update is not None:
                update(done, len(users))

        return calendar_event_emitter.process_users(
            users, days_ahead, dry_run=dry_run, progress=advance
        )


def _placement_json(result: Any, p: Any) -> dict[str, Any]:
    return {
        "user_id": result.user_id,
        "outcome": p.outcome,
        "event_id": p.event_id,
        "preference_id": p.preference_id,
        "title": p.title,
        "local_date": p.local_date,
        "start": p.start,
        "end": p.end,
        "moved_minutes": p.moved_minutes,
        "avoided": p.avoided,
        "reason": p.reason,
        "dry_run": result.dry_run,
    }


def _render(results: list[Any], *, show_all: bool) -> None:
    from rich.table import Table

    from agentcal.cli._common import local_time

    out = console()
    many = len(results) > 1
    totals: dict[str, int] = {}
    rows: list[tuple[Any, Any]] = []
    for r in results:
        for w in r.warnings:
            out.print(f"[yellow]warning:[/yellow] {escape(w)}")
        for k, n in r.counts.items():
            totals[k] = totals.get(k, 0) + n
        shown = r.placements if show_all else r.changes
        rows.extend((r, p) for p in shown)
    if rows and (not many or len(rows) <= 200):
        rows.sort(key=lambda rp: (rp[0].user_id, rp[1].start or rp[1].local_date))
        table = Table(*(["user"] if many else []), "day", "time", "title", "outcome", "why")
        for r, p in rows:
            style = OUTCOME_STYLE.get(p.outcome, "")
            when = (
                local_time(p.start, r.timezone, "%H:%M")
                + "–"
                + local_time(p.end, r.timezone, "%H:%M")
            )
            table.add_row(
                *([escape(r.user_id)] if many else []),
                local_time(p.start, r.timezone, "%a %Y-%m-%d"), when, escape(p.title),
                f"[{style}]{p.outcome}[/{style}]" if style else p.outcome, escape(p.reason),
            )  # fmt: skip
        out.print(table)
    dry = " (dry run: nothing written)" if results and results[0].dry_run else ""
    summary = ", ".join(f"{n} {k}" for k, n in sorted(totals.items())) or "no preferences to plan"
    out.print(f"{len(results)} user(s): {summary}{dry}")
    if any(p.outcome == "unplaced" for r in results for p in r.placements):
        out.print(
            "Unplaced events need room: move something, or widen AGENTCAL_FLEX_WINDOW_MINUTES."
        )
