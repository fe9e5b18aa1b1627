"""Files agentcal writes: only its own, never through a link, private from the first byte.

Every file agentcal keeps (the ICS calendar, the Google token, the chat history, an export)
is written with `write_file`: the bytes go to a new temporary file in the same directory
(created 0600 with O_EXCL), are flushed to disk, and the temporary file is renamed over the
target, so readers see the old file or the new one, never half of one. A rename replaces a
link itself and never writes through it.

An existing target is replaced only when it is a regular file (`lstat`: not a symlink, FIFO,
device or directory), is not one of the store's files, and its first bytes say it is the kind
of file being written (`may_replace`): agentcal's own ICS for the calendar file, any ICS for
an export the user named on the command line, a JSON object for the token. Anything else is
refused with an `UnsafePathError` naming the problem and what to do. agentcal never chmods a
file it did not just create.

Files created in place (the SQLite store, the checkpoint store) go through `create_private`:
`O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600, and a link in the way is refused rather than
followed. Issue 12's per-user secret files use the same two functions.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from agentcal.errors import ConfigError

log = logging.getLogger(__name__)

HEAD_BYTES = 4096  # how much of an existing file the ownership checks look at
SQLITE_MAGIC = b"SQLite format 3\x00"
ICS_MAGIC = b"BEGIN:VCALENDAR"
AGENTCAL_PRODID = b"PRODID:-//agentcal//"
# Suffixes of the files SQLite keeps next to a database.
_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


class UnsafePathError(ConfigError):
    """agentcal refused to write a path that is not its own (a link, another program's file,
    the store itself)."""


# -- what an existing file is ---------------------------------------------------------------


def _strip(head: bytes) -> bytes:
    return head.removeprefix(b"\xef\xbb\xbf").lstrip()


def is_ics(head: bytes) -> bool:
    """An iCalendar document (any producer)."""
    return _strip(head).startswith(ICS_MAGIC)


def is_agentcal_ics(head: bytes) -> bool:
    """An iCalendar document agentcal wrote (its PRODID is in the first lines)."""
    return is_ics(head) and AGENTCAL_PRODID in head


def is_json_object(head: bytes) -> bool:
    return _strip(head).startswith(b"{")


def any_content(head: bytes) -> bool:
    return True


def read_head(path: Path, size: int = HEAD_BYTES) -> bytes:
    """The first bytes of a regular file, without following a link or blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        return os.read(fd, size)
    finally:
        os.close(fd)


def link_or_special(path: Path) -> str | None:
    """Why `path` is not a plain file agentcal may use (None: it is one, or does not exist)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link (agentcal never writes through a link it did not make)"
    if stat.S_ISDIR(st.st_mode):
        return "it is a directory"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    return None


def store_files() -> list[Path]:
    """The files of agentcal's own stores (SQLite database and checkpoints, with their WAL)."""
    from agentcal.quick_settings import quick_settings
    from agentcal.schema import sqlite_file

    settings = quick_settings()
    bases = [settings.checkpoint_path]
    db = sqlite_file(settings.db_url)
    if db is not None:
        bases.append(db)
    return [Path(f"{base}{suffix}") for base in bases for suffix in _SQLITE_SIDE_FILES]


def is_store_file(path: Path) -> bool:
    """Whether `path` is (a link or a second name of) one of the store's files."""
    try:
        target = os.stat(path)
    except OSError:
        return False
    for candidate in store_files():
        with contextlib.suppress(OSError):
            st = os.stat(candidate)
            if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                return True
    return False


def check_replaceable(
    path: Path, may_replace: Callable[[bytes], bool], *, what: str, fix: str
) -> None:
    """Raise `UnsafePathError` unless `path` is absent or a file agentcal may replace."""
    reason = link_or_special(path)
    if reason is None and path.exists():
        if is_store_file(path):
            reason = "it is agentcal's own database"
        else:
            head = read_head(path)
            if head.startswith(SQLITE_MAGIC):
                reason = "it is a SQLite database"
            elif head.strip() and not may_replace(head):
                reason = f"it is not {what}"
    if reason is not None:
        raise UnsafePathError(f"refusing to overwrite {path}: {reason}; {fix}")


# -- writing --------------------------------------------------------------------------------


def write_file(
    path: Path,
    data: bytes,
    *,
    mode: int = 0o600,
    may_replace: Callable[[bytes], bool] = any_content,
    what: str = "a file agentcal wrote",
    fix: str = "move it away or choose another path",
) -> None:
    """Write `data` to `path` atomically (see the module notes); the parent must exist.

    OSErrors (a full disk, a read-only directory) propagate with the target untouched and no
    temporary file left behind.
    """

    def fill(fd: int, _tmp: Path) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    replace_file(Path(path), fill, mode=mode, may_replace=may_replace, what=what, fix=fix)


def replace_file(
    path: Path,
    fill: Callable[[int, Path], object],
    *,
    mode: int = 0o600,
    may_replace: Callable[[bytes], bool] = any_content,
    what: str = "a file agentcal wrote",
    fix: str = "move it away or choose another path",
) -> None:
    """`write_file` with the content written by `fill(fd, tmp_path)` into the temporary file
    (by descriptor, or by name for writers that only take a path, such as readline's)."""
    check_replaceable(path, may_replace, what=what, fix=fix)
    # A short fixed prefix: the target's own name may already be near NAME_MAX.
    fd, tmp = tempfile.mkstemp(prefix=".agentcal-", suffix=".tmp", dir=path.parent)
    try:
        try:
            fill(fd, Path(tmp))
            os.fsync(fd)
            os.fchmod(fd, mode)  # our own new file
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def create_private(path: Path, *, what: str, fix: str) -> bool:
    """Create `path` empty with mode 0600 unless it exists; True if it was created here.

    A symlink (dangling or not) or a special file in its place is refused, never followed.
    """
    reason = link_or_special(path)
    if reason is not None:
        raise UnsafePathError(f"cannot use {path} as {what}: {reason}; {fix}")
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def tighten_own_file(path: Path, mode: int = 0o600) -> None:
    """Give a secret file of agentcal's (a regular file with one name, owned by this user, in
    its data dir) back its private mode. Links and shared files are left alone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    try:
        st = os.fstat(fd)
        if (
            stat.S_ISREG(st.st_mode)
            and st.st_nlink == 1
            and st.st_uid == os.geteuid()
            and stat.S_IMODE(st.st_mode) & 0o077
        ):
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


# -- describing failures --------------------------------------------------------------------


def os_error_message(exc: OSError, path: Path | str | None = None) -> str:
    """One line naming the problem with a file and what to do about it."""
    where = path if path is not None else (exc.filename or "a file")
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full while writing {where}: nothing was changed; free some space and retry"
    if code == errno.EROFS:
        return f"cannot write {where}: the file system is read-only"
    if code in (errno.EACCES, errno.EPERM):
        return f"cannot write {where}: permission denied"
    if code == errno.ENAMETOOLONG:
        return f"cannot write {str(where)[:80]}...: the file name is too long"
    if code == errno.ENOENT:
        return f"cannot write {where}: its directory does not exist"
    if code == errno.ENOTDIR:
        return f"cannot write {where}: a part of the path is not a directory"
    if code == errno.EISDIR:
        return f"cannot write {where}: it is a directory"
    return f"cannot write {where}: {exc.strerror or exc}"
