"""The OpenTelemetry SDK pipeline: a tracer provider, a batching processor, the OTLP/HTTP exporter.

Only imported when export is on (see `agentcal.otel`). The standard variables configure it:
OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT, _HEADERS, _TIMEOUT, _COMPRESSION, _CERTIFICATE,
OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_* (queue size,
delay, batch size).

The exporter never slows or fails agentcal:
* spans are queued (bounded: OTEL_BSP_MAX_QUEUE_SIZE, 2048 by default) and sent by the SDK's
  background thread; a full queue drops spans;
* a collector that refuses the connection, times out or answers with an error opens a circuit
  breaker: the batch is dropped at once instead of being retried with back-off, further
  batches are dropped for BREAKER_SECONDS, and stderr gets one line, once per process;
* at exit, queued spans get at most EXIT_FLUSH_SECONDS to leave.
The OTEL_* headers often carry tokens: they are never printed, and the endpoint is printed
without its user info or query string.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
    SpanProcessor,
)

from agentcal import __version__
from agentcal.otel.env import INSTALL_HINT, capture_content, endpoint, protocol, warn_once
from agentcal.otel.spans import PlannedIds, SpanWriter

BREAKER_SECONDS = 30.0
EXIT_FLUSH_SECONDS = 2.0


def safe_url(url: str | None) -> str:
    """An endpoint fit to print: no user info, no query string (either may hold a token)."""
    if not url:
        return "?"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "(unparsable endpoint)"


def traces_url() -> str | None:
    """Where spans are sent: the signal endpoint as given, or the base one plus /v1/traces."""
    specific = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if specific:
        return specific
    base = endpoint()
    if base is None:
        return None
    return base.removesuffix("/") + "/v1/traces"


def _reason(exc: BaseException) -> str:
    """A short, secret-free reason for a failed request (never the exception's own text)."""
    text = repr(exc).lower()
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error"
    if isinstance(exc, requests.exceptions.Timeout):
        return "timed out"
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "cannot connect"
    return type(exc).__name__


class CollectorUnavailable(Exception):
    """Not a `requests` error, so the SDK's exporter fails the batch instead of retrying it."""


class Breaker:
    """Open after a failure: requests fail at once until `seconds` have passed."""

    def __init__(self, seconds: float = BREAKER_SECONDS) -> None:
        self.seconds = seconds
        self.open_until = 0.0
        self.last_error: str | None = None

    def allow(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self, reason: str, seconds: float | None = None) -> None:
        self.last_error = reason
        self.open_until = time.monotonic() + (self.seconds if seconds is None else seconds)


class GuardedSession(requests.Session):
    """The exporter's HTTP session, behind the breaker."""

    def __init__(self, breaker: Breaker) -> None:
        super().__init__()
        self.breaker = breaker

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if not self.breaker.allow():
            raise CollectorUnavailable(self.breaker.last_error or "collector unavailable")
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.exceptions.RequestException as exc:
            self.breaker.trip(_reason(exc))
            raise CollectorUnavailable(self.breaker.last_error) from None
        if response.status_code >= 400:  # refused or failing: no retry with back-off either
            self.breaker.trip(f"HTTP {response.status_code} {response.reason or ''}".strip())
            raise CollectorUnavailable(self.breaker.last_error)
        return response


class WarningExporter(SpanExporter):
    """The OTLP exporter, plus one line on stderr the first time a batch cannot be sent."""

    def __init__(self, inner: SpanExporter, breaker: Breaker, url: str | None) -> None:
        self.inner = inner
        self.breaker = breaker
        self.url = url
        self.in_flight = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.in_flight = True
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # the SDK should not raise; never let it reach a caller
            self.breaker.trip(type(exc).__name__)
            result = SpanExportResult.FAILURE
        finally:
            self.in_flight = False
        if result is not SpanExportResult.SUCCESS:
            warn_once(
                "export_failed",
                f"cannot send traces to {safe_url(self.url)} "
                f"({self.breaker.last_error or 'export failed'}); agentcal goes on without them",
            )
        return result

    def shutdown(self) -> None:
        # Called at exit once the flush budget is spent: a batch still out is abandoned (and
        # closing the session makes it fail); say why before that failure says "cannot connect".
        if self.in_flight:
            warn_once(
                "export_failed",
                f"cannot send traces to {safe_url(self.url)} (the collector did not answer "
                "before agentcal exited); the last ones were dropped",
            )
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def otlp_exporter(breaker: Breaker) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    url = traces_url()
    return WarningExporter(
        OTLPSpanExporter(endpoint=url, session=GuardedSession(breaker)), breaker, url
    )


def _resource() -> Resource:
    attrs: dict[str, Any] = {"service.version": __version__}
    named = os.environ.get("OTEL_SERVICE_NAME", "").strip() or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    if not named:
        attrs["service.name"] = "agentcal"
    return Resource.create(attrs)


def quiet_sdk_logs() -> None:
    """The SDK logs every failed or retried batch; agentcal says it once, itself."""
    logger = logging.getLogger("opentelemetry")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())
    logger.propagate = False


class Pipeline:
    """A tracer provider whose spans go to `exporter` (batched unless `batch=False`)."""

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        batch: bool = True,
        breaker: Breaker | None = None,
        capture: bool | None = None,
    ) -> None:
        self.exporter = exporter
        self.breaker = breaker
        self.ids = PlannedIds()
        # shutdown_on_exit=False: the SDK's own exit hook would wait up to 30 s for a dead
        # collector; `close()` bounds that.
        self.provider = TracerProvider(
            resource=_resource(), id_generator=self.ids, shutdown_on_exit=False
        )
        self.processor: SpanProcessor = (
            BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        )
        self.provider.add_span_processor(self.processor)
        tracer = self.provider.get_tracer("agentcal", __version__)
        self.writer = SpanWriter(
            tracer, self.ids, capture_content=capture_content() if capture is None else capture
        )

    def flush(self) -> None:
        self.processor.force_flush()

    def close(self, timeout: float = EXIT_FLUSH_SECONDS) -> None:
        """Send what is queued, waiting at most `timeout` seconds."""
        inner = getattr(self.processor, "_batch_processor", None)
        if inner is not None and hasattr(inner, "shutdown"):
            inner.shutdown(timeout_millis=int(timeout * 1000))
        else:
            self.processor.shutdown()
        if self.breaker is not None:  # anything still in flight fails at once
            self.breaker.trip("agentcal is exiting", seconds=float("inf"))


_live: Pipeline | None = None
_live_failed = False
_live_lock = threading.Lock()


def live_pipeline() -> Pipeline | None:
    """The process's pipeline for live turns and jobs, built on first use (None: cannot export)."""
    global _live, _live_failed
    if _live is not None or _live_failed:
        return _live
    with _live_lock:
        if _live is None and not _live_failed:
            if protocol() != "http/protobuf":
                _live_failed = True
                warn_once(
                    "protocol",
                    f"agentcal exports traces over OTLP/HTTP (http/protobuf) only, not {protocol()!r}: "
                    "set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf and an OTLP/HTTP endpoint "
                    "(usually port 4318); traces are not exported",
                )
                return None
            quiet_sdk_logs()
            breaker = Breaker()
            _live = Pipeline(otlp_exporter(breaker), breaker=breaker)
            atexit.register(_live.close)
    return _live


def install_live(pipeline: Pipeline | None) -> None:
    """Replace the live pipeline (tests: an in-memory exporter, or a fresh endpoint)."""
    global _live, _live_failed
    with _live_lock:
        if _live is not None:
            atexit.unregister(_live.close)
        _live, _live_failed = pipeline, False


def flush_live() -> None:
    if _live is not None:
        _live.flush()


__all__ = ["INSTALL_HINT", "Pipeline", "install_live", "live_pipeline"]
