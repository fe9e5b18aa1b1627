"""Arize Phoenix on 127.0.0.1 for the tests: a real OpenTelemetry receiver people use.

Phoenix (~850 MB with numpy, pandas, grpc, fastapi) does not go into agentcal's environment:
it gets its own virtualenv, built from tests/phoenix-requirements.txt and cached under
~/.cache/agentcal-tests/phoenix-<digest of that file> (AGENTCAL_PHOENIX_VENV overrides), so
it is installed once per machine and rebuilt only when the pin changes.

    python -m tests.phoenix_server install    # what .ci/run does; ~2-3 minutes the first time

`with phoenix_server(tmp_dir) as url:` starts it (one per test session: startup is ~20 s),
`spans(url, project)` reads spans back through its REST API.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.radicale_server import free_port

REQUIREMENTS = Path(__file__).with_name("phoenix-requirements.txt")
READY_MARKER = ".agentcal-ready"
STARTUP_TIMEOUT = 180.0


def venv_dir() -> Path:
    override = os.environ.get("AGENTCAL_PHOENIX_VENV")
    if override:
        return Path(override).expanduser()
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "agentcal-tests" / f"phoenix-{digest}"


def phoenix_executable() -> Path | None:
    """The `phoenix` command of a complete install, or None."""
    venv = venv_dir()
    exe = venv / "bin" / "phoenix"
    return exe if exe.exists() and (venv / READY_MARKER).exists() else None


def install() -> Path:
    """Build the Phoenix virtualenv if it is not there yet; returns its `phoenix` command."""
    exe = phoenix_executable()
    if exe is not None:
        return exe
    venv = venv_dir()
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    (venv / READY_MARKER).write_text(REQUIREMENTS.read_text())
    return venv / "bin" / "phoenix"


def _env(workdir: Path, port: int, grpc_port: int) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "PHOENIX_", "AGENTCAL_", "PYTHONPATH"))
    }
    env.update(
        PHOENIX_WORKING_DIR=str(workdir),
        PHOENIX_HOST="127.0.0.1",
        PHOENIX_PORT=str(port),
        PHOENIX_GRPC_PORT=str(grpc_port),
        PHOENIX_TELEMETRY_ENABLED="false",
    )
    return env


@contextmanager
def phoenix_server(workdir: Path) -> Iterator[tuple[str, float]]:
    """Run `phoenix serve` with its SQLite store under `workdir`; yields (url, startup seconds)."""
    exe = phoenix_executable()
    if exe is None:
        raise FileNotFoundError(f"Phoenix is not installed in {venv_dir()}")
    port, grpc_port = free_port(), free_port()
    log_path = workdir / "phoenix.log"
    log = log_path.open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(exe), "serve"], stdout=log, stderr=subprocess.STDOUT,
        env=_env(workdir, port, grpc_port),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"phoenix exited: {log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - started > STARTUP_TIMEOUT:
                raise TimeoutError(f"phoenix did not start in {STARTUP_TIMEOUT:.0f} s")
            time.sleep(0.25)
        yield url, time.monotonic() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def spans(url: str, project: str) -> list[dict[str, Any]]:
    """Every span of a Phoenix project (empty while the project does not exist yet)."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = f"limit=1000{f'&cursor={cursor}' if cursor else ''}"
        try:
            with urllib.request.urlopen(
                f"{url}/v1/projects/{project}/spans?{query}", timeout=10
            ) as reply:
                page = json.loads(reply.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise
        out.extend(page["data"])
        cursor = page.get("next_cursor")
        if not cursor:
            return out


def wait_for_spans(
    url: str, project: str, predicate: Any, timeout: float = 60.0
) -> list[dict[str, Any]]:
    """Poll until `predicate(spans)` holds (Phoenix ingests asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        found = spans(url, project)
        if predicate(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"Phoenix has {len(found)} spans in {project!r}: {found!r:.2000}")
        time.sleep(0.5)


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m tests.phoenix_server install")
    print(install())
