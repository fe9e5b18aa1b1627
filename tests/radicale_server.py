"""A Radicale CalDAV server on 127.0.0.1 for the tests (auth off, storage in a given directory).

`with radicale_server(tmp_dir) as url:` starts it and stops it; `free_port()` is shared with
other loopback helpers. `count_by_uid(url, user)` reads every calendar object of a Radicale user
straight from the server, so tests can check that each event is there exactly once.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Radicale without an fsync per stored item: the tests need no durability, and with it each
# PUT costs 25-50 ms on a loaded machine (its `_filesystem_fsync` option is internal: not
# settable from a config file).
_NO_FSYNC = (
    "import sys, radicale.pathutils as p; p.fsync = lambda fd: None; "
    "from radicale.__main__ import run; sys.argv[0] = 'radicale'; run()"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def radicale_server(storage: Path, *options: str) -> Iterator[str]:
    """Run Radicale with its collections under `storage` (and more command-line `options`);
    yields its base URL."""
    port = free_port()
    log = (storage / "radicale.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _NO_FSYNC,
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "none",
            "--storage-filesystem-folder",
            str(storage / "collections"),
            "--logging-level",
            "warning",
            *options,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"radicale exited: {(storage / 'radicale.log').read_text()}")
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except urllib.error.HTTPError:
                break  # it answers (any status)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def count_by_uid(url: str, username: str) -> Counter[str]:
    """UID -> number of VEVENTs carrying it, over every calendar of the Radicale user."""
    import caldav

    client = caldav.DAVClient(url=url, username=username, password="x", timeout=60)
    counts: Counter[str] = Counter()
    for cal in client.principal().calendars():
        for obj in cal.events():
            for vevent in obj.icalendar_instance.walk("VEVENT"):
                counts[str(vevent["UID"])] += 1
    return counts
