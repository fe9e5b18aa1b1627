"""`agentcal mcp`: serve the calendar to other agents over the Model Context Protocol."""

from __future__ import annotations

from typing import Annotated

import typer

from agentcal.cli._common import UserOption, resolve_user


def mcp_command(
    user: UserOption = None,
    http: Annotated[
        int | None,
        typer.Option(
            "--http",
            min=1,
            max=65535,
            metavar="PORT",
            help="Serve streamable HTTP on 127.0.0.1:PORT (path /mcp) instead of stdio.",
        ),
    ] = None,
) -> None:
    """Serve your calendar to other agents (Claude Desktop, IDE assistants) over MCP.

    Speaks stdio by default: add `agentcal mcp` to the client's MCP configuration. The user is
    fixed when the server starts; every tool call is recorded (see `agentcal logs`).
    """
    from agentcal.mcp.transport import serve

    serve(resolve_user(user), http_port=http)
