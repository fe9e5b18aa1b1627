"""Environment faults: a damaged, newer or unversioned database, an unusable data dir, a full
disk, a broken .env, bad settings. Each is one line naming the problem and what to do, never a
traceback, and a damaged store is refused before anything writes into it.

The full-disk and read-only cases mount a small tmpfs (root only; skipped elsewhere). The
permission cases run the command as `nobody` when the tests run as root (root ignores modes).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import subprocess_env

pytestmark = pytest.mark.sqlite_only

# Commands that open the store, each through the path it really takes (the stdlib read path
# for `insights list` and `costs`, SQLAlchemy for the rest).
COMMANDS: list[tuple[str, ...]] = [
    ("insights", "list"),
    ("insights", "show", "1"),
    ("prefs", "list"),
    ("prefs", "add", "gym", "--at", "06:00"),
    ("events", "list"),
    ("emit",),
    ("costs",),
    ("logs", "list"),
    ("jobs", "list"),
    ("status",),
    ("alerts", "list"),
    ("daemon", "--once"),
    ("calendar", "export", "-"),
    ("chat", "-m", "add gym tomorrow at 6am"),
]


def _run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from agentcal.cli.main import app
    from agentcal.db import dispose_engines
    from agentcal.settings import reset_settings

    reset_settings()
    dispose_engines()
    old = os.environ.pop("AGENTCAL_DEBUG", None)  # as a user runs it: no traceback, ever
    try:
        result = CliRunner().invoke(app, list(args), env=env)
    finally:
        if old is not None:
            os.environ["AGENTCAL_DEBUG"] = old
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args,
        result.exception,
    )
    return result


def _one_line(result, *words: str) -> None:  # type: ignore[no-untyped-def]
    err = result.stderr
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert err.startswith("Error: ") and err.count("\n") == 1, err
    assert "internal error" not in err and "Traceback" not in result.output
    for word in words:
        assert word in err, err


def _digest(home: Path) -> str:
    h = hashlib.sha256()
    for name in ("agentcal.db", "agentcal.db-wal"):
        if (home / name).exists():
            h.update((home / name).read_bytes())
    return h.hexdigest()


def _store_with_data(home: Path, *, emitted: bool = True) -> Path:
    """The test's store holding preferences (their events too, when `emitted`) and a queued
    insight job, checkpointed."""
    from agentcal.db import dispose_engines
    from agentcal.planning.emitter import calendar_event_emitter
    from agentcal.planning.preferences import calendar_preferences_service
    from agentcal.queue.jobs import job_queue

    for kind, at in (("gym", "06:00"), ("focus", "09:00"), ("meal", "12:30")):
        calendar_preferences_service.create_preference(
            user_id="alice", preference_type=kind, start_time=at, duration_minutes=60
        )
    body = {"insight_type": "habit", "category": "health", "key": "sleep_time",
            "value": {"time": "23:00", "duration_minutes": 480}, "confidence": 0.9}  # fmt: skip
    job_queue.enqueue("update_insight", {**body, "user_id": "alice"})
    if emitted:
        calendar_event_emitter.process_users(["alice"], 7)
    dispose_engines()
    store = home / "agentcal.db"
    conn = sqlite3.connect(store)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return store


def _zero_header(store: Path) -> None:
    data = bytearray(store.read_bytes())
    data[:100] = bytes(100)
    store.write_bytes(data)


def _truncate(store: Path) -> None:
    data = store.read_bytes()
    store.write_bytes(data[: len(data) // 2 + 123])


def _random_page(store: Path) -> None:
    data = bytearray(store.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 8192] = random.Random(11).randbytes(8192)
    store.write_bytes(data)


def _text_file(store: Path) -> None:
    store.write_text("these are my notes, not a database\n")


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "header zeroed": _zero_header,
    "truncated": _truncate,
    "8 KiB of random bytes in the middle": _random_page,
    "a text file": _text_file,
}


# Every command meets one damage; the other kinds meet one command of each path.
@pytest.mark.parametrize(
    ("damage", "commands"),
    [
        ("8 KiB of random bytes in the middle", COMMANDS),
        ("header zeroed", COMMANDS[:4]),
        ("truncated", COMMANDS[:4]),
        ("a text file", COMMANDS[:4]),
    ],
)
def test_a_damaged_store_is_refused_before_any_write(agentcal_home, damage, commands):
    store = _store_with_data(agentcal_home)
    CORRUPTIONS[damage](store)
    before = _digest(agentcal_home)

    for args in commands:
        result = _run(*args)
        _one_line(result, "is damaged", "restore it from a backup")
        assert _digest(agentcal_home) == before, args  # nothing wrote into it


def test_random_bytes_are_caught_on_the_read_path_too(agentcal_home):
    from agentcal.reader import open_store
    from agentcal.storecheck import DamagedStoreError

    _random_page(_store_with_data(agentcal_home))
    with pytest.raises(DamagedStoreError):
        open_store()


def test_an_unchanged_store_is_checked_once(agentcal_home, monkeypatch):
    from agentcal import storecheck

    _store_with_data(agentcal_home)
    calls = []
    real = storecheck.quick_check
    monkeypatch.setattr(storecheck, "quick_check", lambda p: calls.append(p) or real(p))
    for _ in range(3):
        assert _run("insights", "list").exit_code == 0
    assert len(calls) == 1
    assert (agentcal_home / ".agentcal.db.checked").stat().st_mode & 0o777 == 0o600


def _stamp_is_current(store: Path) -> bool:
    from agentcal import storecheck

    return storecheck._last_checked(store) == storecheck._signature(os.stat(store))


@pytest.mark.sqlite_only
def test_a_chat_turn_leaves_the_store_checked_as_it_wrote_it(agentcal_home):
    """A turn's writes reach the main file when its last connection closes (the checkpoint);
    the turn stamps the store as it left it, so the next command does not run quick_check over
    the whole store again. Failed before: each `chat -m` left a stale stamp."""
    store = _store_with_data(agentcal_home)
    for text in ("hello", "lunch with Ana tomorrow at 1pm"):  # the stdlib path, then the ORM too
        before = os.stat(store).st_mtime_ns
        proc = subprocess.run(
            [sys.executable, "-m", "agentcal", "chat", "-m", text, "--user", "alice"],
            capture_output=True, text=True, env=subprocess_env(), timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert os.stat(store).st_mtime_ns != before  # the turn's checkpoint changed the file
        assert _stamp_is_current(store), text


def test_a_store_changed_by_another_is_not_stamped_at_close(agentcal_home):
    """Only a store this process found intact and nobody else changed since is re-stamped:
    after another's change the next command checks the store again."""
    from agentcal import storecheck

    store = _store_with_data(agentcal_home)
    storecheck.verify_sqlite_file(store)
    stamped = storecheck._last_checked(store)
    other = sqlite3.connect(store)  # another process's write and checkpoint
    other.execute("UPDATE calendar_preferences SET title = 'Swim' WHERE preference_type = 'gym'")
    other.commit()
    other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    other.close()
    storecheck.closing_own_connections([store], lambda: None)
    assert storecheck._last_checked(store) == stamped
    assert not _stamp_is_current(store)


def _set_revision(store: Path, revision: str | None) -> None:
    conn = sqlite3.connect(store)
    if revision is None:
        conn.execute("DROP TABLE alembic_version")
    else:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.commit()
    conn.close()


def test_a_store_from_a_newer_agentcal_is_refused(agentcal_home):
    store = _store_with_data(agentcal_home)
    _set_revision(store, "0099_from_the_future")
    before = _digest(agentcal_home)
    for args in [*COMMANDS, ("db", "upgrade")]:
        _one_line(_run(*args), "written by a newer agentcal (revision 0099_from_the_future)")
    assert _digest(agentcal_home) == before


def test_a_store_without_its_revision_table_is_refused(agentcal_home):
    store = _store_with_data(agentcal_home)
    _set_revision(store, None)
    before = _digest(agentcal_home)
    for args in COMMANDS:
        _one_line(_run(*args), "no schema revision", "alembic_version")
    assert _digest(agentcal_home) == before


def test_db_upgrade_to_an_unknown_revision(agentcal_home):
    _one_line(_run("db", "upgrade", "bogus"), "unknown revision 'bogus'")


# -- the data dir ---------------------------------------------------------------------------


def test_a_data_dir_that_is_a_file(tmp_path, monkeypatch):
    home = tmp_path / "home-file"
    home.write_text("x")
    monkeypatch.setenv("AGENTCAL_HOME", str(home))
    _one_line(_run("prefs", "list"), "is not a directory", "AGENTCAL_HOME")
    assert home.read_text() == "x"


def test_an_empty_agentcal_home_means_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTCAL_HOME", "")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    result = _run("config", "path")
    assert result.stdout.strip() == str(tmp_path / "xdg" / "agentcal")


def test_an_unknown_user_in_agentcal_home(monkeypatch):
    monkeypatch.setenv("AGENTCAL_HOME", "~nosuchuser_agentcal/x")
    _one_line(_run("prefs", "list"), "AGENTCAL_HOME", "no such user")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (
            "sqlite:////proc/agentcal-test.db",
            ("cannot create the database /proc/agentcal-test.db",),
        ),
        ("sqlite:///:memory:", ("in-memory database", "use a file")),
        ("sqlite://", ("in-memory database",)),
        ("nosuchdialect://x/y", ("unusable database URL",)),
    ],
)
def test_unusable_database_urls(monkeypatch, url, words):
    monkeypatch.setenv("AGENTCAL_DATABASE_URL", url)
    _one_line(_run("prefs", "add", "gym", "--at", "06:00"), *words)


# -- settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("AGENTCAL_PRICE_OVERRIDES", "{not json", ("invalid JSON in AGENTCAL_PRICE_OVERRIDES",)),
        ("AGENTCAL_PRICE_OVERRIDES", "[" * 5000 + "]" * 5000, ("nested too deep",)),
        ("AGENTCAL_PRICE_OVERRIDES", '{"m": {"input": 1e999}}', ("AGENTCAL_PRICE_OVERRIDES",)),
        ("AGENTCAL_HEARTBEAT_SECONDS", "1e400", ("AGENTCAL_HEARTBEAT_SECONDS", "finite")),
        ("AGENTCAL_JOB_LEASE_SECONDS", "9" * 40, ("AGENTCAL_JOB_LEASE_SECONDS",)),
        ("AGENTCAL_LLM_TIMEOUT", "nan", ("AGENTCAL_LLM_TIMEOUT",)),
        ("AGENTCAL_EMIT_INTERVAL_SECONDS", "-5", ("AGENTCAL_EMIT_INTERVAL_SECONDS",)),
        ("AGENTCAL_TIMEZONE", "Mars/Olympus", ("unknown time zone",)),
    ],
)
def test_bad_settings_are_one_line(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    # Commands that use the settings (not a read-only list: it reads only the few settings it
    # needs, agentcal/basics.py, and AGENTCAL_TIMEZONE is one of them).
    for args in (("config", "show"), ("emit", "--dry-run"), ("daemon", "--once")):
        _one_line(_run(*args), *words)
    if name == "AGENTCAL_TIMEZONE":
        _one_line(_run("status"), *words)


def test_a_non_utf8_env_file(tmp_path):
    (tmp_path / ".env").write_bytes(b"AGENTCAL_USER=caf\xe9\n")  # the tests run in tmp_path
    _one_line(_run("config", "show"), ".env", "not UTF-8", "save it as UTF-8")


@pytest.mark.parametrize(
    "entry",
    [
        ["agentcal", "daemon", "--once"],
        ["agentcal.workers.async_job_processor", "--once"],
        ["agentcal.workers.preference_emitter_worker", "--once"],
    ],
)
def test_invalid_settings_stop_the_workers_with_one_line_and_no_traceback(agentcal_home, entry):
    done = subprocess.run(
        [sys.executable, "-m", *entry],
        cwd=agentcal_home,
        env=subprocess_env(
            AGENTCAL_HOME=str(agentcal_home), AGENTCAL_JOB_MAX_ATTEMPTS="0", AGENTCAL_DEBUG=""
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: invalid setting AGENTCAL_JOB_MAX_ATTEMPTS: Input should be greater than or "
        "equal to 1"
    ]


# -- permissions, read-only and full file systems ---------------------------------------------


# Root ignores file modes (CAP_DAC_OVERRIDE): drop those capabilities for the command.
_NO_DAC = "-dac_override,-dac_read_search"


def _unprivileged(
    args: list[str], env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run the CLI so that file modes apply to it, as they do to any user."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: file modes cannot be tested")
        prefix = ["setpriv", f"--bounding-set={_NO_DAC}", f"--inh-caps={_NO_DAC}", "--"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "agentcal", *args],
        cwd=cwd,
        env=subprocess_env(**env, AGENTCAL_DEBUG=""),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_unwritable_data_dir(tmp_path):
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    done = _unprivileged(["prefs", "list"], {"AGENTCAL_HOME": str(parent / "agentcal")}, tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "permission denied" in done.stderr.lower() and "AGENTCAL_HOME" in done.stderr


def test_an_unreadable_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("AGENTCAL_USER=bob\n")
    env_file.chmod(0o000)
    done = _unprivileged(["config", "show"], {}, tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "cannot read the .env file" in done.stderr


@contextlib.contextmanager
def small_fs(size: str) -> Iterator[Path]:
    """A tmpfs of `size`, unmounted afterwards; skips the test where mounting is not allowed."""
    point = Path(tempfile.mkdtemp(prefix="agentcal-fs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(point)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        point.rmdir()
        pytest.skip("mounting a small tmpfs needs root")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)
        point.rmdir()


def test_a_read_only_data_dir(agentcal_home, monkeypatch):
    store = _store_with_data(agentcal_home)
    with small_fs("4m") as fs:
        shutil.copy(store, fs / "agentcal.db")
        subprocess.run(["mount", "-o", "remount,ro", str(fs)], check=True)
        monkeypatch.setenv("AGENTCAL_HOME", str(fs))
        for args in (("prefs", "add", "gym", "--at", "07:00"), ("emit",), ("daemon", "--once")):
            _one_line(_run(*args), "read-only")


@pytest.mark.parametrize(
    "args",
    [
        ("emit",),
        ("daemon", "--once"),
        ("chat", "-m", "add dentist tomorrow at 3pm"),
        ("prefs", "add", "focus", "--at", "09:00", "--title", "x" * 150),
    ],
)
def test_disk_full_is_one_line_and_changes_nothing(agentcal_home, monkeypatch, args):
    from tests.conftest import db_snapshot

    store = _store_with_data(agentcal_home, emitted=False)
    with small_fs("2m") as fs:
        shutil.copy(store, fs / "agentcal.db")
        monkeypatch.setenv("AGENTCAL_HOME", str(fs))
        # The store opens through SQLAlchemy, whose engine stays open in this process: the WAL
        # exists (a read-only list would leave none behind, and a writer on the full disk would
        # fail creating it, as "disk I/O error").
        assert _run("db", "current").exit_code == 0
        before = db_snapshot(fs)
        _fill(fs / "filler", leave=0)
        result = _run(*args)
        _one_line(result, "disk full")
        (fs / "filler").unlink()
        assert db_snapshot(fs) == before


def _fill(path: Path, leave: int) -> None:
    """Fill the file system holding `path`, then give back `leave` bytes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        size = 0
        with contextlib.suppress(OSError):
            while True:
                size += os.write(fd, b"\0" * 65536)
        with contextlib.suppress(OSError):
            while True:
                size += os.write(fd, b"\0" * 512)
        os.ftruncate(fd, max(size - leave, 0))
    finally:
        os.close(fd)


@pytest.mark.sqlite_only
def test_checking_the_store_keeps_this_processs_sqlite_locks(agentcal_home):
    """Closing any descriptor of a file drops all of the process's POSIX locks on it, SQLite's
    too: the store check must not open and close the database file while a connection is
    open, or another process could take a lock this one holds (and e.g. delete its WAL)."""
    import sqlite3
    import subprocess
    import sys

    from agentcal.storecheck import verify_sqlite_file

    path = agentcal_home / "agentcal.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode=DELETE")  # the write lock lives on the main file
    holder.execute("BEGIN IMMEDIATE")  # this process now holds the store's RESERVED lock
    try:
        for _ in range(2):  # the first check and a later one
            verify_sqlite_file(path)
            other = subprocess.run(
                [sys.executable, "-c", "import sqlite3, sys; "
                 "c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None); "
                 "c.execute('BEGIN IMMEDIATE')", str(path)],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert other.returncode != 0 and "database is locked" in other.stderr
    finally:
        holder.execute("ROLLBACK")
        holder.close()
