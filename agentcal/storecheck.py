"""Is the store usable? One place for both ways of opening it: SQLAlchemy (`db.get_engine`) and
the stdlib read path (`sqlite_reader.open_store`). Stdlib only, so the read path stays light.

Before anything reads or writes a SQLite store, `verify_sqlite_file` checks that it is a
regular file (not a link) that starts with the SQLite header and, when the file changed since
the last check, runs `PRAGMA quick_check` on a read-only connection. The last check is kept in
a small stamp file next to the database (`.agentcal.db.checked`, mode 0600: the main file's
inode, size and modification time), so commands that follow each other on an unchanged store
pay nothing (bench/bench_storecheck.py: a check of a 93 MB store costs about one `import typer`). A damaged file is refused with one line saying what to do;
nothing is written into it.

`check_revision` refuses a database written by a newer agentcal, and one whose
`alembic_version` table was dropped. `describe_failure` turns the database and file errors
that can still happen later (disk full, read-only, locked, damaged pages read later) into one
line naming the problem and the fix.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import stat
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from agentcal.errors import ConfigError

SQLITE_MAGIC = b"SQLite format 3\x00"
RESTORE = "restore it from a backup, or move it aside and agentcal starts a new one"


class DamagedStoreError(ConfigError):
    """The database file is damaged or is not a database."""


def damaged(path: Path | str, why: str) -> DamagedStoreError:
    return DamagedStoreError(f"the database {path} is damaged ({why}): {RESTORE}")


# -- the file itself ------------------------------------------------------------------------


def verify_sqlite_file(path: Path) -> None:
    """Raise unless `path` is absent, empty, or an intact SQLite database (see the module)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"cannot open the database {path}: {exc.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        from agentcal.files import UnsafePathError

        raise UnsafePathError(
            f"the database {path} is a symbolic link (agentcal never follows a link it did not "
            "make): point AGENTCAL_DATABASE_URL at the real file, or remove the link"
        )
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"the database {path} is not a regular file: {RESTORE}")
    if st.st_size == 0:
        return
    try:
        head = _read_header(path, st)
    except OSError as exc:
        raise ConfigError(f"cannot read the database {path}: {exc.strerror}") from None
    if not head.startswith(SQLITE_MAGIC):
        raise damaged(path, "it does not start with the SQLite header")
    if len(head) < 100 or st.st_size < 512:
        raise damaged(path, "it is truncated")
    signature = _signature(st)
    if _last_checked(path) != signature:
        problem = quick_check(path)
        if problem is not None:
            raise damaged(path, problem)
        _remember(path, signature)
    _verified[str(path)] = signature


# The main file's signature as this process found it intact, by path.
_verified: dict[str, list[int]] = {}


def closing_own_connections(paths: list[Path], close: Callable[[], None]) -> None:
    """Run `close` (this process's connections to the stores at `paths`) and keep their check
    stamps true: a store whose main file had not changed since this process checked it, and
    changed as its last connection closed, changed by SQLite's own checkpoint of checksummed
    WAL frames, so it is stamped as it is now. Without this, every command after a write (a
    `chat -m` turn) ran quick_check over the whole store again (~120 ms on a 100 MB store).
    A change by anyone else in between leaves the stamp alone: the next check runs."""
    before = {path: _signature_now(path) for path in paths}
    close()
    for path, was in before.items():
        if was is None or _verified.get(str(path)) != was:
            continue
        now = _signature_now(path)
        if now is not None and now != was:
            _remember(path, now)
            _verified[str(path)] = now


def _signature_now(path: Path) -> list[int] | None:
    try:
        return _signature(os.stat(path))
    except OSError:
        return None


_held: dict[tuple[int, int], int] = {}  # (device, inode) -> a descriptor kept open for good


def _read_header(path: Path, st: os.stat_result) -> bytes:
    """The file's first 100 bytes, read through a descriptor this process never closes.

    Closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's
    included (sqlite.org/howtocorrupt.html, 2.2). A plain open/read/close here, while one of
    this process's connections is open (a daemon, the REPL, a turn's writer), would let another
    process believe it is the last one on the store and checkpoint and delete the WAL this one
    still writes to: commits lost. SQLite defers closing its own descriptors for that reason."""
    for key, old in list(_held.items()):  # a file since deleted: its locks guard nothing now
        if os.fstat(old).st_nlink == 0:
            os.close(_held.pop(key))
    # The descriptor keeps its inode from being reused, so an equal (device, inode) is this file.
    fd = _held.get((st.st_dev, st.st_ino))
    if fd is None:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        opened = os.fstat(fd)
        _held[(opened.st_dev, opened.st_ino)] = fd
    return os.pread(fd, 100, 0)


def quick_check(path: Path) -> str | None:
    """What `PRAGMA quick_check` finds wrong with the database (None: nothing, or it could not
    be run here, e.g. a WAL database in a read-only directory; opening it will say why)."""
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error:
        return None
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(3)").fetchall()]
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and not _is_corruption(str(exc)):
            return None  # busy, cannot open the WAL index...: not damage
        return str(exc)
    finally:
        conn.close()
    if rows == ["ok"]:
        return None
    return "; ".join(str(r) for r in rows)[:200]


def _is_corruption(message: str) -> bool:
    message = message.lower()
    return "malformed" in message or "not a database" in message or "corrupt" in message


def _signature(st: os.stat_result) -> list[int]:
    """The main file's identity and last change. Its WAL is left out: SQLite checksums every
    WAL frame and ignores a damaged one, so damage that quick_check finds lives in the main
    file, which changes only at checkpoints (not at every commit of a running daemon)."""
    return [st.st_ino, st.st_size, st.st_mtime_ns]


def _stamp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.checked")


def _last_checked(path: Path) -> list[int] | None:
    try:
        data = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("signature") if isinstance(data, dict) else None


def _remember(path: Path, signature: list[int]) -> None:
    """Best effort: a store in a read-only place is simply checked every time."""
    from agentcal.errors import AgentcalError
    from agentcal.files import write_file

    with contextlib.suppress(OSError, AgentcalError):
        write_file(
            _stamp_path(path),
            json.dumps({"signature": signature}).encode(),
            may_replace=lambda head: head.startswith(b'{"signature"'),
            what="agentcal's check stamp",
        )


# -- the schema revision --------------------------------------------------------------------


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    """Every schema revision this agentcal knows (its migration files' names)."""
    from agentcal.schema import migrations_dir

    return frozenset(p.stem for p in (migrations_dir() / "versions").glob("0*.py"))


def check_revision(revision: str | None, has_tables: bool, where: str) -> None:
    """Refuse a store this agentcal cannot use or upgrade."""
    if revision is not None and revision not in known_revisions():
        raise ConfigError(
            f"the database {where} was written by a newer agentcal (revision {revision}): "
            "upgrade agentcal, or point AGENTCAL_DATABASE_URL at another store"
        )
    if revision is None and has_tables:
        raise ConfigError(
            f"the database {where} holds agentcal's tables but no schema revision (its "
            f"alembic_version table is gone): {RESTORE}"
        )


# -- errors that happen later ---------------------------------------------------------------


def describe_failure(exc: BaseException, where: str | None = None) -> str | None:
    """One line for a database or file error a user can act on (disk full, read-only, damaged,
    locked, unreachable); None for anything else."""
    if isinstance(exc, OSError):
        from agentcal.files import os_error_message

        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
            return os_error_message(exc)
        return None
    orig: Any = getattr(exc, "orig", None) or exc
    text = str(orig).splitlines()[0] if str(orig) else type(orig).__name__
    lowered = text.lower()
    if not _is_database_error(orig):
        return None
    store = where or _store_name()
    if "disk is full" in lowered or "disk full" in lowered:
        return f"disk full while writing the database {store}: nothing was changed; free some space and retry"
    if _is_corruption(lowered):
        return str(damaged(store, text))
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return _unwritable(store)
    if "locked" in lowered or "busy" in lowered:
        return f"the database {store} stayed locked by another agentcal process: try again"
    if "could not connect" in lowered or "connection refused" in lowered:
        return f"cannot reach the database server: {text}"
    return None


def _unwritable(store: str) -> str:
    """Why SQLite could not open or write the store, as far as the file system tells."""
    fix = "(AGENTCAL_HOME or AGENTCAL_DATABASE_URL)"
    folder = os.path.dirname(store) or "."
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return f"cannot open the database {store}: its directory is missing {fix}"
    if read_only:
        return f"the database {store} is on a read-only file system: move the store {fix}"
    if not os.access(folder, os.W_OK) or not os.access(store, os.W_OK):
        return (
            f"the database {store} or its directory is read-only for you: fix the permissions {fix}"
        )
    return f"cannot open the database {store} for writing: check it and its directory {fix}"


def _is_database_error(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.Error):
        return True
    module = type(exc).__module__ or ""
    return module.startswith(("psycopg", "sqlalchemy"))


def _store_name() -> str:
    try:
        from agentcal.masking import mask
        from agentcal.settings import get_settings

        return mask(get_settings().db_url.removeprefix("sqlite:///"))
    except Exception:  # the settings themselves are the problem
        return "(AGENTCAL_DATABASE_URL)"
