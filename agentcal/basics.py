"""The few settings every command needs (where the store is, whose data, which time zone),
read without pydantic-settings.

Importing pydantic-settings (it imports asyncio and ssl) and building the `Settings` model take
about 200 ms, three times what the rest of a read-only command such as `agentcal events list`
costs. These values come from the same variables, the same `.env` file and the same defaults
as `agentcal.settings.Settings` (names matched case-insensitively, the environment winning
over `.env`), and fail with the same message; tests/test_basics.py checks that both agree.
Everything else reads `get_settings()`.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentcal.errors import ConfigError

APP_NAME = "agentcal"
ENV_PREFIX = "AGENTCAL_"
ENV_FILE = ".env"


def default_timezone() -> str:
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # no tz database entry for the host: fall back to UTC
        name = None
    return name or "UTC"


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): one default user
        return "default"


def expand_user(value: Path | None) -> Path | None:
    """`~` and `~name` expanded; ValueError for a user this system does not know."""
    if value is None:
        return None
    try:
        return value.expanduser()
    except RuntimeError:  # ~name of a user this system does not know
        raise ValueError(f"cannot expand {value}: no such user; give a full path") from None


def env_file_error(exc: UnicodeDecodeError | OSError) -> ConfigError:
    """The one line for a `.env` file that cannot be read."""
    where = Path.cwd()
    if isinstance(exc, UnicodeDecodeError):
        return ConfigError(
            f"the .env file in {where} is not UTF-8 text ({exc.reason} at byte {exc.start}): "
            "save it as UTF-8"
        )
    return ConfigError(
        f"cannot read the .env file in {where} ({exc.strerror}): fix its permissions, or remove it"
    )


def check_timezone(value: str) -> str:
    """`value` if it names a time zone, else ValueError (the settings' validator)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def data_dir(home: Path | None) -> Path:
    """AGENTCAL_HOME, else the platform's user data dir."""
    if home is not None:
        return home.expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def database_url(url: str | None, home: Path | None) -> str:
    """AGENTCAL_DATABASE_URL, else the SQLite file in the data dir."""
    return url or f"sqlite:///{data_dir(home) / 'agentcal.db'}"


@dataclass(frozen=True)
class Basics:
    home: Path | None
    database_url: str | None
    user: str
    timezone: str

    @property
    def data_dir(self) -> Path:
        return data_dir(self.home)

    @property
    def db_url(self) -> str:
        return database_url(self.database_url, self.home)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@lru_cache(maxsize=1)
def _env_file_values() -> dict[str, str]:
    """The `.env` file's non-empty values by lower-case name (none without the file)."""
    if not os.path.isfile(ENV_FILE):
        return {}
    from dotenv import dotenv_values

    try:
        found = dotenv_values(ENV_FILE, encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise env_file_error(exc) from None
    return {name.lower(): value for name, value in found.items() if value}


def _set_values(prefix: str) -> dict[str, str]:
    """Values of the variables named `prefix...` (case-insensitive) by the rest of the name in
    lower case: `.env` first, the environment over it."""
    values = {
        name[len(prefix) :]: value
        for name, value in _env_file_values().items()
        if name.startswith(prefix)
    }
    for name, value in os.environ.items():
        # Empty is unset, as for Settings (env_ignore_empty): AGENTCAL_HOME= is not ".".
        if value and name.lower().startswith(prefix):
            values[name.lower()[len(prefix) :]] = value
    return values


@lru_cache(maxsize=1)
def raw_values() -> dict[str, str]:
    """AGENTCAL_* values by lower-case field name: `.env` first, the environment over it."""
    return _set_values(ENV_PREFIX.lower())


def model_configured() -> bool:
    """Whether OPENAI_API_KEY or OPENAI_BASE_URL is set (environment or `.env`): a real model."""
    found = _set_values("openai_")
    return "api_key" in found or "base_url" in found


@lru_cache(maxsize=1)
def get_basics() -> Basics:
    """The process's basics; `agentcal.settings.reset_settings()` drops the cache too."""
    raw = raw_values()
    timezone = raw.get("timezone")
    if timezone is None:
        timezone = default_timezone()
    # Checked in the order of the Settings fields, which report the first bad one.
    try:
        home = expand_user(Path(raw["home"])) if "home" in raw else None
    except ValueError as exc:
        raise ConfigError(f"invalid setting AGENTCAL_HOME: {exc}") from None
    try:
        check_timezone(timezone)
    except ValueError as exc:
        raise ConfigError(f"invalid setting AGENTCAL_TIMEZONE: {exc}") from None
    user = raw.get("user")
    return Basics(
        home=home,
        database_url=raw.get("database_url"),
        user=user if user is not None else default_user(),
        timezone=timezone,
    )


def reset_basics() -> None:
    _env_file_values.cache_clear()
    raw_values.cache_clear()
    get_basics.cache_clear()
