"""`python -m tests.reliability.recording_worker LOGFILE [--once] [--daemon]`: the real job
processor (`agentcal.workers.async_job_processor.main`, or with --daemon the whole
`agentcal daemon --once`) with every job kind's handler replaced by one that appends
"<job id> <payload key> <pid>" to LOGFILE (O_APPEND: lines from several processes never
interleave), so a test can count how many times each job ran."""

from __future__ import annotations

import os
import sys
from typing import Any


def main() -> int:
    from agentcal.workers import async_job_processor
    from agentcal.workers.handlers import HANDLERS

    path = sys.argv[1]

    def record(job: Any, ctx: Any) -> dict[str, int]:
        key = job.payload.get("key", "-") if isinstance(job.payload, dict) else "-"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{job.id} {key} {os.getpid()}\n".encode())
        finally:
            os.close(fd)
        return {"pid": os.getpid()}

    for kind in list(HANDLERS):
        HANDLERS[kind] = record  # the worker copies this dict when it starts
    if "--daemon" in sys.argv[2:]:
        from agentcal.cli.main import main as agentcal

        sys.argv = ["agentcal", "daemon", "--once"]
        try:
            agentcal()
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0
    return async_job_processor.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
