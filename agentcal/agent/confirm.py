"""Destructive changes ask first: deleting or moving more than one event in a turn, or
deleting or moving anything in the past (operations.confirmation_reason, the rule the MCP
server applies too), or moving an event into the past.

The graph's guard asks the turn's `DestructiveGate` before it runs `delete_event`, or an
`update_event` that changes a time. Several such calls in one model reply are asked about
once, together. The REPL asks the user (`confirm` returns their answer); a "no" becomes the
tool's result ("not done: the user declined"), so the model can answer. Without anyone to ask
(`chat -m` without --yes) the turn is refused with one line before any of it runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.errors import AgentcalError

TIME_FIELDS = ("start", "end", "duration_minutes")


class ConfirmationRequired(AgentcalError):
    """A destructive change needs a yes that nobody can give (chat -m without --yes)."""


@dataclass(frozen=True)
class Change:
    verb: str  # delete | move
    event_id: int
    title: str
    start_at: datetime
    into_past: bool  # a move to a time already gone

    def describe(self, tz: str) -> str:
        when = self.start_at.astimezone(ZoneInfo(tz))
        return f"{self.verb} “{self.title}” {when:%a %d %b %H:%M} (#{self.event_id})"


class DestructiveGate:
    """One per turn: remembers what it asked and what this turn already changed."""

    def __init__(
        self,
        user_id: str,
        timezone: str,
        *,
        confirm: Callable[[str], bool] | None,
        engine: Any = None,
        now: datetime | None = None,
    ) -> None:
        self.user_id = user_id
        self.timezone = timezone
        self.confirm = confirm
        self.engine = engine
        self.now = now or datetime.now(UTC)
        self._lock = threading.Lock()
        self._answers: dict[str, bool] = {}  # model message id -> yes/no for its whole batch
        self._approved = 0  # destructive changes this turn already went ahead with

    def check(self, tool_call: dict[str, Any], message: Any) -> str | None:
        """None: go ahead. Text: the call was declined (its tool result). Raises
        ConfirmationRequired when the change needs a yes and nobody can be asked."""
        change = self._change(tool_call)
        if change is None:
            return None
        key = str(getattr(message, "id", None) or id(message))
        with self._lock:  # parallel tool calls of one reply: one question for all of them
            if key not in self._answers:
                self._answers[key] = self._decide(message)
            approved = self._answers[key]
        if approved:
            return None
        return f"Not done: the user declined to {change.describe(self.timezone)}."

    def _decide(self, message: Any) -> bool:
        from agentcal.agent.operations import confirmation_reason

        batch = [c for c in map(self._change, getattr(message, "tool_calls", None) or []) if c]
        why = confirmation_reason(batch, now=self.now, already=self._approved)
        if why is None and any(c.into_past for c in batch):
            why = "into the past"
        if why is None:
            self._approved += len(batch)
            return True
        what = "; ".join(c.describe(self.timezone) for c in batch)
        if self._approved:
            why += f"; {self._approved} already changed this turn"
        if self.confirm is None:
            raise ConfirmationRequired(
                f"this turn would {what} ({why}); nothing of that was done: run it again with "
                "--yes to allow it"
            )
        if self.confirm(f"{what[0].upper()}{what[1:]} ({why}). Go ahead?"):
            self._approved += len(batch)
            return True
        return False

    def _change(self, tool_call: dict[str, Any]) -> Change | None:
        """The destructive change a tool call makes, or None (not destructive, or no such
        event: the tool itself then says so)."""
        from agentcal.errors import NotFoundError, ValidationError
        from agentcal.planning.events import CalendarEventsService

        name, args = tool_call.get("name"), tool_call.get("args") or {}
        if name == "delete_event":
            verb = "delete"
        elif name == "update_event" and any(args.get(f) is not None for f in TIME_FIELDS):
            verb = "move"
        else:
            return None
        try:
            event = CalendarEventsService(self.engine).get_event(self.user_id, args["event_id"])
        except (KeyError, TypeError, NotFoundError, ValidationError):
            return None
        if event.start_at is None or event.status == "cancelled":
            return None
        into_past = verb == "move" and self._new_start_in_past(args)
        return Change(verb, event.id or 0, event.title, event.start_at, into_past)

    def _new_start_in_past(self, args: dict[str, Any]) -> bool:
        from agentcal.agent.operations import parse_time

        try:
            return (
                bool(args.get("start"))
                and parse_time(args["start"], self.timezone, "start") < self.now
            )
        except AgentcalError:
            return False
