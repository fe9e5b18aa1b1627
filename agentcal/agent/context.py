"""What a turn's tools know about who is asking: passed as the graph's runtime context.

The model never fills these in, so it cannot ask for another user's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AgentContext:
    user_id: str
    timezone: str
    session_id: str | None = None
    agent_run_id: str | None = None
    # The agent_observability row reserved for this turn (the insight job's source_request_id).
    source_request_id: int | None = None
    # This turn's system prompt (date, time, zone, the user's insights).
    system_prompt: str = ""
    # The store's SQLAlchemy engine; None means the configured one (`agentcal.db.get_engine()`).
    # Typed Any: tool schemas are built from these annotations.
    engine: Any = None
    # The turn's CancelToken (agentcal.agent.cancel): checked before every model and tool call.
    cancel: Any = None
    # The turn's DestructiveGate (agentcal.agent.confirm): asked before deleting or moving.
    gate: Any = None
