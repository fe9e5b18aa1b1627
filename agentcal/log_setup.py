"""What agentcal prints as log lines on stderr: the one switch (`agentcal -v`).

By default only agentcal's own warnings and errors show, one line each; the libraries it uses
(googleapiclient, google-auth, caldav, niquests/urllib3, httplib2, APScheduler...) stay quiet,
and so do Python warnings. `-v` shows INFO lines from agentcal and the libraries, plus the
traceback of an unexpected failure; `-vv` shows DEBUG. `AGENTCAL_LOG_LEVEL` sets agentcal's own
level (the daemon defaults to INFO); `AGENTCAL_LOG_LEVEL=DEBUG` is `-vv`. Commands call `configure_logging()` once; calling it again
(the daemon does) keeps the verbosity already chosen.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_state = {"verbosity": 0}


class _OwnRecordsOnly(logging.Filter):
    """Lets through agentcal's records only (the libraries' are noise unless -v)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == "agentcal" or record.name.startswith("agentcal.")


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """agentcal's stderr handler (a class of its own, so it is replaced, never doubled). It
    writes to whatever `sys.stderr` is when a record comes (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def configure_logging(verbosity: int | None = None, *, default_level: str = "WARNING") -> None:
    """Set up stderr logging: `verbosity` 0 (quiet libraries), 1 (-v), 2+ (-vv); None keeps
    the one chosen earlier in this process."""
    from agentcal.masking import install_log_masking

    install_log_masking()  # secrets never reach a log line, whatever prints it
    if verbosity is not None:
        _state["verbosity"] = verbosity
    verbose = _state["verbosity"]
    own = os.environ.get("AGENTCAL_LOG_LEVEL", "").upper() or default_level
    if own == "DEBUG":  # debugging: everything, the libraries too (as -vv)
        verbose = max(verbose, 2)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler()
    handler.setFormatter(logging.Formatter(_FORMAT))
    if verbose == 0:
        handler.addFilter(_OwnRecordsOnly())
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose >= 2 else logging.INFO if verbose else logging.WARNING)
    if verbose:
        own = "DEBUG" if verbose >= 2 else "INFO"
    logging.getLogger("agentcal").setLevel(getattr(logging, own, logging.WARNING))
    logging.captureWarnings(True)  # library warnings become records: quiet unless -v


def verbosity() -> int:
    """How verbose this process was asked to be (0: default)."""
    return _state["verbosity"]
