"""The MCP server's resources: the week's agenda (Markdown) and what agentcal has learned about
the user (JSON)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentcal.agent import operations as ops

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from agentcal.agent.context import AgentContext


def add_resources(s: MCPServer, ctx: Callable[[], AgentContext]) -> None:
    """The agenda for the week and what agentcal learned, for the user `ctx()` names."""

    @s.resource(
        "agentcal://agenda/week", name="agenda", mime_type="text/markdown",
        description="The user's events from today to 6 days ahead.",
    )  # fmt: skip
    def agenda() -> str:
        return agenda_text(ops.list_events(ctx()))

    @s.resource(
        "agentcal://insights", name="insights", mime_type="application/json",
        description="What agentcal has learned about the user (habits, preferences...).",
    )  # fmt: skip
    def insights() -> str:
        from agentcal.insights.user_insights import UserInsightsService

        c = ctx()
        rows = UserInsightsService(c.engine).get_user_insights(c.user_id)
        return json.dumps(
            [
                {
                    "insight_type": i.insight_type,
                    "category": i.category,
                    "key": i.key,
                    "value": i.value,
                    "confidence": i.confidence,
                    "source": i.source,
                    "updated_at": i.updated_at.isoformat(),
                }
                for i in rows
            ],
            ensure_ascii=False,
        )


def agenda_text(data: dict[str, Any]) -> str:
    from datetime import datetime

    lines = [f"# Agenda {data['from'][:10]} to {data['to'][:10]}", ""]
    day = None
    for e in data["events"]:
        start = datetime.fromisoformat(e["start"])
        if start.date() != day:
            day = start.date()
            lines += ["", f"## {start:%A %d %B}"] if len(lines) > 2 else [f"## {start:%A %d %B}"]
        where = f" ({e['location']})" if e.get("location") else ""
        lines.append(f"- {start:%H:%M}–{e['end'][11:16]} {e['title']}{where} (#{e['id']})")
    if not data["events"]:
        lines.append("No events.")
    return "\n".join(lines) + "\n"
