"""`python -m agentcal.workers.async_job_processor [--once]`: run queued jobs.

Loops until SIGTERM/SIGINT (finishing the job in hand), or with --once runs every job that is
due and exits (for cron).
"""

from __future__ import annotations

import argparse
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentcal.workers.async_job_processor", description=__doc__
    )
    parser.add_argument("--once", action="store_true", help="Run the due jobs, then exit.")
    args = parser.parse_args(argv)

    from agentcal.workers.runner import JobWorker, worker_main

    def body(stop: threading.Event) -> None:
        worker = JobWorker("async_job_processor", stop=stop)
        if not args.once:
            worker.run_forever()
            return
        try:
            worker.run_once()
        finally:
            worker.finish()

    return worker_main(body)


if __name__ == "__main__":
    sys.exit(main())
