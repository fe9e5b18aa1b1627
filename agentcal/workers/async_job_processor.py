"""`python -m agentcal.workers.async_job_processor [--once]`: run queued jobs.

Loops until SIGTERM/SIGINT (finishing the job in hand), or with --once runs every job that is
due and exits (for cron).
"""

from __future__ import annotations

import argparse
import sys

from agentcal.errors import AgentcalError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agentcal.workers.async_job_processor", description=__doc__
    )
    parser.add_argument("--once", action="store_true", help="Run the due jobs, then exit.")
    args = parser.parse_args(argv)

    from agentcal.workers.runner import JobWorker, configure_logging, install_stop_signals

    configure_logging()
    worker = JobWorker("async_job_processor")
    install_stop_signals(worker.stop)
    try:
        if args.once:
            worker.run_once()
            worker.finish()
        else:
            worker.run_forever()
    except AgentcalError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        worker.finish()
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
