"""Talking to a CalDAV server: one HTTP request at a time, retried with backoff on 429/5xx,
and every failure as one line for the user (an outage stops this backend, and for a while
every one talking to the same server and account: calendars/outages.py).

The password comes from AGENTCAL_CALDAV_PASSWORD or from AGENTCAL_CALDAV_PASSWORD_FILE (which
must not be readable by group or others). It is never printed.
"""

from __future__ import annotations

import random
import stat
import time as time_module
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from agentcal.calendars import outages
from agentcal.errors import ConfigError

if TYPE_CHECKING:
    from agentcal.settings import Settings

RETRIES = 3  # 429/5xx: tries after the first, with randomised exponential backoff
RETRY_BASE_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 30.0


class Failure(Exception):
    """A CalDAV call that did not work, as one line for the user."""

    def __init__(
        self,
        message: str,
        *,
        outage: bool = False,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.outage = outage
        self.retryable = retryable or outage
        self.retry_after = retry_after


def read_password(settings: Settings) -> str | None:
    """The CalDAV password from the environment or a private file (None: no password)."""
    if settings.caldav_password is not None:
        return settings.caldav_password.get_secret_value()
    path = settings.caldav_password_file
    if path is None:
        return None
    path = path.expanduser()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise ConfigError(f"cannot read the CalDAV password file {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise ConfigError(
            f"the CalDAV password file {path} has mode {mode:04o}, readable by others: "
            f"run `chmod 600 {path}`"
        )
    try:
        return path.read_text(encoding="utf-8").strip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the CalDAV password file {path}: {exc}") from None


class Connection:
    """One account on one CalDAV server: the `caldav` client, made on first use, and the
    requests sent through it."""

    def __init__(self, settings: Settings, *, sleep: Callable[[float], None] = time_module.sleep):
        self.settings = settings
        self._sleep = sleep
        self.url = settings.caldav_url or ""
        # The key of this server's outages, per account (one refused password is not another's)
        self.server = f"caldav {self.url} {settings.caldav_username or ''}"
        self.timeout = settings.calendar_timeout
        self._client: Any = None
        self.http_requests = 0  # requests sent (the benchmark reads it)

    @property
    def client(self) -> Any:
        if self._client is None:
            import caldav

            if not self.url:
                raise Failure(
                    "set AGENTCAL_CALDAV_URL to your CalDAV server or calendar URL",
                    outage=True,
                    retry_after=outages.AUTH_RETRY_SECONDS,
                )
            try:
                password = read_password(self.settings)
            except ConfigError as exc:
                raise Failure(
                    str(exc), outage=True, retry_after=outages.AUTH_RETRY_SECONDS
                ) from None
            self._client = caldav.DAVClient(  # type: ignore[operator]
                url=self.url,
                username=self.settings.caldav_username,
                password=password,
                timeout=self.timeout,
                enable_rfc6764=False,
            )
        return self._client

    def stop(self, failure: Failure) -> Failure:
        """An outage: this backend, and for a while every one talking to this server, stops."""
        if failure.outage:
            outages.record(self.server, str(failure), failure.retry_after or 60.0)
        return failure

    def check_server(self) -> None:
        """Fail at once while an outage of this server is recorded (by this backend or another
        in this process); once it expired or was cleared, try again."""
        known = outages.current(self.server)
        if known is not None:
            raise Failure(known.message, outage=True, retry_after=known.retry_after)

    def request(
        self, url: str, method: str, body: str = "", headers: dict[str, str] | None = None
    ) -> Any:
        """One HTTP request, retried with backoff on 429/5xx (at least the server's
        Retry-After); still failing after RETRIES, or unreachable, or credentials refused:
        an outage."""
        for attempt in range(RETRIES + 1):
            try:
                answer = self._request_once(url, method, body, headers)
            except Failure as exc:
                if not exc.retryable or exc.outage:
                    raise
                status, wait = str(exc), exc.retry_after or 0.0
            else:
                if answer.status < 500:
                    return answer
                status, wait = f"the CalDAV server answered {answer.status}", 0.0
            delay = max(RETRY_BASE_SECONDS * 2**attempt * (0.5 + random.random() / 2), wait)
            if attempt == RETRIES or delay > MAX_RETRY_DELAY_SECONDS:
                break
            self._sleep(delay)
        raise self.stop(
            Failure(
                f"{status} (still failing after {attempt + 1} tries)",
                outage=True,
                retry_after=max(wait, outages.UNREACHABLE_RETRY_SECONDS),
            )
        )

    def _request_once(
        self, url: str, method: str, body: str = "", headers: dict[str, str] | None = None
    ) -> Any:
        from caldav.lib import error as dav_error

        self.check_server()
        self.http_requests += 1
        try:
            return self.client.request(url, method, body, headers or {})
        except dav_error.AuthorizationError as exc:
            if exc.status == 403:
                raise self.stop(
                    Failure(
                        f"the CalDAV server refused access to {path(url)} (403 Forbidden): "
                        "check that AGENTCAL_CALDAV_URL points at your own account or calendar",
                        outage=True,
                        retry_after=outages.AUTH_RETRY_SECONDS,
                    )
                ) from None
            raise self.stop(
                Failure(
                    f"the CalDAV server at {self.url} refused the user name or password",
                    outage=True,
                    retry_after=outages.AUTH_RETRY_SECONDS,
                )
            ) from None
        except dav_error.RateLimitError as exc:
            raise Failure(
                f"the CalDAV server answered {exc.status or 429} (slow down)",
                retryable=True,
                retry_after=exc.retry_after_seconds,
            ) from None
        except (dav_error.DAVError, OSError) as exc:
            problem = outages.network_problem(exc, self.timeout)
            raise self.stop(
                Failure(
                    f"cannot reach the CalDAV server at {self.url} ({problem})",
                    outage=True,
                    retry_after=outages.UNREACHABLE_RETRY_SECONDS,
                )
            ) from None


def etag(answer: Any) -> str | None:
    """The ETag a PUT answered: the server stored exactly the body sent (RFC 4791 5.3.4: no
    ETag when it changed it)."""
    value = answer.headers.get("ETag")
    return str(value)[:200] if value else None


def check(answer: Any, url: str, method: str) -> None:
    """A failed request on one object: 5xx is worth retrying, 4xx is not."""
    if 200 <= answer.status < 300:
        return
    reason = getattr(answer, "reason", "") or ""
    raise Failure(
        f"the CalDAV server answered {answer.status} {reason} to {method} {path(url)}".rstrip(),
        retryable=answer.status >= 500,
    )


def path(url: str) -> str:
    return urlsplit(url).path or url
