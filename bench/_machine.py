"""The machine line every benchmark prints next to its figures, and the docs section it writes."""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import date
from pathlib import Path


def machine() -> str:
    """'2 CPUs (AMD EPYC), Python 3.11.7, SQLite 3.40.1, Linux 6.1, 2026-11-26'."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}, "
        f"{date.today().isoformat()}"
    )


def write_docs_section(marker: str, section: str) -> None:
    """Replace the section of docs/benchmarks.md whose heading starts with `marker` (up to the
    next `## ` heading) by `section`, or append `section` when there is none."""
    docs = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    text = docs.read_text()
    if marker in text:
        head, rest = text.split(marker, 1)
        tail = rest.split("\n## ", 1)
        text = head + section + ("\n## " + tail[1] if len(tail) > 1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    docs.write_text(text)
