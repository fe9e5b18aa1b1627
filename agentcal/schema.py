"""Where the store's schema and file are: the newest migration, the Alembic scripts, and the
file of a plain SQLite URL.

A leaf module (nothing from agentcal), so that opening the store — `db` makes the file with
`files`, `storecheck` checks it, `reader` reads it — needs no import cycle between them.
Adding a migration means updating SCHEMA_HEAD here.
"""

from __future__ import annotations

from pathlib import Path

# The newest migration. A database already at this revision skips Alembic entirely (fast
# start); tests/test_migrations.py checks that this matches the migrations' head.
SCHEMA_HEAD = "0010_chat_threads"


def migrations_dir() -> Path:
    """The Alembic scripts: inside the installed wheel, or `migrations/` of a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "_migrations"
    if packaged.is_dir():
        return packaged
    return here.parent / "migrations"


def sqlite_file(url: str) -> Path | None:
    """The file of a plain `sqlite:///path` URL; None for any other URL (or one with options)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :]
    if not path or path == ":memory:" or path.startswith("file:") or any(c in path for c in "?%"):
        return None
    return Path(path).expanduser()
