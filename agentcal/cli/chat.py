"""`agentcal chat`: talk to the calendar agent (REPL, or one turn with -m).

The prompt shows before LangChain/LangGraph are imported: a background thread loads them and
builds the agent while the user types the first message.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from agentcal.cli._common import UserOption, resolve_user

HELP = """Commands:
  /help       this help
  /costs      tokens and cost of this session, today's spend and budget
  /insights   what agentcal has learned about you
  /new        start a fresh conversation in this session
  /quit       leave (also Ctrl-D)
Ctrl-C cancels a running answer; the session goes on."""
PROMPT = "you> "


def chat_command(
    message: Annotated[
        str | None,
        typer.Option(
            "--message", "-m", help="Run one turn with this message, print the answer, exit."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With -m: print the turn's observability record as JSON.")
    ] = False,
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            "-s",
            help="Name of the chat session to resume or create (default: default).",
        ),
    ] = None,
    continue_: Annotated[
        bool,
        typer.Option(
            "--continue",
            "-c",
            help="Continue your most recent conversation (chat -m otherwise starts a fresh one).",
        ),
    ] = False,
    new: Annotated[
        bool, typer.Option("--new", help="Start the session over with an empty conversation.")
    ] = False,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Delete or move several events, or past ones, without asking (chat -m "
            "otherwise refuses such a turn).",
        ),
    ] = False,
    user: UserOption = None,
) -> None:
    """Chat with the calendar agent. Every turn is recorded (see `agentcal logs`).

    `chat -m` alone is a one-off conversation; add --continue/-c to go on with the last one,
    or --session NAME to use a named one."""
    from agentcal.errors import ValidationError

    if continue_ and (session is not None or new):
        raise ValidationError(
            "--continue goes on with your last conversation: drop --session/--new"
        )
    if message is not None:
        from agentcal.users.chat_sessions import ONE_OFF_SESSION

        if continue_:
            name, fresh = None, False
        elif session is not None:
            name, fresh = session, new
        else:
            name, fresh = ONE_OFF_SESSION, True
        _one_turn(message, as_json=as_json, session=name, new=fresh, user=user, yes=yes)
        return
    if as_json:
        raise ValidationError("--json needs --message/-m (one scripted turn)")
    _repl(session=None if continue_ else session or "default", new=new, user=user, yes=yes)


def _build_runner(session: str | None, new: bool, user: str | None) -> Any:
    from agentcal.agent.model import make_chat_model
    from agentcal.agent.runner import ChatRunner
    from agentcal.users.profiles import user_profiles_service

    who = resolve_user(user)
    settings = user_profiles_service.quick_settings_for(who)  # the user's own zone and budget
    return ChatRunner(
        make_chat_model(settings), user_id=who, settings=settings,
        session_name=session, new_session=new,
    )  # fmt: skip


def _one_turn(
    message: str, *, as_json: bool, session: str | None, new: bool, user: str | None, yes: bool
) -> None:
    from agentcal.agent.interrupt import run_interruptibly

    runner = _build_runner(session, new, user)
    turn = run_interruptibly(runner, message, confirm=(lambda _question: True) if yes else None)
    if as_json:
        from agentcal.cli._common import print_json

        print_json(turn.record)
    elif turn.ok or turn.notes:
        typer.echo("\n".join(filter(None, [turn.answer, *turn.notes])))
    if turn.cancelled:
        if not as_json:
            typer.echo(_cancelled_line(turn), err=True)
        raise typer.Exit(130)
    if not turn.ok:
        if not as_json:
            typer.echo(f"Error: {turn.error}", err=True)
        raise typer.Exit(1)


def _cancelled_line(turn: Any) -> str:
    """'Cancelled.' plus what the turn had already done."""
    from agentcal.agent.effects import already_done

    return " ".join(filter(None, ["Cancelled.", already_done(turn.done)]))


# --- the REPL ---------------------------------------------------------------------------
class _Loader(threading.Thread):
    """Imports the heavy libraries and builds the runner while the prompt is already shown."""

    def __init__(self, session: str | None, new: bool, user: str | None) -> None:
        super().__init__(daemon=True, name="agentcal-chat-loader")
        self.args = (session, new, user)
        self.runner: Any = None
        self.error: BaseException | None = None
        self.ready = threading.Event()

    def run(self) -> None:
        try:
            self.runner = _build_runner(*self.args)
        except BaseException as exc:  # reported on the main thread
            self.error = exc
        finally:
            self.ready.set()

    def get(self) -> Any:
        while not self.ready.wait(0.05):  # short waits keep Ctrl-C responsive
            pass
        if self.error is not None:
            raise self.error
        return self.runner


def _history_file() -> Path:
    # Cheap on purpose (no settings import before the first prompt), but the same data dir
    # as the settings: AGENTCAL_HOME from the environment, else from ./.env.
    home = os.environ.get("AGENTCAL_HOME") or _home_from_env_file(Path(".env"))
    if home:
        return Path(home).expanduser() / "chat_history"
    import platformdirs

    return Path(platformdirs.user_data_dir("agentcal", appauthor=False)) / "chat_history"


def _home_from_env_file(path: Path) -> str | None:
    """AGENTCAL_HOME as a `.env` file sets it (quotes and `export` allowed), without dotenv."""
    import re

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = None
    for line in text.splitlines():
        match = re.match(r"\s*(?:export\s+)?AGENTCAL_HOME\s*=\s*(.*?)\s*$", line)
        if match:
            value = match.group(1)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            elif " #" in value:
                value = value.split(" #", 1)[0].rstrip()
            found = value or None
    return found


def _setup_readline() -> Any:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return None
    path = _history_file()
    from agentcal.files import link_or_special

    if link_or_special(path) is not None:  # never read or write through a planted link
        sys.stderr.write(f"warning: not using the chat history {path}: it is not a plain file\n")
        return None
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)
    return readline, path


def _save_history(state: Any) -> None:
    if not state:
        return
    readline, path = state
    from agentcal.errors import AgentcalError
    from agentcal.files import replace_file

    def fill(_fd: int, tmp: Path) -> None:  # readline writes by name: our temporary file
        readline.write_history_file(str(tmp))

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        replace_file(path, fill, what="a chat history", fix="history not saved")
    except (OSError, AgentcalError):
        pass


def _repl(*, session: str | None, new: bool, user: str | None, yes: bool = False) -> None:
    history = _setup_readline()
    where = f"session {session!r}" if session is not None else "your last session"
    sys.stdout.write(f"agentcal chat · {where} · /help for commands, /quit to leave\n")
    sys.stdout.flush()
    # Started after the banner so the imports don't compete with it for the GIL.
    loader = _Loader(session, new, user)
    loader.start()
    out: Any = None
    try:
        while True:
            try:
                line = input(PROMPT).strip()
            except KeyboardInterrupt:
                sys.stdout.write("\n(Ctrl-C: nothing to cancel; /quit or Ctrl-D leaves)\n")
                continue
            except EOFError:
                sys.stdout.write("\n")
                break
            if not line:
                continue
            if line in ("/quit", "/exit", "/q"):
                break
            if line == "/help":
                sys.stdout.write(HELP + "\n")
                continue
            try:
                runner = loader.get()
            except KeyboardInterrupt:
                sys.stdout.write("\n(cancelled)\n")
                continue
            if out is None:
                out = _console()
                _banner(out, runner)
            if line.startswith("/"):
                _slash(out, runner, line)
                continue
            _turn(out, runner, line, yes=yes)
    finally:
        _save_history(history)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False)


def _banner(out: Any, runner: Any) -> None:
    if runner.offline:
        out.print(
            f"[dim]model: {runner.model_name} (built-in offline model: no API key or base URL set; "
            "see docs/chat.md to use a real model)[/dim]"
        )
    else:
        out.print(f"[dim]model: {runner.model_name}[/dim]")


def _slash(out: Any, runner: Any, line: str) -> None:
    command = line.split()[0]
    if command == "/new":
        runner.new_session()
        out.print("[dim]Started a new conversation.[/dim]")
    elif command == "/costs":
        out.print(_costs_text(runner))
    elif command == "/insights":
        _print_insights(out, runner)
    else:
        out.print(f"Unknown command {command}. " + "Try /help.")


def _costs_text(runner: Any) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    midnight = datetime.now(ZoneInfo(runner.settings.timezone)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    today = runner.observability.spent_since(midnight, user_id=runner.user_id)
    budget = runner.settings.daily_budget_usd
    limit = f" of ${budget:.4f} budget" if budget is not None else " (no daily budget set)"
    return (
        f"session: {runner.turns} turns · {runner.session_tokens} tokens · ${runner.session_cost:.4f}\n"
        f"today:   ${today:.4f}{limit}"
    )


def _print_insights(out: Any, runner: Any) -> None:
    import json

    from rich.markup import escape

    rows = runner.insights()
    if not rows:
        out.print("No insights yet: tell me about your habits (e.g. “I go to the gym at 6am”).")
        return
    for r in rows:
        value = escape(json.dumps(r.value, ensure_ascii=False))
        out.print(
            f"  {r.category}/{escape(r.key)} = {value}  [dim]({r.insight_type}, {r.confidence:.2f})[/dim]"
        )


def _turn(out: Any, runner: Any, line: str, *, yes: bool = False) -> None:
    from agentcal.agent.interrupt import run_interruptibly
    from agentcal.errors import AgentcalError

    streamed: list[str] = []
    cancelled = threading.Event()

    def on_token(piece: str) -> None:
        if not cancelled.is_set():
            streamed.append(piece)
            sys.stdout.write(piece)
            sys.stdout.flush()

    def on_cancel() -> None:
        cancelled.set()
        if streamed:
            sys.stdout.write("\n")

    def on_wait() -> None:
        sys.stdout.write("(waiting for the cancelled turn to end…)\n")
        sys.stdout.flush()

    def ask(question: str) -> bool:
        if streamed:
            sys.stdout.write("\n")
            streamed.clear()
        try:
            answer = input(f"{question} [y/N] ")
        except EOFError:
            return False
        _forget_last_history_line()  # a y/n is no command worth recalling
        return answer.strip().lower() in ("y", "yes")

    try:
        turn = run_interruptibly(
            runner, line, on_token=on_token, on_cancel=on_cancel, on_wait=on_wait,
            ask=None if yes else ask, confirm=(lambda _question: True) if yes else None,
        )  # fmt: skip
    except AgentcalError as exc:  # the budget refusal
        out.print(f"[red]Error:[/red] {exc}")
        return
    except KeyboardInterrupt:  # a second Ctrl-C: the turn ends on its own, recorded
        out.print("[yellow]Cancelled.[/yellow] [dim](not waiting for the turn to end)[/dim]")
        return
    from rich.markup import escape

    if turn.cancelled:
        out.print(f"[yellow]{escape(_cancelled_line(turn))}[/yellow]")
    else:
        if streamed:
            sys.stdout.write("\n")
        elif turn.answer:
            out.print(turn.answer, markup=False)
        if not turn.ok:
            out.print(f"[red]Error:[/red] {escape(turn.error or '')}")
    for note in turn.notes:
        out.print(f"[cyan]{escape(note)}[/cyan]")
    out.print(f"[dim]{_footer(runner, turn.record)}[/dim]")


def _forget_last_history_line() -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows without pyreadline
        return
    length = readline.get_current_history_length()
    if length:
        readline.remove_history_item(length - 1)


def _footer(runner: Any, row: Any) -> str:
    tokens = row.llm_total_tokens or 0
    est = " (est.)" if row.tokens_estimated else ""
    cost = "n/a" if row.llm_cost_usd is None else f"${row.llm_cost_usd:.4f}"
    seconds = (row.execution_time_ms or 0) / 1000
    return (
        f"{row.llm_model or runner.model_name} · {tokens} tokens{est} · {cost} · {seconds:.2f}s"
        f" · session ${runner.session_cost:.4f}"
    )
