"""The `agentcal` command: one Typer app joining one sub-app per command group."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from agentcal.cli import (
    auth,
    calendar,
    chat,
    config_cmd,
    costs,
    db_cmd,
    emit_cmd,
    events_cmd,
    insights,
    jobs_cmd,
    logs,
    ops_cmd,
    prefs,
)
from agentcal.errors import AgentcalError


class AgentcalGroup(TyperGroup):
    """Turns domain errors anywhere below into one line on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        from agentcal.masking import install_log_masking, mask

        install_log_masking()
        try:
            return super().invoke(ctx)
        except AgentcalError as exc:
            typer.echo(f"Error: {mask(exc)}", err=True)
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    cls=AgentcalGroup,
    name="agentcal",
    help="A terminal calendar assistant that learns your habits and records every LLM call.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    # Plain Click help: Typer's Rich help imports rich.markdown and markdown-it (~60 ms).
    rich_markup_mode=None,
)
# In the order a user meets them: talk, what was learned, the calendar, what it cost, operations.
app.command(name="chat")(chat.chat_command)
app.add_typer(insights.app, name="insights")
app.add_typer(prefs.app, name="prefs")
app.add_typer(events_cmd.app, name="events")
app.command(name="emit")(emit_cmd.emit)
app.add_typer(calendar.app, name="calendar")
app.command(name="costs")(costs.costs)
app.add_typer(logs.app, name="logs")
app.command(name="daemon")(ops_cmd.daemon)
app.command(name="status")(ops_cmd.status)
app.add_typer(jobs_cmd.app, name="jobs")
app.add_typer(ops_cmd.alerts_app, name="alerts")
app.add_typer(auth.app, name="auth")
app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
for _group in app.registered_groups:
    if _group.typer_instance is not None:
        _group.typer_instance.rich_markup_mode = None


def _version(value: bool) -> None:
    if value:
        from agentcal import __version__

        typer.echo(f"agentcal {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """agentcal: chat with a calendar agent that learns your habits."""


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sys.exit(130)
