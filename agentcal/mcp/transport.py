"""Serving: stdio (the default for MCP clients) or streamable HTTP on a loopback port."""

from __future__ import annotations

from agentcal.mcp.server import AgentcalMCP


def check_port(port: int) -> None:
    """Fail with one line now if the loopback port cannot be listened on."""
    import socket

    from agentcal.errors import ConfigError

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None


def serve(user_id: str, *, http_port: int | None = None) -> None:
    """Serve until the client disconnects (stdio) or the process is stopped (HTTP)."""
    import anyio

    from agentcal.db import get_engine
    from agentcal.users.profiles import user_timezone

    get_engine()  # migrate now, not inside the first call
    transport = "stdio" if http_port is None else "http"
    app = AgentcalMCP(user_id, timezone=user_timezone(user_id), transport=transport)
    if http_port is None:
        anyio.run(app.server.run_stdio_async)
    else:
        check_port(http_port)
        anyio.run(lambda: app.server.run_streamable_http_async(host="127.0.0.1", port=http_port))
