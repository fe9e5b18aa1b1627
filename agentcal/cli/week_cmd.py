"""`agentcal week`: the week as a 7-day agenda grid (like `gcalcli calw`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from agentcal.cli._common import UserOption, console, escape, print_json, resolve_user

if TYPE_CHECKING:
    from agentcal.planning.week import Week, WeekItem

LEGEND = "◆ habit  ↷ moved  ◇ suggestion (not on your calendar)  ! overlaps another event"


def week(
    next_week: Annotated[bool, typer.Option("--next", help="The week after this one.")] = False,
    user: UserOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the week as one JSON object.")
    ] = False,
) -> None:
    """This week (Monday to Sunday) at a glance: your events, agentcal's habit blocks, the
    ones it moved, its suggestions, and overlaps."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from agentcal.planning.week import monday_of, week_service
    from agentcal.users.profiles import user_timezone

    who = resolve_user(user)
    zone = user_timezone(who)
    today = datetime.now(ZoneInfo(zone)).date()
    result = week_service.week(who, monday_of(today, 1 if next_week else 0), zone)
    if as_json:
        print_json(result.to_dict())
        return
    _render(result, today)


def _cell(item: WeekItem) -> str:
    mark = {"habit": "◆", "suggestion": "◇"}.get(item.kind, "")
    if item.moved:
        mark = "↷"
    text = f"{mark}{item.start:%H:%M} {escape(item.title)}"
    if item.conflict:
        return f"[bold red]!{text}[/bold red]"
    if item.kind == "suggestion":
        return f"[dim]{text}[/dim]"
    return text


def _render(result: Week, today: object) -> None:
    from rich import box
    from rich.table import Table

    first, last = result.days[0].day, result.days[-1].day
    title = f"Week of {first:%d %b} – {last:%d %b %Y}"
    out = console()
    # Seven equal columns that wrap their text: at 80 columns, ten cells each.
    table = Table(title=title, box=box.SQUARE, padding=(0, 0), expand=True, show_lines=False)
    for d in result.days:
        header = f"{d.day:%a %d}"
        table.add_column(
            f"[reverse]{header}[/reverse]" if d.day == today else header,
            ratio=1, overflow="fold", no_wrap=False,
        )  # fmt: skip
    table.add_row(*("\n".join(_cell(i) for i in d.items) or "[dim]-[/dim]" for d in result.days))
    out.print(table)
    out.print(f"[dim]{LEGEND}[/dim]")
