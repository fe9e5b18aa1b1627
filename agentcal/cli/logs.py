"""`agentcal logs`: the recorded agent calls, in the manner of `llm logs`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from agentcal.cli._common import (
    JsonOption,
    UserOption,
    console,
    escape,
    jsonable,
    local_time,
    print_json,
    resolve_user,
    window,
    zone_of,
)
from agentcal.cli.costs import AllUsersOption, SinceOption, UntilOption
from agentcal.vocab import CALL_STATUSES

if TYPE_CHECKING:
    from agentcal.observability.call_log import CallRecord, StepNode
    from agentcal.records import CallRow, StepRow

app = typer.Typer(help="List and show recorded agent calls.", no_args_is_help=True)

# The keys of `logs list --json` objects, in order (documented in docs/costs-and-logs.md).
LIST_KEYS = (
    "id", "created_at", "user_id", "session_id", "agent_run_id", "agent_action", "agent_tool",
    "llm_provider", "llm_model", "llm_prompt_tokens", "llm_completion_tokens", "llm_cached_tokens",
    "llm_total_tokens", "tokens_estimated", "llm_cost_usd", "cost_source", "cost_note",
    "execution_time_ms", "intent_category", "status", "error", "user_message", "agent_response",
)  # fmt: skip


def _who(user: str | None, all_users: bool) -> str | None:
    if all_users and user is not None:
        raise typer.BadParameter("use either --user or --all-users", param_hint="--all-users")
    return None if all_users else resolve_user(user)


def _short(text: str | None, width: int = 60) -> str:
    one_line = " ".join((text or "").split())
    return one_line if len(one_line) <= width else one_line[: width - 1] + "…"


def _message(call: CallRow) -> str | None:
    """What the call was asked: the user's message, or for an MCP client's tool call (no
    message, no model) the tool and its arguments, e.g. `MCP create_event title=Dentist`."""
    if call.user_message or not isinstance(call.agent_state, dict) or "mcp" not in call.agent_state:
        return call.user_message
    args = (
        call.entities[0].get("args") if isinstance(call.entities, list) and call.entities else None
    )
    shown = " ".join(f"{k}={v}" for k, v in args.items()) if isinstance(args, dict) else ""
    return f"MCP {call.agent_tool or '?'} {shown}".rstrip()


def _cost(call: CallRow) -> str:
    if call.llm_cost_usd is None:
        return "unpriced" if call.llm_model else "-"
    return f"${call.llm_cost_usd:.6f}"


@app.command(name="list")
def logs_list(
    user: UserOption = None,
    all_users: AllUsersOption = False,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only this model.")] = None,
    action: Annotated[
        str | None, typer.Option("--action", "-a", help="Only this agent action (create, read...).")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help=f"Only this status: {', '.join(CALL_STATUSES)}.")
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    query: Annotated[
        str | None,
        typer.Option("--query", "-q", help="Text to find in the message or the response."),
    ] = None,
    session: Annotated[
        str | None,
        typer.Option("--session", "-s", help="Only this chat session's calls (its name)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many calls, newest first.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List recorded agent calls, newest first."""
    from agentcal.observability.call_log import call_log_service

    who = _who(user, all_users)
    lo, hi = window(since, until, zone_of(who))  # bob's "today" is his day
    calls = call_log_service.list_calls(
        user_id=who, model=model, action=action, status=status, since=lo, until=hi,
        query=query, session=session, limit=limit,
    )  # fmt: skip
    if as_json:
        print_json([{k: jsonable(getattr(c, k)) for k in LIST_KEYS} for c in calls])
        return
    if not calls:
        console().print("No agent calls match.")
        return
    _render_list(calls, all_users=who is None)


def _render_list(calls: list[CallRow], *, all_users: bool) -> None:
    """Id, time, status and cost never cut; the message takes what is left and is cut; model,
    action, time and tokens go first when the terminal is narrow (in that order, reversed)."""
    from agentcal.cli import render

    listing = render.Listing()
    listing.column("id", "id")
    listing.column("when", "date")
    if all_users:
        listing.column("user", "tag", optional=5)
    listing.column("action", "tag", optional=3)
    listing.column("model", "tag", optional=4)
    listing.column("status", "tag")
    listing.column("tokens", "number", optional=1)
    listing.column("cost", "number")
    listing.column("time", "number", optional=2)
    listing.column("message", "text", want=24)
    for c in calls:
        priced = render.money(c.llm_cost_usd, "unpriced" if c.llm_model else "-")
        cells = [str(c.id), render.when(c.created_at), *([escape(c.user_id)] if all_users else []),
                 c.agent_action or "-", escape(render.model(c.llm_model)),
                 c.status if c.status == "ok" else f"[red]{c.status}[/red]",
                 f"{c.llm_total_tokens:,}" if c.llm_total_tokens is not None else "-", priced,
                 render.duration(c.execution_time_ms), escape(_short(_message(c), 200))]  # fmt: skip
        listing.row(*cells)
    listing.print(console())


@app.command(name="show")
def logs_show(
    call_id: Annotated[int, typer.Argument(help="The call's id (from `agentcal logs list`).")],
    user: UserOption = None,
    all_users: AllUsersOption = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the call and its steps as one JSON object.")
    ] = False,
    prompt: Annotated[
        bool, typer.Option("--prompt", help="Print only the system prompt the model was given.")
    ] = False,
) -> None:
    """Show one whole turn: message, response, tool results, state, timings, cost and steps."""
    from agentcal.observability.call_log import call_log_service

    record = call_log_service.get_record(call_id, _who(user, all_users))
    if prompt:
        text = (record.call.agent_state or {}).get("system_prompt")
        if not isinstance(text, str):
            from agentcal.errors import NotFoundError

            raise NotFoundError(f"call {call_id} has no recorded system prompt (not a chat turn)")
        typer.echo(text)
        return
    if as_json:
        print_json({**jsonable(record.call), "steps": jsonable(record.steps)})
        return
    _render_record(record)


@app.command(name="export")
def logs_export(
    otlp: Annotated[
        bool,
        typer.Option(
            "--otlp",
            help="Send them as OpenTelemetry traces to OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP).",
        ),
    ] = False,
    user: UserOption = None,
    all_users: AllUsersOption = False,
    since: SinceOption = None,
    until: UntilOption = None,
) -> None:
    """Send recorded calls to an observability tool (Phoenix, Langfuse, Jaeger...), oldest first."""
    if not otlp:
        raise typer.BadParameter("choose where to send them: --otlp", param_hint="--otlp")
    from agentcal.observability.call_log import call_log_service
    from agentcal.otel.history import export_history

    who = _who(user, all_users)
    lo, hi = window(since, until, zone_of(who))
    report = export_history(call_log_service.iter_records(user_id=who, since=lo, until=hi))
    typer.echo(f"Sent {report.calls} call(s) as {report.spans} span(s) to {report.url}.")


def _json_block(value: Any) -> Any:
    """Indented JSON, coloured by Rich's JSON highlighter (a few regexes): the same text as
    `Syntax(..., "json", word_wrap=True)` gave, without importing Pygments (~40 ms)."""
    import json

    from rich.highlighter import JSONHighlighter
    from rich.text import Text

    return JSONHighlighter()(Text(json.dumps(value, indent=2, ensure_ascii=False, default=str)))


def _render_record(record: CallRecord) -> None:
    from rich.panel import Panel
    from rich.tree import Tree

    c = record.call
    out = console()
    out.print(
        f"[bold]Call #{c.id}[/bold]  {local_time(c.created_at, fmt='%Y-%m-%d %H:%M:%S %Z')}  "
        f"user {escape(c.user_id)}  action {escape(c.agent_action or '-')}  status "
        + (c.status if c.status == "ok" else f"[red]{c.status}[/red]")
    )
    out.print(f"run {escape(c.agent_run_id or '-')}  session {escape(c.session_id or '-')}  "
              f"intent {escape(c.intent_category or '-')}  tool {escape(c.agent_tool or '-')}")  # fmt: skip
    tokens = (f"prompt {c.llm_prompt_tokens or 0:,}  completion {c.llm_completion_tokens or 0:,}  "
              f"cached {c.llm_cached_tokens or 0:,}  total {c.llm_total_tokens or 0:,}"
              + ("  (estimated)" if c.tokens_estimated else ""))  # fmt: skip
    out.print(f"model {escape(c.llm_model or '-')}  {tokens}")
    cost = (
        _cost(c)
        + f"  source {c.cost_source or '-'}"
        + (f"  ({escape(c.cost_note)})" if c.cost_note else "")
    )
    time_text = f"{c.execution_time_ms:,.0f} ms" if c.execution_time_ms is not None else "-"
    out.print(f"cost {cost}  time {time_text}")
    if c.error:
        out.print(f"[red]error:[/red] {escape(c.error)}")
    out.print(Panel(escape(c.user_message or ""), title="message", title_align="left"))
    out.print(Panel(escape(c.agent_response or ""), title="response", title_align="left"))
    for name in ("tool_result", "entities", "agent_state"):
        value = getattr(c, name)
        if value is not None:
            out.print(Panel(_json_block(value), title=name, title_align="left"))
    tree = Tree(f"[bold]turn #{c.id}[/bold] ({len(record.steps)} steps)")
    for node in record.tree:
        _add_node(tree, node)
    out.print(tree)


def _step_label(step: StepRow) -> str:
    parts = [f"[bold]{step.step_type}[/bold] {escape(step.name or step.llm_model or '')}"]
    if step.step_type == "llm" and step.llm_model and step.name != step.llm_model:
        parts.append(escape(step.llm_model))
    if step.duration_ms is not None:
        parts.append(f"{step.duration_ms:,.0f} ms")
    if step.prompt_tokens is not None or step.completion_tokens is not None:
        parts.append(f"tokens {step.prompt_tokens or 0:,} in / {step.completion_tokens or 0:,} out"
                     + (f" ({step.cached_tokens:,} cached)" if step.cached_tokens else ""))  # fmt: skip
    if step.status != "ok":
        parts.append(
            f"[red]{step.status}[/red]" + (f": {escape(_short(step.error))}" if step.error else "")
        )
    return "  ".join(parts)


def _add_node(parent: Any, node: StepNode) -> None:
    branch = parent.add(_step_label(node.step))
    step = node.step
    if step.input is not None:
        branch.add("[dim]input[/dim] " + escape(_short(_compact(step.input), 100)))
    if step.output is not None:
        branch.add("[dim]output[/dim] " + escape(_short(_compact(step.output), 100)))
    for child in node.children:
        _add_node(branch, child)


def _compact(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)
