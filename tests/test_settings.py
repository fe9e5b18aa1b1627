"""Settings: every variable documented in .env.example; the data dir override."""

import re

import pytest

from agentcal.masking import mask_secret, mask_url
from agentcal.settings import Settings, get_settings
from tests.conftest import ROOT


def _env_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias.choices[0] if alias is not None else f"AGENTCAL_{name.upper()}")
    return names


def test_env_example_documents_every_variable():
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^# ([A-Z_]+)=", text, flags=re.M))
    assert documented == _env_names()


def test_every_setting_has_a_description():
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


@pytest.mark.sqlite_only
def test_home_overrides_data_dir(agentcal_home):
    settings = get_settings()
    assert settings.data_dir == agentcal_home
    assert settings.db_url == f"sqlite:///{agentcal_home / 'agentcal.db'}"
    assert settings.ics_file == agentcal_home / "calendar.ics"


def test_offline_model_unless_key_or_base_url(monkeypatch):
    from agentcal.settings import reset_settings

    assert get_settings().uses_offline_model
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    reset_settings()
    assert not get_settings().uses_offline_model


def test_masking():
    assert mask_secret("sk-abcdefghijklmnop") == "****mnop"
    assert mask_secret("short") == "****"
    assert mask_secret(None) is None
    assert mask_url("postgresql://u:pw@h/db") == "postgresql://u:****@h/db"
    assert mask_url("sqlite:///x.db") == "sqlite:///x.db"
