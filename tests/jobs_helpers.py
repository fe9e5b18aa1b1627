"""Helpers for the job tests: a worker process with a recording handler, and DB probes.

`python -m tests.jobs_helpers LOGFILE SLEEP` runs one worker that drains the queue; its handler
for every kind appends "start <job> <pid>" and "end <job> <pid>" lines to LOGFILE (O_APPEND, so
lines from several processes do not interleave) and sleeps SLEEP seconds in between.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from agentcal.vocab import JOB_KINDS


def _append(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def recording_handlers(path: str, sleep: float) -> dict[str, Any]:
    def handler(job: Any, ctx: Any) -> dict[str, int]:
        _append(path, f"start {job.id} {os.getpid()}")
        if sleep:
            time.sleep(sleep)
        _append(path, f"end {job.id} {os.getpid()}")
        return {"pid": os.getpid()}

    return dict.fromkeys(JOB_KINDS, handler)


def read_log(path: str) -> list[tuple[str, int, int]]:
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [(a, int(b), int(c)) for a, b, c in (line.split() for line in fh if line.strip())]


def main() -> int:
    from agentcal.workers.runner import JobWorker, install_stop_signals

    path, sleep = sys.argv[1], float(sys.argv[2])
    worker = JobWorker(handlers=recording_handlers(path, sleep))
    install_stop_signals(worker.stop)
    worker.run_once()
    worker.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
