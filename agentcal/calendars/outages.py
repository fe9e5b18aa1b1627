"""Calendar servers this process found unusable, so that the next call fails at once.

A server that refuses connections or does not answer costs a timeout per request; one whose
quota is used up, or that refused the saved sign-in, refuses every event the same way. The
first such failure is recorded here, by server, for `hold` seconds; until then the backends
answer every call to that server with the same failure instead of trying again (no blind retry
loop: a command fails within one timeout, even when it has 90 events or several backend
objects to push). The job layer defers the syncs and retries them after `retry_after`.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

UNREACHABLE_RETRY_SECONDS = 60.0
AUTH_RETRY_SECONDS = 15 * 60.0
QUOTA_RETRY_SECONDS = 30 * 60.0


@dataclass(frozen=True)
class Outage:
    message: str  # one line for the user: what is wrong and what to do
    retry_after: float  # seconds before the syncs are worth trying again
    until: float  # time.monotonic() until which calls fail at once


_down: dict[str, Outage] = {}
_lock = threading.Lock()


def record(server: str, message: str, retry_after: float) -> Outage:
    """Remember that `server` is unusable for `retry_after` seconds."""
    outage = Outage(message, retry_after, time.monotonic() + retry_after)
    with _lock:
        _down[server] = outage
    return outage


def current(server: str) -> Outage | None:
    """The outage recorded for `server`, if it has not expired."""
    with _lock:
        outage = _down.get(server)
        if outage is not None and outage.until <= time.monotonic():
            del _down[server]
            return None
        return outage


def clear(server: str | None = None) -> None:
    """Forget one server's outage (it answered again), or all of them."""
    with _lock:
        if server is None:
            _down.clear()
        else:
            _down.pop(server, None)


def network_problem(exc: BaseException, timeout: float) -> str:
    """A few words for a failure to talk to a server at all (never a library's repr soup such
    as `HTTPConnectionPool(...) <urllib3.connection.HTTPConnection object at 0x7f...>`)."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:  # the exception, its causes and the exceptions carried in its args
        e = todo.pop()
        if e is None or e in seen:
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__, *(a for a in e.args if isinstance(a, BaseException))]
    text = " ".join(str(e) for e in seen).lower()
    if any(isinstance(e, ConnectionRefusedError) for e in seen) or "refused" in text:
        return "connection refused"
    if any(isinstance(e, TimeoutError | socket.timeout) for e in seen) or "timed out" in text:
        return f"no answer within {timeout:g} s"
    if any(isinstance(e, socket.gaierror) for e in seen) or "name or service" in text:
        return "unknown host name"
    for e in seen:
        if isinstance(e, OSError) and e.strerror:
            return str(e.strerror)
    return type(exc).__name__
