"""`agentcal.quick_settings` gives a chat turn its settings without pydantic-settings on an
ordinary installation: the same values as `Settings` for every input it parses, `Settings`
itself for anything else, and `get_settings()`' one-line error for every bad value."""

from __future__ import annotations

import pytest
from annotated_types import Ge, Gt, Le

from agentcal.errors import ConfigError
from agentcal.quick_settings import (
    BOUNDS,
    OTHER_FIELDS,
    PARSED,
    QuickSettings,
    quick_settings,
)
from agentcal.settings import Settings, get_settings, reset_settings

DERIVED = ("data_dir", "db_url", "ics_file", "checkpoint_path", "google_token_path",
           "uses_offline_model", "tz")  # fmt: skip
# Settings fields and properties a chat turn, a profile or a price reads (and the defaults
# QuickSettings answers from get_settings()).
READ = (*PARSED, "openai_api_key", "openai_base_url", "price_overrides", "google_calendar_id",
        "caldav_url", "caldav_username", "caldav_calendar", "caldav_password",
        "caldav_password_file", "ics_path", "google_token_file", "llm_timeout",
        "auto_schedule_threshold", "emit_days", *DERIVED)  # fmt: skip


def _set(monkeypatch, tmp_path, env: dict[str, str], dotenv: str) -> None:
    for name in ("AGENTCAL_HOME", "AGENTCAL_USER", "AGENTCAL_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    reset_settings()


@pytest.mark.parametrize(
    "env,dotenv",
    [
        ({}, ""),
        ({"AGENTCAL_TIMEZONE": "America/New_York", "AGENTCAL_USER": "bob"}, ""),
        ({}, "AGENTCAL_TIMEZONE=Asia/Tokyo\nAGENTCAL_USER='carol smith'\n"),
        ({"AGENTCAL_USER": "env-wins"}, "AGENTCAL_USER=dotenv-loses\n"),
        ({"AGENTCAL_HOME": "", "AGENTCAL_HISTORY_TOKENS": ""}, "AGENTCAL_USER=\n"),  # unset
        ({"agentcal_history_tokens": "500", "AGENTCAL_RECURSION_LIMIT": "200"}, ""),
        ({"AGENTCAL_HISTORY_TOKENS": "1000000", "AGENTCAL_RECURSION_LIMIT": "2"}, ""),
        ({"AGENTCAL_TURN_TIMEOUT": "0.25", "AGENTCAL_DAILY_BUDGET_USD": "0"}, ""),
        ({"AGENTCAL_TURN_TIMEOUT": "86400"}, "AGENTCAL_DAILY_BUDGET_USD=1000000000\n"),
        ({}, "export AGENTCAL_DAILY_BUDGET_USD='2.50'  # a comment\nAGENTCAL_MODEL=my llama\n"),
        ({"AGENTCAL_CALENDAR": "none"}, "AGENTCAL_CALENDAR=caldav\n"),
        ({"AGENTCAL_CALENDAR": "google", "AGENTCAL_DEBUG": "1", "AGENTCAL_LOG_LEVEL": "x"}, ""),
        ({}, 'export AGENTCAL_HOME="~/cal data"\nagentcal_timezone=UTC\n'),
        ({"AGENTCAL_DATABASE_URL": "sqlite:////tmp/x.db"}, "AGENTCAL_HOME=/tmp/h\nOTHER=1\n"),
        ({"OPENAI_API_KEY": ""}, "OPENAI_BASE_URL=\n"),  # empty is unset: the offline model
    ],
)
def test_quick_values_are_the_settings_values(monkeypatch, tmp_path, env, dotenv):
    _set(monkeypatch, tmp_path, env, dotenv)
    quick = quick_settings()
    assert isinstance(quick, QuickSettings)  # the quick path, not get_settings() itself
    settings = get_settings()
    assert {n: getattr(quick, n) for n in READ} == {n: getattr(settings, n) for n in READ}


@pytest.mark.parametrize(
    "env,dotenv",
    [
        ({"OPENAI_API_KEY": "sk-test"}, ""),  # a real model
        ({"openai_base_url": "http://127.0.0.1:9/v1"}, ""),
        ({}, "OPENAI_BASE_URL=http://127.0.0.1:9/v1\n"),
        ({"AGENTCAL_OPENAI_API_KEY": "sk-test"}, ""),
        ({"AGENTCAL_EMIT_DAYS": "3"}, ""),  # any other setting
        ({}, "AGENTCAL_CALDAV_URL=http://127.0.0.1:9/\n"),
        ({"AGENTCAL_PRICE_OVERRIDES": '{"m": {"input": 1}}'}, ""),
        ({"AGENTCAL_HISTORY_TOKENS": "1_000"}, ""),  # numbers in any other form
        ({"AGENTCAL_HISTORY_TOKENS": " 600"}, ""),
        ({"AGENTCAL_RECURSION_LIMIT": "010"}, ""),
        ({"AGENTCAL_TURN_TIMEOUT": "1e3"}, ""),
        ({"AGENTCAL_TURN_TIMEOUT": "5."}, ""),
        ({"AGENTCAL_DAILY_BUDGET_USD": "+3"}, ""),
    ],
)
def test_anything_else_is_get_settings(monkeypatch, tmp_path, env, dotenv):
    _set(monkeypatch, tmp_path, env, dotenv)
    try:
        expected = get_settings()
    except ConfigError:
        expected = None  # not valid for Settings either: the next test's business
    if expected is not None:
        assert quick_settings() is expected


def _the_settings_error() -> str:
    """get_settings()' error, checked to be quick_settings()' too."""
    reset_settings()
    with pytest.raises(ConfigError) as theirs:
        get_settings()
    reset_settings()
    with pytest.raises(ConfigError) as mine:
        quick_settings()
    assert str(mine.value) == str(theirs.value)
    return str(theirs.value)


@pytest.mark.parametrize(
    "name,value",
    [
        ("AGENTCAL_HISTORY_TOKENS", "499"),
        ("AGENTCAL_HISTORY_TOKENS", "lots"),
        ("AGENTCAL_HISTORY_TOKENS", "1" * 30),
        ("AGENTCAL_RECURSION_LIMIT", "201"),
        ("AGENTCAL_RECURSION_LIMIT", "2.5"),
        ("AGENTCAL_TURN_TIMEOUT", "0"),
        ("AGENTCAL_TURN_TIMEOUT", "inf"),
        ("AGENTCAL_TURN_TIMEOUT", "1" * 400),  # a plain decimal that overflows to inf
        ("AGENTCAL_DAILY_BUDGET_USD", "-1"),
        ("AGENTCAL_DAILY_BUDGET_USD", "1000000000.5"),
        ("AGENTCAL_DAILY_BUDGET_USD", "nan"),
        ("AGENTCAL_CALENDAR", "Local"),
        ("AGENTCAL_TIMEZONE", "Mars/Olympus"),
        ("AGENTCAL_HOME", "~nosuchuser-agentcal/x"),
        ("AGENTCAL_PRICE_OVERRIDES", "{not json"),
        ("AGENTCAL_EMIT_DAYS", "0"),
    ],
)
def test_a_bad_value_gives_the_settings_error(cli, monkeypatch, snapshot, name, value):
    monkeypatch.setenv(name, value)
    error = _the_settings_error()
    before = snapshot()
    result = cli("chat", "-m", "hello")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {error}\n"
    assert result.stdout == ""
    assert snapshot() == before


def test_an_unreadable_env_file_gives_the_settings_error(tmp_path):
    (tmp_path / ".env").write_bytes(b"AGENTCAL_MODEL=caf\xe9\n")  # the tests run in tmp_path
    assert "not UTF-8" in _the_settings_error()


def test_the_fields_and_bounds_are_those_of_settings():
    assert set(Settings.model_fields) == PARSED | OTHER_FIELDS
    assert not PARSED & OTHER_FIELDS
    for name, (kind, ge, gt, le) in BOUNDS.items():
        info = Settings.model_fields[name]
        assert info.annotation in (kind, kind | None), name
        found = {type(m): m for m in info.metadata}
        bounds = [getattr(found.get(c), a, None) for c, a in ((Ge, "ge"), (Gt, "gt"), (Le, "le"))]
        assert bounds == [ge, gt, le], name
    defaults = Settings.model_construct()  # no environment: the declared defaults
    for name in QuickSettings.__dataclass_fields__:
        if name not in ("home", "database_url", "user", "timezone"):
            assert getattr(QuickSettings(None, None, "u", "UTC"), name) == getattr(
                defaults, name
            ), name


def test_user_settings_of_another_user_agree(monkeypatch, tmp_path):
    """A user with a profile: the chat's settings are theirs, as `settings_for` gives them."""
    from agentcal.users.profiles import user_profiles_service as users

    users.add("bob", timezone="Asia/Tokyo", daily_budget_usd=2.0)
    monkeypatch.setenv("AGENTCAL_HISTORY_TOKENS", "900")
    reset_settings()
    quick = users.quick_settings_for("bob")
    assert isinstance(quick, QuickSettings)
    full = users.settings_for("bob")
    assert {n: getattr(quick, n) for n in READ} == {n: getattr(full, n) for n in READ}
    assert quick.timezone == "Asia/Tokyo" and quick.daily_budget_usd == 2.0
