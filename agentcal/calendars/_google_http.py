"""Sending Google Calendar calls: the signed-in client, batches of up to 50 calls per HTTP
request, retries and outages.

Calls that fail with 429, 5xx or 403 rate limits are re-batched and retried with randomised
exponential backoff (at least the server's Retry-After). Outages stop the sync at once, for
this command and (calendars/outages.py) for a while for the whole process: Google unreachable
(refused, no answer within AGENTCAL_CALENDAR_TIMEOUT: never retried in a loop), 403
quotaExceeded, the sign-in refused, or 429/5xx still failing after the retries. Their outcomes
carry `outage`: the job layer defers the syncs without using up their attempts, raises one
alert, and resumes by itself.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from agentcal.calendars import outages

if TYPE_CHECKING:
    from agentcal.settings import Settings

DEFAULT_ROOT = "https://www.googleapis.com/"
BATCH_SIZE = 50
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"}
QUOTA_MESSAGE = (
    "Google Calendar API quota exhausted ({reason}); syncs wait and resume by themselves "
    "(quotas refill over hours; or raise the quota in the Google Cloud console)"
)
AUTH_MESSAGE = (
    "Google refused the saved sign-in ({detail}): run `agentcal auth google` again "
    "(apps in Testing status get refresh tokens that expire after 7 days)"
)


@dataclass
class Call:
    key: str
    make: Callable[[], Any]  # builds a fresh googleapiclient HttpRequest (one per attempt)


@dataclass
class Outcome:
    response: Any = None
    status: int | None = None  # HTTP status of a failure; None for success or network errors
    reason: str = ""
    message: str = ""
    retryable: bool = False
    retry_after: float | None = None
    outage: bool = False  # Google as a whole is unusable now (unreachable, quota, sign-in)

    @property
    def ok(self) -> bool:
        return not self.message


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def from_http_error(exc: Any) -> Outcome:
    status = int(exc.resp.status)
    reason, detail = "", ""
    try:
        err = json.loads(exc.content.decode("utf-8", "replace"))["error"]
        detail = str(err.get("message") or "")
        reason = str((err.get("errors") or [{}])[0].get("reason") or err.get("status") or "")
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        pass
    quota = status in (403, 429) and reason in QUOTA_REASONS
    retryable = not quota and (
        status == 429 or status >= 500 or (status == 403 and reason in RATE_LIMIT_REASONS)
    )
    if quota:
        message = QUOTA_MESSAGE.format(reason=reason)
    else:
        message = f"Google Calendar answered {status}" + (f" {reason}" if reason else "")
        if detail:
            message += f": {detail}"
    return Outcome(
        status=status,
        reason=reason,
        message=message,
        retryable=retryable,
        retry_after=(
            outages.QUOTA_RETRY_SECONDS
            if quota
            else _retry_after(exc.resp.get("retry-after"))
            if retryable
            else None
        ),
        outage=quota,
    )


def resolve_endpoints(endpoint: str | None) -> tuple[str, str]:
    """(service base URL, batch URL) for a root URL such as http://127.0.0.1:8080/."""
    root = endpoint or DEFAULT_ROOT
    root = root.rstrip("/") + "/"
    if root.endswith("calendar/v3/"):
        root = root[: -len("calendar/v3/")]
    return root + "calendar/v3/", root + "batch/calendar/v3"


class Sender:
    """One Google account and calendar API endpoint: the client, made on first use, and the
    calls sent through it."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        batch_size: int = BATCH_SIZE,
        max_retries: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
    ) -> None:
        """`transport` is an httplib2.Http-like object (tests pass HttpMockSequence)."""
        self.settings = settings
        self._transport = transport
        self._sleep = sleep
        self._rand = rand
        self.batch_size = max(1, min(batch_size, 1000))
        self.max_retries = max_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._service: Any = None
        self._credentials: Any = None
        self._token_seen: str | None = None
        self.stopped: Outcome | None = None  # an outage: send nothing more
        self.base_url, self.batch_uri = resolve_endpoints(settings.google_api_endpoint)
        # The key of this server's outages, per sign-in (one user's refused token or used-up
        # quota is not another's).
        self.server = f"google {self.base_url} {settings.google_token_path}"
        self.timeout = settings.calendar_timeout
        self.http_requests = 0  # HTTP requests sent for calendar calls (the benchmark reads it)

    # -- client -------------------------------------------------------------------------------

    @property
    def service(self) -> Any:
        if self._service is None:
            import httplib2
            from google_auth_httplib2 import AuthorizedHttp
            from googleapiclient.discovery import build

            from agentcal.calendars.google_auth import load_credentials

            self._credentials = load_credentials(self.settings)
            self._token_seen = self._credentials.token
            http = AuthorizedHttp(
                self._credentials, http=self._transport or httplib2.Http(timeout=self.timeout)
            )
            self._service = build(
                "calendar",
                "v3",
                http=http,
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": self.base_url},
            )
        return self._service

    def save_refreshed_token(self) -> None:
        creds = self._credentials
        if creds is not None and creds.token and creds.token != self._token_seen:
            from agentcal.calendars.google_auth import save_credentials

            save_credentials(self.settings, creds)
            self._token_seen = creds.token

    # -- sending calls with batching and retries ----------------------------------------------

    def outage(self, message: str, retry_after: float) -> Outcome:
        """Stop sending: this command's remaining calls, and (for `retry_after` seconds) every
        backend in this process talking to the same server, fail at once with `message`."""
        outages.record(self.server, message, retry_after)
        self.stopped = Outcome(message=message, retry_after=retry_after, outage=True)
        return self.stopped

    def check_server(self) -> None:
        """Stop while an outage of this server is recorded (by this backend or another in this
        process); once it expired or was cleared, send again."""
        known = outages.current(self.server)
        self.stopped = (
            None
            if known is None
            else Outcome(message=known.message, retry_after=known.retry_after, outage=True)
        )

    def _send(self, calls: list[Call]) -> dict[str, Outcome]:
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import BatchError, HttpError
        from googleapiclient.http import BatchHttpRequest
        from httplib2 import HttpLib2Error

        out: dict[str, Outcome] = {}

        def collect(key: str, response: Any, exc: Exception | None) -> None:
            if exc is None:
                out[key] = Outcome(response=response)
            elif isinstance(exc, HttpError):
                out[key] = from_http_error(exc)
            else:
                out[key] = Outcome(message=f"Google Calendar call failed: {exc}", retryable=True)

        try:
            self.http_requests += 1
            if len(calls) == 1:
                call = calls[0]
                try:
                    collect(call.key, call.make().execute(num_retries=0), None)
                except HttpError as exc:
                    collect(call.key, None, exc)
            else:
                batch = BatchHttpRequest(callback=collect, batch_uri=self.batch_uri)
                for call in calls:
                    batch.add(call.make(), request_id=call.key)
                batch.execute(http=self.service._http)
        except HttpError as exc:  # the batch request itself failed: every call shares it
            whole = from_http_error(exc)
            out = {c.key: whole for c in calls}
        except RefreshError as exc:
            detail = exc.args[0] if exc.args else exc
            failure = self.outage(AUTH_MESSAGE.format(detail=detail), outages.AUTH_RETRY_SECONDS)
            out = {c.key: failure for c in calls}
        except (HttpLib2Error, OSError, TransportError) as exc:
            # Refused, timed out, no route: no retry loop here (each try would cost a timeout);
            # the job layer tries again later.
            problem = outages.network_problem(exc, self.timeout)
            failure = self.outage(
                f"cannot reach Google Calendar ({problem})", outages.UNREACHABLE_RETRY_SECONDS
            )
            out = {c.key: failure for c in calls}
        except (BatchError, ValueError, IndexError) as exc:  # a garbled batch answer
            failure = Outcome(message=f"unreadable answer from Google: {exc}", retryable=True)
            out = {c.key: failure for c in calls}
        for call in calls:  # a batch answer missing a part: treat as a transient failure
            out.setdefault(
                call.key, Outcome(message="no answer for this call in the batch", retryable=True)
            )
        if any(o.ok for o in out.values()):
            outages.clear(self.server)
        return out

    def run(self, calls: list[Call]) -> dict[str, Outcome]:
        """Send the calls in batches; re-batch the retryable failures with backoff."""
        results: dict[str, Outcome] = {}
        pending = calls
        attempt = 0
        while pending:
            self.check_server()
            round_out: dict[str, Outcome] = {}
            for i in range(0, len(pending), self.batch_size):
                chunk = pending[i : i + self.batch_size]
                if self.stopped is not None:
                    round_out.update({c.key: self.stopped for c in chunk})
                    continue
                sent = self._send(chunk)
                round_out.update(sent)
                quota = next((o for o in sent.values() if o.outage), None)
                if quota is not None and self.stopped is None:
                    self.outage(quota.message, quota.retry_after or 0.0)
            retry = [c for c in pending if round_out[c.key].retryable and self.stopped is None]
            results.update({c.key: round_out[c.key] for c in pending})
            if not retry:
                break
            asked = max((round_out[c.key].retry_after or 0.0) for c in retry)
            delay = max(self.base_delay * 2**attempt * (0.5 + self._rand() / 2), asked)
            if attempt >= self.max_retries or delay > self.max_delay:
                # Google keeps failing: an outage (one alert; the syncs wait and resume).
                last = round_out[retry[0].key]
                failure = self.outage(
                    f"{last.message} (still failing after {attempt + 1} tries)",
                    max(asked, outages.UNREACHABLE_RETRY_SECONDS),
                )
                results.update({c.key: failure for c in retry})
                break
            self._sleep(delay)
            attempt += 1
            pending = retry
        return results
