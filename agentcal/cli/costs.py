"""`agentcal costs`: what the recorded agent calls cost, and `--reprice` to recompute it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from agentcal.cli._common import (
    UserOption,
    console,
    escape,
    print_json,
    resolve_user,
    window,
    zone_of,
)
from agentcal.vocab import COST_BREAKDOWNS

if TYPE_CHECKING:
    from agentcal.observability.reprice import RepriceResult
    from agentcal.observability.usage import CostReport, UsageStats

SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since", "-s", help="From this time: 7d, 12h, 2w, 30m, today, yesterday, 2026-11-01, ISO."
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--until", help="Up to this time (a date or today/yesterday includes that whole day)."
    ),
]
AllUsersOption = Annotated[
    bool, typer.Option("--all-users", help="Every user's calls, not just yours.")
]


def _money(value: float | None) -> str:
    from agentcal.cli.render import money

    return money(value)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f} ms"


def _who(user: str | None, all_users: bool, by: str | None = None) -> str | None:
    if all_users and user is not None:
        raise typer.BadParameter("use either --user or --all-users", param_hint="--all-users")
    if all_users or (by == "user" and user is None):
        return None
    return resolve_user(user)


def costs(
    user: UserOption = None,
    all_users: AllUsersOption = False,
    since: SinceOption = None,
    until: UntilOption = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by", "-b", help=f"Break down by {', '.join(COST_BREAKDOWNS)} (user: all users)."
        ),
    ] = None,
    days: Annotated[
        int, typer.Option("--days", min=0, max=366, help="Days shown in the spend chart (0: none).")
    ] = 30,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            "-n",
            min=0,
            help="Rows shown in the breakdown table: the top groups by spend, or the latest days"
            " (0: all). --json and --csv always have every group.",
        ),
    ] = 30,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print the breakdown as CSV (default --by day).")
    ] = False,
    reprice: Annotated[
        bool,
        typer.Option(
            "--reprice",
            help="Recompute stored costs from stored tokens with current prices and overrides.",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="With --reprice: show what would change, write nothing."),
    ] = False,
    include_caller_costs: Annotated[
        bool,
        typer.Option(
            "--include-caller-costs",
            help="With --reprice: also re-price calls whose cost the caller gave.",
        ),
    ] = False,
) -> None:
    """Totals (spend, priced and unpriced calls, tokens, errors, latency p50/p95), a daily spend
    chart and an optional breakdown. Default: your calls, all time."""
    if as_json and as_csv:
        raise typer.BadParameter("use either --json or --csv", param_hint="--csv")
    if (dry_run or include_caller_costs) and not reprice:
        raise typer.BadParameter("only makes sense with --reprice", param_hint="--dry-run")
    if reprice and (by is not None or as_csv):
        raise typer.BadParameter("--reprice takes no --by or --csv", param_hint="--reprice")
    user_id = _who(user, all_users, by)
    zone = zone_of(user_id)  # bob's "today" is his day, as his budget counts it
    lo, hi = window(since, until, zone)
    if reprice:
        from agentcal.cli import render
        from agentcal.observability.reprice import reprice_service

        with render.progress(console(), "re-pricing") as update:
            result = reprice_service.reprice(
                user_id=user_id,
                since=lo,
                until=hi,
                include_caller_costs=include_caller_costs,
                dry_run=dry_run,
                progress=update,
            )
        if as_json:
            print_json(result)
        else:
            _render_reprice(result)
        return

    from agentcal.observability.costs import costs_service

    if as_csv and by is None:
        by = "day"
    report = costs_service.report(
        user_id=user_id,
        since=lo,
        until=hi,
        by=by,
        tz=zone,
        # A table shows `limit` groups: only theirs need latency percentiles. Exports: all.
        ranked_groups=None if as_json or as_csv or not limit else limit,
    )
    if as_json:
        print_json(report.to_dict())
    elif as_csv:
        _write_csv(report)
    else:
        _render(report, days, limit)


def _write_csv(report: CostReport) -> None:
    import csv
    import sys
    from dataclasses import fields

    from agentcal.observability.usage import UsageStats

    names = [f.name for f in fields(UsageStats)]
    writer = csv.writer(sys.stdout, lineterminator="\n")
    # By session: the name the user typed first (as the table shows it), then the thread id.
    thread = ["thread_id"] if report.by == "session" else []
    writer.writerow([report.by, *thread, *names[1:]])
    for g in report.groups:
        values = ["" if v is None else v for v in (getattr(g, n) for n in names)]
        if thread:
            values.insert(0, "" if g.key is None else report.names.get(g.key, g.key))
        writer.writerow(values)


def _render(report: CostReport, days: int, limit: int = 0) -> None:
    from rich.table import Table

    out = console()
    who = "all users" if report.user_id is None else escape(report.user_id)
    since = (
        report.since.astimezone(_tz(report)).strftime("%Y-%m-%d %H:%M")
        if report.since
        else "the start"
    )
    until = (
        report.until.astimezone(_tz(report)).strftime("%Y-%m-%d %H:%M") if report.until else "now"
    )
    out.print(f"[bold]Costs for {who}[/bold], {since} to {until} ({report.timezone})")
    t = report.totals
    if not t.calls:
        out.print("No agent calls recorded in this window.")
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("spend", f"{_money(t.cost_usd)} over {t.priced_calls:,} priced calls")
    grid.add_row("unpriced", f"{t.unpriced_calls:,} calls (no price known: not counted as $0)")
    grid.add_row("calls", f"{t.calls:,}  errors: {t.errors:,}")
    grid.add_row("tokens", f"total {t.total_tokens:,}  prompt {t.prompt_tokens:,}")
    grid.add_row("", f"completion {t.completion_tokens:,}  cached {t.cached_tokens:,}")
    grid.add_row("latency", f"p50 {_ms(t.latency_p50_ms)}  p95 {_ms(t.latency_p95_ms)}")
    out.print(grid)
    if days:
        _render_chart(report, days)
    if report.by:
        _render_breakdown(report, limit)


def _tz(report: CostReport):  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo(report.timezone)


def _render_chart(report: CostReport, days: int) -> None:
    from rich.table import Table

    shown = report.daily[-days:]
    peak = max((d.cost_usd for d in shown), default=0.0)
    title = "daily spend" + (
        f" (last {len(shown)} of {len(report.daily)} days)"
        if len(shown) < len(report.daily)
        else ""
    )
    rows = [(d.key or "", _money(d.cost_usd), f"{d.calls:,} calls"
             + (f", {d.unpriced_calls:,} unpriced" if d.unpriced_calls else "")) for d in shown]  # fmt: skip
    out = console()
    # The bar takes what the day, the amount and the counts leave (at most 40 cells).
    widths = [max((len(r[i]) for r in rows), default=0) for i in range(3)]
    bar = max(8, min(40, out.width - sum(widths) - 6))
    table = Table(title=title, show_header=False, box=None, padding=(0, 1), pad_edge=False)
    for key, money, calls in rows:
        cost = next(d.cost_usd for d in shown if d.key == key)
        table.add_row(key, _bar(cost, peak, bar), money, calls)
    out.print(table)
    if peak <= 0:
        span = "that day" if len(shown) == 1 else f"in the last {len(shown)} days"
        free = sum(d.calls for d in shown)
        out.print(f"(no spend {span}" + (f": {free:,} calls, all at $0)" if free else ")"))


def _bar(value: float, peak: float, width: int = 40) -> str:
    if peak <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / peak * width * 8))
    full, part = divmod(eighths, 8)
    return "█" * full + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[part]


def _render_breakdown(report: CostReport, limit: int) -> None:
    """The breakdown table: every group, or the `limit` top ones by spend (the latest days).
    Rendering a Rich table costs ~0.7 ms a row, so a year of days or 50,000 sessions would
    take seconds to print and scroll by unread."""
    from agentcal.cli import render

    groups = report.groups  # with --by session, only the top `limit` already
    shown = groups if not limit or len(groups) <= limit else None
    if shown is None:
        shown = groups[-limit:] if report.by == "day" else groups[:limit]
    total = max(report.group_count, len(groups))
    listing = render.Listing(title=f"by {report.by}")
    listing.column(str(report.by), "title")
    # On a narrow terminal the token counts go first, then errors, unpriced and p95.
    for name, optional in (("calls", 0), ("errors", 5), ("spend", 0), ("unpriced", 4),
                           ("prompt", 1), ("completion", 2), ("cached", 3), ("p50", 0),
                           ("p95", 6)):  # fmt: skip
        listing.column(name, "number", optional=optional)
    for g in shown:
        listing.row(*_stats_cells(g, report.names))
    out = console()
    listing.print(out)
    if len(shown) < total:
        which = "latest" if report.by == "day" else "top"
        order = "" if report.by == "day" else " by spend"
        out.print(
            f"(the {which} {len(shown):,} of {total:,} {report.by}s{order};"
            " --limit 0 shows them all, --csv and --json export them all)"
        )


def _group_label(key: str | None, names: dict[str, str]) -> str:
    """A session's name (its thread id only when it has none); any other group's key."""
    if key is None:
        return "(none)"
    return names.get(key, key)


def _stats_cells(g: UsageStats, names: dict[str, str]) -> list[str]:
    return [
        escape(_group_label(g.key, names)), f"{g.calls:,}", f"{g.errors:,}",
        _money(g.cost_usd if g.priced_calls else None), f"{g.unpriced_calls:,}", f"{g.prompt_tokens:,}",
        f"{g.completion_tokens:,}", f"{g.cached_tokens:,}", _ms(g.latency_p50_ms),
        _ms(g.latency_p95_ms),
    ]  # fmt: skip


def _render_reprice(result: RepriceResult) -> None:
    from agentcal.cli import render

    out = console()
    verb = "would change" if result.dry_run else "changed"
    out.print(
        f"{'Dry run: ' if result.dry_run else ''}{result.rows_examined:,} calls examined, "
        f"{result.rows_changed:,} {verb}; total {_money(result.old_total_usd)} -> "
        f"{_money(result.new_total_usd)}"
        + (
            f"; {result.rows_skipped_caller:,} caller-priced calls kept"
            f" (--include-caller-costs to re-price them)"
            if result.rows_skipped_caller
            else ""
        )
    )
    if not result.models:
        return
    listing = render.Listing()
    listing.column("model", "title")
    for name in ("calls", verb, "old total", "new total", "unpriced before", "unpriced after"):
        listing.column(name, "number")
    for m in result.models:
        listing.row(
            escape(m.model or "(none)"), f"{m.rows:,}", f"{m.rows_changed:,}",
            _money(m.old_total_usd), _money(m.new_total_usd), f"{m.old_unpriced:,}",
            f"{m.new_unpriced:,}",
        )  # fmt: skip
    listing.print(out)
