"""Run every benchmark in bench/ with this interpreter: `python bench/run_all.py [names...]`.

Each bench_*.py prints a markdown table; copy the figures into docs/benchmarks.md with the
machine and the date (`python bench/run_all.py --machine` prints that header).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from _machine import machine

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    print(f"machine: {machine()}\n")
    if argv == ["--machine"]:
        return 0
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(name in s.stem for name in argv)]
    failed = 0
    env = dict(
        os.environ, PYTHONPATH=str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    for script in scripts:
        print(f"## {script.stem}\n", flush=True)
        failed += subprocess.run([sys.executable, str(script)], env=env).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
