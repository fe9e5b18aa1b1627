"""Stopping a turn from outside: Ctrl-C in the chat, or the turn's deadline.

A `CancelToken` is handed to the turn; the graph's guard (agentcal.agent.graph) checks it
before every model call and every tool call and gives up waiting on a model call in flight,
so a cancelled turn makes no further call. Light on purpose: the CLI imports it before
LangChain is loaded.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any


class TurnStopped(Exception):
    """The turn was stopped before its next model or tool call (cancelled or out of time).

    Not an AgentcalError: the tool-error middleware must not hand it back to the model."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CancelToken:
    """Set once, from any thread; waiters registered with `wake_on_cancel` are woken."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._wakers: list[threading.Event] = []
        self.reason: str | None = None

    def cancel(self, reason: str = "cancelled") -> None:
        with self._lock:
            if self._event.is_set():
                return
            self.reason = reason
            self._event.set()
            wakers = list(self._wakers)
        for event in wakers:
            event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise TurnStopped if the turn was cancelled."""
        if self._event.is_set():
            raise TurnStopped(self.reason or "cancelled")

    def wake_on_cancel(self, event: threading.Event) -> None:
        """Set `event` when the token is cancelled (at once if it already is)."""
        with self._lock:
            self._wakers.append(event)
            cancelled = self._event.is_set()
        if cancelled:
            event.set()

    def forget(self, event: threading.Event) -> None:
        with self._lock:
            if event in self._wakers:
                self._wakers.remove(event)


def call_abandonably(fn: Callable[[], Any], token: Any) -> Any:
    """`fn()` in a helper thread, returned as soon as it finishes; if `token` is cancelled
    first, raise TurnStopped at once and leave the call to finish on its own (its result is
    dropped). The helper runs in a copy of this context, so LangChain's callbacks and
    LangGraph's config follow the call."""
    if token is None:
        return fn()
    token.check()
    context = contextvars.copy_context()
    done = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = context.run(fn)
        except BaseException as exc:  # handed to the waiting thread
            box["error"] = exc
        finally:
            done.set()

    token.wake_on_cancel(done)
    try:
        threading.Thread(target=run, daemon=True, name="agentcal-model-call").start()
        done.wait()
    finally:
        token.forget(done)
    if "error" in box:
        raise box["error"]
    if "value" not in box:  # woken by the cancel, not by the call
        token.check()
    return box["value"]
