"""Where each person's files live in the data dir: their ICS calendar and their secrets.

The configured user (AGENTCAL_USER) keeps the names a single-person installation always had
(`calendar.ics` or AGENTCAL_ICS_PATH, `google-token.json`); everyone else gets
`calendar.<stem>.ics`, `google-token.<stem>.json`, and every user's CalDAV password set with
`agentcal users edit` is `caldav-password.<stem>`. Secret files are mode 0600.

`file_stem` is one-to-one: two user ids never share a file. An id made only of characters that
are safe in a file name on every platform (lower-case letters, digits, `_`, `.`, `-`; not
starting with a dot; at most 64 characters) is its own stem, as it always was. Any other id
(`a/b`, `a b`, `Bob`, which a case-insensitive file system would confuse with `bob`) gets a
readable prefix plus `~` and a hash of the whole id; `~` never occurs in a plain stem, so the
two kinds cannot meet.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentcal.quick_settings import AnySettings

_PLAIN = re.compile(r"[a-z0-9_.-]{1,64}")
_UNSAFE = re.compile(r"[^a-z0-9_.-]+")


def file_stem(user_id: str) -> str:
    """The part of a file name that stands for `user_id` (safe, and unique per id)."""
    if _PLAIN.fullmatch(user_id) and not user_id.startswith("."):
        return user_id
    readable = _UNSAFE.sub("_", user_id.lower())[:40].lstrip(".")
    digest = hashlib.sha256(user_id.encode("utf-8")).hexdigest()[:16]
    return f"{readable}~{digest}"


def is_configured(settings: AnySettings, user_id: str) -> bool:
    return user_id == settings.user


def ics_path(settings: AnySettings, user_id: str) -> Path:
    """The local backend's calendar file for `user_id`."""
    base = settings.ics_file
    if is_configured(settings, user_id):
        return base
    return base.with_name(f"{base.stem}.{file_stem(user_id)}{base.suffix}")


def google_token_path(settings: AnySettings, user_id: str) -> Path:
    """The user's Google OAuth token (access + refresh token), mode 0600."""
    if is_configured(settings, user_id):
        return settings.google_token_path
    return settings.data_dir / f"google-token.{file_stem(user_id)}.json"


def caldav_password_path(settings: AnySettings, user_id: str) -> Path:
    """The user's CalDAV password, as `agentcal users edit --caldav-password-file` stored it."""
    return settings.data_dir / f"caldav-password.{file_stem(user_id)}"


def all_caldav_password_files(settings: AnySettings) -> list[Path]:
    """Every user's CalDAV password file (what the masking function hides in any output)."""
    if not settings.data_dir.is_dir():
        return []
    return sorted(settings.data_dir.glob("caldav-password.*"))


def secret_files(settings: AnySettings, user_id: str) -> list[Path]:
    """The user's secret files that exist (what `users remove --purge` deletes)."""
    paths = [google_token_path(settings, user_id), caldav_password_path(settings, user_id)]
    return [p for p in paths if p.exists()]


MAX_SECRET_BYTES = 4096


def read_private_file(path: Path, what: str) -> str:
    """A secret from a file only its owner can read (mode 0600 or stricter), first line kept
    whole, trailing newline dropped. Anything else is one ValidationError line."""
    import os
    import stat

    from agentcal.errors import ValidationError

    path = Path(path).expanduser()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ValidationError(f"cannot read the {what} {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValidationError(f"the {what} {path} is not a regular file")
        mode = stat.S_IMODE(st.st_mode)
        if mode & 0o077:
            raise ValidationError(
                f"the {what} {path} has mode {mode:04o}, readable by others: "
                f"run `chmod 600 {path}` first"
            )
        data = os.read(fd, MAX_SECRET_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_SECRET_BYTES:
        raise ValidationError(f"the {what} {path} is larger than {MAX_SECRET_BYTES} bytes")
    try:
        text = data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise ValidationError(f"the {what} {path} is not UTF-8 text") from None
    if not text or "\n" in text or "\x00" in text:
        raise ValidationError(f"the {what} {path} must hold one line: the password")
    return text
