"""Settings from environment variables and a `.env` file.

Every variable is documented in `.env.example`; `agentcal config show` prints them with
secrets masked. Nothing is read at import time: call `get_settings()`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentcal import basics
from agentcal.basics import APP_NAME as APP_NAME
from agentcal.errors import ConfigError
from agentcal.settings_paths import SettingsPaths


class Settings(SettingsPaths, BaseSettings):
    """All of agentcal's configuration. Field docs are the user-facing descriptions."""

    model_config = SettingsConfigDict(
        env_prefix=basics.ENV_PREFIX,
        env_file=basics.ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,  # AGENTCAL_HOME= means unset, not the current directory
        allow_inf_nan=False,
    )

    # Where things live
    home: Path | None = Field(
        None, description="Data directory (default: the platform's user data dir)."
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the store (default: sqlite file in the data dir)."
    )
    user: str = Field(
        default_factory=basics.default_user, description="Default user id for every command."
    )
    timezone: str = Field(
        default_factory=basics.default_timezone,
        description="IANA time zone of the user (and of users without a profile).",
    )

    # The model
    model: str = Field("gpt-4o-mini", description="Chat model name.")
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_API_KEY", "AGENTCAL_OPENAI_API_KEY"),
        description="API key for OpenAI or the OpenAI-compatible server.",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "AGENTCAL_OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible server (Ollama, vLLM, llama.cpp, LM Studio).",
    )
    llm_timeout: float = Field(
        60.0, gt=0, le=3600, description="Seconds before an LLM request times out."
    )
    llm_max_retries: int = Field(2, ge=0, le=10, description="Retries of a failed LLM request.")
    recursion_limit: int = Field(25, ge=2, le=200, description="Max agent steps in one turn.")
    history_tokens: int = Field(
        3500,
        ge=500,
        le=1_000_000,
        description="Conversation history a chat turn sends at most, in tokens (default sized "
        "for an 8k-context model); older turns are summarised, or dropped by the offline model.",
    )
    turn_timeout: float = Field(
        300.0,
        gt=0,
        description="Seconds a chat turn may take in all; then it stops before its next call.",
    )
    daily_budget_usd: float | None = Field(
        None,
        ge=0,
        le=1e9,
        description="Refuse a user's chat turns once their spend today reaches this (USD).",
    )
    price_overrides: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description=(
            'JSON prices per million tokens for custom models, e.g. {"my-llama": {"input": 0.1, '
            '"output": 0.2, "cached_input": 0.05}}.'
        ),
    )

    # The calendar
    calendar: Literal["local", "google", "caldav", "none"] = Field(
        "local", description="Calendar backend: local (ICS file), google, caldav or none."
    )
    ics_path: Path | None = Field(
        None, description="ICS file of the local backend (default: in the data dir)."
    )
    google_client_secrets: Path | None = Field(
        None, description="OAuth client secrets JSON for Google Calendar (installed app)."
    )
    google_token_file: Path | None = Field(
        None, description="Google OAuth token file (default: google-token.json in the data dir)."
    )
    google_calendar_id: str = Field("primary", description="Google calendar to write to.")
    google_api_endpoint: str | None = Field(
        None, description="Override of Google's API endpoint (tests, proxies)."
    )
    caldav_url: str | None = Field(None, description="CalDAV server or calendar URL.")
    caldav_username: str | None = Field(None, description="CalDAV user name.")
    caldav_password: SecretStr | None = Field(None, description="CalDAV password.")
    caldav_password_file: Path | None = Field(
        None, description="File holding the CalDAV password (must be mode 0600)."
    )
    caldav_calendar: str | None = Field(
        None, description="CalDAV calendar name (default: the first)."
    )
    calendar_timeout: float = Field(
        5.0,
        gt=0,
        le=120,
        description="Seconds to wait for the calendar server to connect or answer a request.",
    )

    # Habits and scheduling
    auto_schedule_threshold: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Insight confidence at or above which preferences auto-schedule.",
    )
    flex_window_minutes: int = Field(
        120, ge=0, le=720, description="How far a flexible event may move to avoid a conflict."
    )
    emit_days: int = Field(7, ge=1, le=90, description="Days ahead the emitter plans.")

    # Jobs and workers
    job_max_attempts: int = Field(5, ge=1, le=50, description="Attempts before a job is dead.")
    job_lease_seconds: int = Field(
        300, ge=5, le=7 * 86400, description="How long a claimed job is held."
    )
    worker_poll_seconds: float = Field(
        2.0, gt=0, le=3600, description="Idle wait between queue polls."
    )
    emit_interval_seconds: int = Field(
        3600, ge=10, le=7 * 86400, description="Daemon: how often the emitter runs."
    )
    heartbeat_seconds: float = Field(
        60.0,
        ge=0.1,
        le=3600,
        description="How often every worker says it is alive, idle or busy; three missed beats "
        "make it stale.",
    )
    alert_command: str | None = Field(
        None, description="Command run with each alert (text on stdin)."
    )
    alert_webhook: str | None = Field(None, description="URL that receives each alert as JSON.")

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        return basics.check_timezone(value)

    @field_validator("price_overrides", mode="before")
    @classmethod
    def _parse_overrides(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        return value

    @field_validator("price_overrides")
    @classmethod
    def _check_prices(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for model, prices in value.items():
            for kind, price in prices.items():
                if not 0 <= price <= 1e6:  # NaN fails too
                    raise ValueError(f"price {kind} of {model!r} must be 0..1000000 per million")
        return value

    @field_validator("home", "ics_path", "google_client_secrets", "caldav_password_file")
    @classmethod
    def _expand_user(cls, value: Path | None) -> Path | None:
        return basics.expand_user(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings; `reset_settings()` drops the cache (tests, config changes)."""
    from pydantic import ValidationError as PydanticValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings()
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        field, *inner = [str(p) for p in err.get("loc", ())] or ["settings"]
        name = field.upper() if field.upper().startswith("OPENAI_") else f"AGENTCAL_{field.upper()}"
        where = f" ({'.'.join(inner)})" if inner else ""
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"invalid setting {name}{where}: {message}") from None
    except (json.JSONDecodeError, SettingsError, RecursionError) as exc:
        field = "AGENTCAL_PRICE_OVERRIDES"
        cause = exc.__cause__ if isinstance(exc, SettingsError) else exc
        why = "nested too deep" if isinstance(cause, RecursionError) else str(cause or exc)
        raise ConfigError(f"invalid JSON in {field}: {why[:200]}") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise basics.env_file_error(exc) from None


def reset_settings() -> None:
    get_settings.cache_clear()
    basics.reset_basics()
