"""OpenTelemetry export of the recorded turns and jobs: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.

This module is the only part the rest of agentcal imports, and it imports nothing but the
standard library: with export off, OpenTelemetry is never loaded (tests/observability/test_otel.py proves
it). With export on, `agentcal.otel.pipeline` builds the SDK pipeline on first use.

Spans are made from what agentcal records (`agent_observability` rows and their steps), so a
trace has the same tree as `agentcal logs show`, and `agentcal logs export --otlp` sends history
through the same code. Nothing here raises: a broken exporter costs a one-line warning, once.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable
from typing import Any

ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
CAPTURE_CONTENT_VAR = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
INSTALL_HINT = "pip install 'agentcal[otel]'"

_warned: set[str] = set()
_warn_lock = threading.Lock()


def endpoint() -> str | None:
    """The OTLP/HTTP endpoint from the standard variables, or None (export off)."""
    for name in ENDPOINT_VARS:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def enabled() -> bool:
    """Export is on: an endpoint is set and neither OTEL_SDK_DISABLED nor OTEL_TRACES_EXPORTER=none."""
    if endpoint() is None:
        return False
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() != "none"


def capture_content() -> bool:
    """Message contents, tool arguments and results go into spans only when asked for."""
    return os.environ.get(CAPTURE_CONTENT_VAR, "").strip().lower() == "true"


def protocol() -> str:
    for name in PROTOCOL_VARS:
        value = os.environ.get(name, "").strip().lower()
        if value:
            return value
    return "http/protobuf"


def header_secrets() -> list[str]:
    """The values of OTEL_EXPORTER_OTLP_[TRACES_]HEADERS (API keys, usually), raw and decoded."""
    from urllib.parse import unquote

    out: list[str] = []
    for name in ("OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"):
        for pair in os.environ.get(name, "").split(","):
            if "=" in pair:
                value = pair.split("=", 1)[1].strip()
                out += [value, unquote(value)]
    return [v for v in out if v]


def masked(text: str) -> str:
    """`text` through agentcal's masking, which also hides the OTLP header values."""
    from agentcal.masking import mask

    return mask(text, extra=header_secrets())


def warn_once(key: str, text: str) -> None:
    """One line on stderr (masked), the first time only (per process and key)."""
    with _warn_lock:
        if key in _warned:
            return
        _warned.add(key)
    try:
        sys.stderr.write(f"agentcal: warning: {masked(text)}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed: nothing to tell
        pass


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
