"""The settings of an ordinary installation, read without pydantic-settings.

Importing pydantic-settings and building `Settings` cost a chat turn ~20 ms of CPU even after
LangChain has imported pydantic (bench/bench_commands.py). Most installations set a handful of
variables with plain values: where the store is, whose data, the time zone, maybe a budget or
a history size. When that is all (every Settings variable set is one of `PARSED`, with a value
in the simple form below, and no OpenAI key or URL: the offline model), `quick_settings()`
parses them here; otherwise it is `get_settings()` itself, so anything unusual (a real model,
a calendar account, `1_000` or ` 5` for a number, a value out of range) gets exactly
`get_settings()`' value or its one-line error. Every other attribute of the quick settings
(llm_timeout, emit_days...) is the default, read from `get_settings()` when first asked for.

tests/test_quick_settings.py checks the values against `Settings` for many inputs, the bounds
and field names against `Settings.model_fields`, and the errors of bad values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, Union

from agentcal import basics
from agentcal.settings_paths import SettingsPaths

if TYPE_CHECKING:
    from agentcal.settings import Settings

    AnySettings = Union[Settings, "QuickSettings"]  # noqa: UP007 (a forward reference)

_INT = re.compile(r"0|[1-9][0-9]{0,17}")
_FLOAT = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,17})?")
CALENDARS = ("local", "google", "caldav", "none")

# The numeric fields parsed here, with Settings' bounds: (kind, ge, gt, le).
BOUNDS: dict[str, tuple[type, float | None, float | None, float | None]] = {
    "recursion_limit": (int, 2, None, 200),
    "history_tokens": (int, 500, None, 1_000_000),
    "turn_timeout": (float, None, 0, None),
    "daily_budget_usd": (float, 0, None, 1e9),
}
# Variables read as they are (basics checks home and timezone).
PLAIN = ("home", "database_url", "user", "timezone", "model", "calendar")
PARSED = frozenset((*PLAIN, *BOUNDS))
# Every other Settings field: one of them set means `get_settings()` (test: all of Settings).
OTHER_FIELDS = frozenset({
    "openai_api_key", "openai_base_url", "llm_timeout", "llm_max_retries", "price_overrides",
    "ics_path", "google_client_secrets", "google_token_file", "google_calendar_id",
    "google_api_endpoint", "caldav_url", "caldav_username", "caldav_password",
    "caldav_password_file", "caldav_calendar", "calendar_timeout", "auto_schedule_threshold",
    "flex_window_minutes", "emit_days", "job_max_attempts", "job_lease_seconds",
    "worker_poll_seconds", "emit_interval_seconds", "heartbeat_seconds", "alert_command",
    "alert_webhook",
})  # fmt: skip
MODEL_VARIABLES = ("openai_api_key", "openai_base_url")  # read without the AGENTCAL_ prefix too


@dataclass(frozen=True)
class QuickSettings(SettingsPaths):
    """The settings a chat turn, a profile or a price reads, equal to `Settings`' values."""

    home: Path | None
    database_url: str | None
    user: str
    timezone: str
    model: str = "gpt-4o-mini"
    recursion_limit: int = 25
    history_tokens: int = 3500
    turn_timeout: float = 300.0
    daily_budget_usd: float | None = None
    calendar: str = "local"
    # Unset here (else get_settings()), but `user_settings` gives each user their own.
    ics_path: Path | None = None
    google_token_file: Path | None = None
    google_calendar_id: str = "primary"
    caldav_url: str | None = None
    caldav_username: str | None = None
    caldav_calendar: str | None = None
    caldav_password: Any = None
    caldav_password_file: Path | None = None
    openai_api_key: Any = None
    openai_base_url: str | None = None
    price_overrides: dict[str, dict[str, float]] = field(default_factory=dict)

    def model_copy(self, *, update: dict[str, Any]) -> Self:
        """A copy with `update` applied, as `Settings.model_copy` (user_settings)."""
        return replace(self, **update)

    def __getattr__(self, name: str) -> Any:
        # Only for names that are not fields here: defaults, since none of them is set.
        if name.startswith("_"):
            raise AttributeError(name)
        from agentcal.settings import get_settings

        return getattr(get_settings(), name)


def quick_settings() -> AnySettings:
    """The settings: `QuickSettings` on an ordinary installation, else `get_settings()`."""
    quick = _quick()
    if quick is not None:
        return quick
    from agentcal.settings import get_settings

    return get_settings()


def _quick() -> QuickSettings | None:
    """`QuickSettings` when every variable set is parsed here, else None. Raises only what
    `get_settings()` raises for the same input (basics: an unreadable .env, HOME, TIMEZONE).
    Not cached: it reads basics' cached values (which `reset_settings()` drops) in a few µs."""
    raw = basics.raw_values()
    if raw.keys() & OTHER_FIELDS or basics.model_configured():
        return None
    values: dict[str, Any] = {}
    for name, (kind, ge, gt, le) in BOUNDS.items():
        if name in raw:
            number = _number(raw[name], kind, ge, gt, le)
            if number is None:
                return None  # get_settings() says what is wrong with it, or reads it its way
            values[name] = number
    if "calendar" in raw:
        if raw["calendar"] not in CALENDARS:
            return None
        values["calendar"] = raw["calendar"]
    if "model" in raw:
        values["model"] = raw["model"]
    b = basics.get_basics()
    return QuickSettings(
        home=b.home, database_url=b.database_url, user=b.user, timezone=b.timezone, **values
    )


def _number(
    text: str, kind: type, ge: float | None, gt: float | None, le: float | None
) -> float | None:
    """`text` as Settings reads it when it is a plain decimal within the bounds, else None."""
    pattern = _INT if kind is int else _FLOAT
    if not pattern.fullmatch(text):
        return None
    convert: Callable[[str], float] = int if kind is int else float
    value = convert(text)
    if not math.isfinite(value):
        return None
    if (ge is not None and value < ge) or (gt is not None and value <= gt):
        return None
    if le is not None and value > le:
        return None
    return value
