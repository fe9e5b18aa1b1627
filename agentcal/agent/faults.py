"""What a failed turn tells the user: one line they can act on, never the API key."""

from __future__ import annotations

import sys

from agentcal.errors import AgentcalError


def describe_fault(exc: BaseException, secret: str | None = None) -> str:
    """One line a user can act on, for a failed turn. Never contains the API key."""
    from langgraph.errors import GraphRecursionError

    from agentcal.agent.cancel import TurnStopped

    openai = sys.modules.get("openai")
    if isinstance(exc, KeyboardInterrupt):
        text = "cancelled"
    elif isinstance(exc, TurnStopped):
        text = exc.reason
    elif isinstance(exc, GraphRecursionError):
        text = "the agent took too many steps (AGENTCAL_RECURSION_LIMIT); stopped"
    elif openai is None:  # no OpenAI client was ever loaded (the offline model): not its error
        text = _generic_fault(exc)
    elif isinstance(exc, openai.APITimeoutError):
        text = "the model server did not answer in time (AGENTCAL_LLM_TIMEOUT)"
    elif isinstance(exc, openai.APIConnectionError):
        text = "cannot reach the model server (connection failed); check OPENAI_BASE_URL"
    elif isinstance(exc, openai.RateLimitError):
        text = "the model server is rate limiting requests (HTTP 429); try again shortly"
    elif isinstance(exc, openai.AuthenticationError):
        text = "the model server rejected the API key (HTTP 401); check OPENAI_API_KEY"
    elif isinstance(exc, openai.APIStatusError):
        kind = "server error" if exc.status_code >= 500 else "request refused"
        text = f"the model server failed ({kind}, HTTP {exc.status_code})"
    else:
        text = _generic_fault(exc)
    from agentcal.masking import mask

    text = mask(text, extra=(secret,))
    return text.splitlines()[0] if text else "the turn failed"


def _generic_fault(exc: BaseException) -> str:
    if isinstance(exc, AgentcalError):
        return str(exc)
    return f"the turn failed: {type(exc).__name__}: {exc}"
