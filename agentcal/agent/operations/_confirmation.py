"""The rule for destructive changes (deleting or moving): several events at once, or one that
has already started, only once the user has confirmed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentcal.errors import ValidationError


class ConfirmationNeeded(ValidationError):
    """A destructive change the user has not confirmed yet."""


def confirmation_reason(events: list[Any], *, now: datetime, already: int = 0) -> str | None:
    """The rule for destructive changes (deleting or moving): why these events need the user's
    yes, or None. Several events (counting `already` changed ones), or one that has started.
    The MCP server's tools and the chat's confirmation gate (agentcal.agent.confirm) share it."""
    several = already + len(events) > 1
    started = any(e.start_at is not None and e.start_at <= now for e in events)
    if several and started:
        return "several events, some in the past"
    if several:
        return "several events"
    return "in the past" if started else None


def require_confirmation(events: list[Any], *, confirmed: bool, verb: str, now: datetime) -> None:
    """The rule for destructive changes: several events at once, or an event that has already
    started, only once the user has confirmed (the caller asks, then says `confirmed`)."""
    if confirmed or confirmation_reason(events, now=now) is None:
        return
    if len(events) > 1:
        raise ConfirmationNeeded(
            f"{verb} {len(events)} events at once needs the user's confirmation: ask them, then "
            "call again with confirmed=true; nothing was changed"
        )
    started = [e for e in events if e.start_at is not None and e.start_at <= now]
    if started:
        raise ConfirmationNeeded(
            f"event {started[0].id} has already started: {verb} it needs the user's "
            "confirmation (confirmed=true); nothing was changed"
        )
