"""`agentcal.basics` reads the settings every command needs without pydantic-settings: it must
agree with `Settings` on every way a user can set them, and fail with the same message."""

from __future__ import annotations

import pytest

from agentcal.basics import get_basics
from agentcal.errors import ConfigError
from agentcal.settings import get_settings, reset_settings

FIELDS = ("home", "database_url", "user", "timezone", "data_dir", "db_url")


def _both() -> tuple[dict, dict]:
    reset_settings()
    settings = get_settings()
    basics = get_basics()
    mine = {f: getattr(basics, f) for f in FIELDS}
    theirs = {f: getattr(settings, f) for f in FIELDS}
    return mine, theirs


@pytest.mark.parametrize(
    "env,dotenv",
    [
        ({}, ""),
        ({"AGENTCAL_TIMEZONE": "America/New_York", "AGENTCAL_USER": "bob"}, ""),
        ({}, "AGENTCAL_TIMEZONE=Asia/Tokyo\nAGENTCAL_USER='carol smith'\n"),
        ({"AGENTCAL_USER": "env-wins"}, "AGENTCAL_USER=dotenv-loses\n"),
        ({"AGENTCAL_HOME": ""}, "AGENTCAL_USER=\n"),  # empty is unset
        ({"AGENTCAL_USER": ""}, "AGENTCAL_USER=from-dotenv\n"),
        ({"agentcal_user": "lower-case"}, ""),
        ({}, 'export AGENTCAL_HOME="~/cal data"  # a comment\nagentcal_timezone=UTC\n'),
        ({"AGENTCAL_DATABASE_URL": "sqlite:////tmp/x.db"}, "AGENTCAL_HOME=/tmp/h\n"),
        ({}, "AGENTCAL_DATABASE_URL=postgresql+psycopg://u:p@h/db\nOTHER=1\n"),
    ],
)
def test_basics_agree_with_the_settings(agentcal_home, monkeypatch, tmp_path, env, dotenv):
    for name in ("AGENTCAL_HOME", "AGENTCAL_USER", "AGENTCAL_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    mine, theirs = _both()
    assert mine == theirs


@pytest.mark.parametrize(
    "name,value",
    [
        ("AGENTCAL_TIMEZONE", "Mars/Olympus"),
        ("AGENTCAL_HOME", "~nosuchuser-agentcal/x"),
    ],
)
def test_a_bad_value_gives_the_settings_message(agentcal_home, monkeypatch, name, value):
    # (An empty value is no value: see test_basics_agree_with_the_settings.)
    monkeypatch.setenv(name, value)
    reset_settings()
    with pytest.raises(ConfigError) as theirs:
        get_settings()
    with pytest.raises(ConfigError) as mine:
        get_basics()
    assert str(mine.value) == str(theirs.value)


def test_an_unreadable_env_file_gives_the_settings_message(agentcal_home, tmp_path):
    (tmp_path / ".env").write_bytes(b"AGENTCAL_USER=caf\xe9\n")  # the tests run in tmp_path
    reset_settings()
    with pytest.raises(ConfigError) as theirs:
        get_settings()
    with pytest.raises(ConfigError) as mine:
        get_basics()
    assert str(mine.value) == str(theirs.value) and "not UTF-8" in str(mine.value)
