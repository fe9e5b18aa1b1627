"""The machine line every benchmark prints next to its figures."""

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
