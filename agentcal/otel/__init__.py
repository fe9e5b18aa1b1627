"""OpenTelemetry export of the recorded turns and jobs: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.

This module is the only part the rest of agentcal imports, and it imports nothing but the
standard library and `agentcal.otel.env` (the OTEL_* variables): with export off, OpenTelemetry
is never loaded (tests/observability/test_otel.py proves it). With export on, `agentcal.otel.pipeline` builds the SDK pipeline on first use.

Spans are made from what agentcal records (`agent_observability` rows and their steps), so a
trace has the same tree as `agentcal logs show`, and `agentcal logs export --otlp` sends history
through the same code. Nothing here raises: a broken exporter costs a one-line warning, once.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from agentcal.otel.env import INSTALL_HINT, enabled, warn_once


def _live_pipeline() -> Any:
    try:
        from agentcal.otel.pipeline import live_pipeline
    except ImportError:
        warn_once(
            "not_installed",
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed "
            f"({INSTALL_HINT}); traces are not exported",
        )
        return None
    return live_pipeline()


def export_call(call: Any, steps: Iterable[Any]) -> None:
    """Send one recorded turn (an agent_observability row and its steps) as a trace."""
    if not enabled():
        return
    try:
        pipeline = _live_pipeline()
        if pipeline is not None:
            pipeline.writer.call(call, list(steps))
    except Exception as exc:  # never fail or slow the turn for telemetry
        warn_once(
            "export_call", f"could not build the trace of a turn: {type(exc).__name__}: {exc}"
        )


def export_job(job: Any, start_ns: int, end_ns: int, error: str | None) -> None:
    """Send one background job run (a claimed job, its timing and its error if it failed)."""
    if not enabled():
        return
    try:
        pipeline = _live_pipeline()
        if pipeline is not None:
            pipeline.writer.job(job, start_ns, end_ns, error)
    except Exception as exc:
        warn_once("export_job", f"could not build the trace of a job: {type(exc).__name__}: {exc}")


def flush() -> None:
    """Send what is queued now (tests, and commands that are about to report)."""
    if "agentcal.otel.pipeline" in sys.modules:
        from agentcal.otel.pipeline import flush_live

        flush_live()
