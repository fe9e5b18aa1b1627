"""The `agentcal` command: one Typer app joining one sub-app per command group."""

from __future__ import annotations

import copy
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

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
    mcp_cmd,
    ops_cmd,
    prefs,
    sessions_cmd,
    users_cmd,
    week_cmd,
)
from agentcal.errors import AgentcalError


class AgentcalGroup(TyperGroup):
    """Every failure anywhere below becomes one masked line on stderr, never a traceback:
    domain errors (exit 1) and usage errors (exit 2) as they are, database and file faults
    named with their fix (`storecheck.describe_failure`), anything else as an internal error
    (AGENTCAL_DEBUG=1 lets it through with its traceback)."""

    def make_context(self, info_name: Any, args: list[str], *rest: Any, **kwargs: Any) -> Any:
        from agentcal.cli import _fastparams
        from agentcal.cli._guard import check_arguments, guard_numbers

        _fastparams.install()  # plain values skip Typer's Pydantic import (~1.7x the floor)
        with one_line_errors():
            check_arguments(args)  # what no command accepts (the door: cli/_guard.py)
            guard_numbers(self)
            return super().make_context(info_name, args, *rest, **kwargs)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not ctx.resilient_parsing and print_help_directly(self, ctx, args):
            ctx.exit()
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        from agentcal.masking import install_log_masking

        install_log_masking()
        _local_calendars(write=False)  # only what this command changes
        with one_line_errors():
            try:
                result = super().invoke(ctx)
            except (typer.Exit, typer.Abort, KeyboardInterrupt):
                _local_calendars(write=True)  # what it did before it stopped
                raise
            except BaseException:
                _local_calendars(write=False)  # a broken store, a bug: the jobs write it later
                raise
            _local_calendars(write=True)
            return result


def _local_calendars(*, write: bool) -> None:
    """The local calendar files are current when a command returns (chat, prefs, emit,
    events...); a file that cannot be written is one warning line."""
    module = sys.modules.get("agentcal.planning.push")
    if module is None:
        return  # nothing this command did can have changed an event
    if not write:
        module.forget_changes()
        return
    for problem in module.write_local_calendars():
        typer.echo(f"Warning: {problem}", err=True)


@contextmanager
def one_line_errors() -> Iterator[None]:
    # Typer bundles its own Click; these are the exceptions its parser raises.
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

    try:
        yield
    except (typer.Exit, typer.Abort, NoArgsIsHelpError):
        raise
    except UsageError as exc:
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        _fail(exc.format_message() + where, exc.exit_code)
    except ClickException:
        raise
    except AgentcalError as exc:
        _fail(str(exc), exc.exit_code)
    except Exception as exc:
        from agentcal.storecheck import describe_failure

        message = describe_failure(exc)
        if message is None:
            if os.environ.get("AGENTCAL_DEBUG"):
                raise
            message = (
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in agentcal, "
                "please report it (AGENTCAL_DEBUG=1 shows the traceback)"
            )
        _fail(message, 1)


def _fail(message: str, code: int) -> NoReturn:
    from agentcal.masking import mask

    line = " ".join(mask(message).split()) or "failed"
    typer.echo(f"Error: {line}", err=True)
    raise typer.Exit(code)


def print_help_directly(root: Any, ctx: Any, args: list[str]) -> bool:
    """`agentcal GROUP [COMMAND] --help`: print that help straight from the command tree.

    Typer 0.29 coerces every parameter it processes through a pydantic TypeAdapter, including
    each group's unset --help and completion options on the way down, so the usual path
    imports pydantic just to print a help text (~2.5x `agentcal --help`). Only a line of
    command names followed by -h/--help takes this path; anything else is parsed as usual.
    """
    if len(args) < 2 or args[-1] not in ctx.help_option_names:
        return False
    command, parent = root, ctx
    for name in args[:-1]:
        sub = command.get_command(parent, name) if hasattr(command, "get_command") else None
        if sub is None:
            return False
        command, parent = sub, typer.Context(sub, info_name=name, parent=parent)
    typer.echo(parent.get_help(), color=ctx.color)
    return True


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
app.add_typer(sessions_cmd.app, name="sessions")
app.add_typer(insights.app, name="insights")
app.add_typer(prefs.app, name="prefs")
app.add_typer(events_cmd.app, name="events")
app.command(name="week")(week_cmd.week)
app.command(name="emit")(emit_cmd.emit)
app.add_typer(calendar.app, name="calendar")
app.command(name="costs")(costs.costs)
app.add_typer(logs.app, name="logs")
app.command(name="mcp")(mcp_cmd.mcp_command)
app.command(name="daemon")(ops_cmd.daemon)
app.command(name="status")(ops_cmd.status)
app.add_typer(jobs_cmd.app, name="jobs")
app.add_typer(ops_cmd.alerts_app, name="alerts")
app.add_typer(users_cmd.app, name="users")
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
    verbose: int = typer.Option(
        0,
        "--verbose",
        "-v",
        count=True,
        help="Show log lines of the libraries too (-v: info and tracebacks, -vv: debug).",
    ),
) -> None:
    """agentcal: chat with a calendar agent that learns your habits."""
    from agentcal.log_setup import configure_logging

    configure_logging(verbose)


def app_for(args: list[str]) -> typer.Typer:
    """The app as a run with these arguments needs it: only the command it names first.

    Typer builds a Click command for every one of the ~45 commands on each run (~25 ms of CPU,
    as much as a read command's query). A run that starts with a command's name (`agentcal
    events list ...`) needs only that command or group, whole: the same parsing, help and
    errors (tests/cli/test_app_for.py compares them). Anything else gets the whole app: no
    arguments, a root option first (`--help`, `-v`, `--version`), an unknown name (its error
    suggests the others), shell completion.
    """
    if not args or args[0].startswith("-") or any(_is_completion(n) for n in os.environ):
        return app
    commands = [c for c in app.registered_commands if c.name == args[0]]
    groups = [g for g in app.registered_groups if g.name == args[0]]
    if not commands and not groups:
        return app
    one = copy.copy(app)
    one.registered_commands, one.registered_groups = commands, groups
    return one


def _is_completion(variable: str) -> bool:
    """A shell completion variable (Click's `_AGENTCAL_COMPLETE`, Typer's `_TYPER_COMPLETE_ARGS`)."""
    return variable.startswith("_") and "_COMPLETE" in variable


def main() -> None:
    """Console-script entry point."""
    try:
        app_for(sys.argv[1:])()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        sys.exit(130)
