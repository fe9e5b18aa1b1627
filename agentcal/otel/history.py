"""`agentcal logs export --otlp`: send calls already recorded to the configured OTLP endpoint.

The spans are built by the same `SpanWriter` as live export (same tree, same ids: a call sent
live and again from history lands on the same trace), then sent synchronously in batches so
the command can say truthfully how much was sent before a failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from agentcal.errors import ConfigError, ExternalServiceError
from agentcal.otel.env import INSTALL_HINT, endpoint, masked, protocol

BATCH_SPANS = 512


@dataclass
class ExportReport:
    calls: int
    spans: int
    url: str


def _require_pipeline() -> Any:
    if endpoint() is None:
        raise ConfigError(
            "set OTEL_EXPORTER_OTLP_ENDPOINT to the collector's OTLP/HTTP address "
            "(e.g. http://127.0.0.1:6006 for Phoenix, http://127.0.0.1:4318 for Jaeger)"
        )
    if protocol() != "http/protobuf":
        raise ConfigError(
            f"agentcal exports over OTLP/HTTP (http/protobuf) only, not {protocol()!r}: "
            "set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
        )
    try:
        from agentcal.otel import pipeline
    except ImportError:
        raise ConfigError(f"OpenTelemetry is not installed: {INSTALL_HINT}") from None
    pipeline.quiet_sdk_logs()
    return pipeline


def export_history(records: Iterable[tuple[Any, list[Any]]]) -> ExportReport:
    """Send each (call, steps) as a trace; raise ExternalServiceError on the first failed batch."""
    pipeline = _require_pipeline()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import SpanExportResult
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    breaker = pipeline.Breaker()
    url = pipeline.traces_url()
    sender = OTLPSpanExporter(endpoint=url, session=pipeline.GuardedSession(breaker))
    built = InMemorySpanExporter()
    spans_from = pipeline.Pipeline(built, batch=False)
    calls = spans = sent_calls = 0

    def send() -> None:
        nonlocal spans, sent_calls
        batch = built.get_finished_spans()
        built.clear()
        for start in range(0, len(batch), BATCH_SPANS):
            chunk = batch[start : start + BATCH_SPANS]
            if sender.export(chunk) is not SpanExportResult.SUCCESS:
                raise ExternalServiceError(
                    masked(
                        f"could not send traces to {pipeline.safe_url(url)} "
                        f"({breaker.last_error or 'export failed'}); "
                        f"{sent_calls} of the calls were sent before that"
                    )
                )
            spans += len(chunk)
        sent_calls = calls

    try:
        for call, steps in records:
            spans_from.writer.call(call, steps)
            calls += 1
            if len(built.get_finished_spans()) >= BATCH_SPANS:
                send()
        send()
    finally:
        sender.shutdown()
    return ExportReport(calls=calls, spans=spans, url=pipeline.safe_url(url))
