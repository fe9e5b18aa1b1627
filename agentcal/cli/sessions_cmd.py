"""`agentcal sessions`: the named chat sessions (`agentcal chat --session NAME`)."""

from __future__ import annotations

import typer

from agentcal.cli._common import (
    JsonOption,
    UserOption,
    console,
    escape,
    print_json,
    resolve_user,
)

app = typer.Typer(help="List your named chat sessions.", no_args_is_help=True)


@app.command(name="list")
def sessions_list(user: UserOption = None, as_json: JsonOption = False) -> None:
    """List your chat sessions, last used first: conversations, turns, tokens and cost of
    each name, over all its conversations (`agentcal logs list --session NAME` shows its
    turns)."""
    from agentcal.users.chat_sessions import chat_sessions_service

    rows = chat_sessions_service.list_sessions(resolve_user(user))
    if as_json:
        print_json(rows)
        return
    if not rows:
        console().print('No chat sessions yet: `agentcal chat` starts one called "default".')
        return
    from agentcal.cli import render

    listing = render.Listing()
    listing.column("session", "title")
    listing.column("conversations", "number", optional=2)
    listing.column("turns", "number")
    listing.column("tokens", "number", optional=1)
    listing.column("cost", "number")
    listing.column("last used", "date")
    for s in rows:
        last = max(s.last_used_at, s.last_turn_at or s.last_used_at)
        listing.row(escape(s.name), str(s.conversations), str(s.turns), f"{s.tokens:,}", render.money(s.cost_usd),
                    render.when(last))  # fmt: skip
    listing.print(console())
