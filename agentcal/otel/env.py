"""The OpenTelemetry settings agentcal reads from the standard OTEL_* variables, and its
one-line warnings. Standard library only: `agentcal.otel` and its SDK modules (`pipeline`,
`history`) both import this, so neither imports the other at module level.
"""

from __future__ import annotations

import os
import sys
import threading

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
