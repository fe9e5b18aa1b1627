"""A turn in a worker thread, so that Ctrl-C in the main thread can cancel it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcal.agent.runner import ChatRunner, TurnResult

log = logging.getLogger(__name__)


def run_interruptibly(
    runner: ChatRunner,
    text: str,
    *,
    on_token: Callable[[str], None] | None = None,
    on_cancel: Callable[[], None] | None = None,
    on_wait: Callable[[], None] | None = None,
    ask: Callable[[str], bool] | None = None,
    confirm: Callable[[str], bool] | None = None,
) -> TurnResult:
    """Run a turn in a worker thread, so that Ctrl-C in this (the main) thread cancels it: the
    turn then stops before its next call and comes back, at once, with what it already did.

    A model call cannot be interrupted inside LangGraph's executor, so the turn's guard gives
    up on it instead (agentcal.agent.cancel.call_abandonably). A second Ctrl-C stops waiting
    and raises KeyboardInterrupt; the next turn then waits for this one to end (`on_wait` is
    called first, to say so). A confirmation the turn needs is put to `ask` on this thread
    (the REPL's input()), or decided by `confirm` (chat -m --yes); with neither it is refused.
    """
    import queue

    from agentcal.agent.cancel import CancelToken

    previous = runner.busy
    if previous is not None and not previous.is_set():
        if on_wait is not None:
            on_wait()
        while not previous.wait(0.05):  # short waits keep Ctrl-C responsive
            pass
    token = CancelToken()
    outcome: list[Any] = []
    done = threading.Event()
    questions: queue.SimpleQueue[tuple[str, threading.Event, dict[str, bool]]] = queue.SimpleQueue()

    def put_to_main_thread(question: str) -> bool:
        reply, box = threading.Event(), {"yes": False}
        questions.put((question, reply, box))
        token.wake_on_cancel(reply)
        reply.wait()
        token.forget(reply)
        return box["yes"]

    def answer_questions(asking: Callable[[str], bool] | None) -> None:
        while not questions.empty():
            question, reply, box = questions.get()
            try:
                box["yes"] = asking(question) if asking is not None else False
            finally:
                reply.set()

    def work() -> None:
        try:
            decide = put_to_main_thread if ask is not None else confirm
            outcome.append(runner.run_turn(text, on_token=on_token, cancel=token, confirm=decide))
        except BaseException as exc:  # handed to the main thread
            outcome.append(exc)
        finally:
            _write_local_calendars()
            done.set()

    runner.busy = done
    threading.Thread(target=work, daemon=True, name="agentcal-turn").start()
    try:
        # An Event, not Thread.join: a join interrupted by Ctrl-C can mark a live thread as
        # stopped (CPython gh-90882).
        while not done.wait(0.05):
            answer_questions(ask)
    except KeyboardInterrupt:
        token.cancel("cancelled")
        answer_questions(None)  # a question being asked is a no
        if on_cancel is not None:
            on_cancel()
        while not done.wait(0.05):  # a second Ctrl-C stops waiting
            answer_questions(None)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _write_local_calendars() -> None:
    """The ICS file shows what the turn changed before the answer is printed."""
    from agentcal.planning.push import write_local_calendars

    for problem in write_local_calendars():
        log.warning("%s", problem)
