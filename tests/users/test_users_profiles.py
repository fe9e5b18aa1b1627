"""Profiles: who gets which settings, the per-user files, and upgrading a store that already
holds several people's data."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentcal import user_files
from agentcal.calendars import get_backend
from agentcal.calendars.local import LocalCalendar
from agentcal.calendars.none import NoCalendar
from agentcal.errors import ConflictError, NotFoundError, ValidationError
from agentcal.planning.preferences import calendar_preferences_service
from agentcal.settings import get_settings, reset_settings
from agentcal.users.profiles import settings_for, user_profiles_service, user_timezone

profiles = user_profiles_service


@pytest.fixture
def alice_on_caldav(monkeypatch):  # type: ignore[no-untyped-def]
    """The configured user's environment: CalDAV with a password, Google secrets."""
    monkeypatch.setenv("AGENTCAL_CALENDAR", "caldav")
    monkeypatch.setenv("AGENTCAL_CALDAV_URL", "https://dav.example.com/alice/")
    monkeypatch.setenv("AGENTCAL_CALDAV_USERNAME", "alice")
    monkeypatch.setenv("AGENTCAL_CALDAV_PASSWORD", "alice-password")
    monkeypatch.setenv("AGENTCAL_DAILY_BUDGET_USD", "2.5")
    reset_settings()


def test_the_configured_user_without_a_profile_keeps_the_environment(alice_on_caldav):
    assert settings_for("alice") is get_settings()  # exactly as a single-person install
    p = profiles.profile_for("alice")
    assert (p.calendar, p.caldav_url, p.timezone, p.source) == (
        "caldav", "https://dav.example.com/alice/", "Europe/Paris", "environment"
    )  # fmt: skip


def test_anyone_else_without_a_profile_gets_the_local_calendar_never_the_configured_account(
    alice_on_caldav,
):
    bob = settings_for("bob")
    assert bob.calendar == "local" and bob.user == "bob"
    assert bob.caldav_url is None and bob.caldav_username is None
    assert bob.caldav_password is None and bob.caldav_password_file is None
    assert bob.google_token_path != get_settings().google_token_path
    assert bob.ics_file.name == "calendar.bob.ics"
    # The zone and the budget are installation defaults.
    assert (bob.timezone, bob.daily_budget_usd) == ("Europe/Paris", 2.5)
    backend = get_backend(bob)
    assert isinstance(backend, LocalCalendar) and backend.ics_path() == bob.ics_file
    assert profiles.profile_for("bob").source == "defaults"


def test_a_profile_overrides_and_its_empty_fields_never_borrow_the_configured_account(
    alice_on_caldav,
):
    profiles.add("bob", timezone="Pacific/Auckland", calendar="caldav",
                 caldav_url="https://dav.example.com/bob/", daily_budget_usd=0.5)  # fmt: skip
    bob = settings_for("bob")
    assert (bob.timezone, bob.calendar, bob.caldav_url) == (
        "Pacific/Auckland", "caldav", "https://dav.example.com/bob/"
    )  # fmt: skip
    assert bob.caldav_username is None and bob.caldav_password is None  # not alice's
    assert bob.daily_budget_usd == 0.5
    assert user_timezone("bob") == "Pacific/Auckland"
    # The configured user's profile falls back to the environment for what it leaves empty.
    profiles.add("alice", timezone="America/New_York")
    alice = settings_for("alice")
    assert alice.timezone == "America/New_York"
    assert (alice.calendar, alice.caldav_username) == ("caldav", "alice")
    assert alice.caldav_password is not None
    assert alice.google_token_path == get_settings().google_token_path  # google-token.json


def test_a_password_set_with_users_edit_goes_to_the_users_own_0600_file(alice_on_caldav):
    profiles.add("bob", calendar="caldav", caldav_url="https://dav.example.com/bob/")
    profiles.edit("bob", caldav_password="bob-password")
    path = user_files.caldav_password_path(get_settings(), "bob")
    assert path.read_text() == "bob-password"
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert settings_for("bob").caldav_password_file == path
    from agentcal.calendars._caldav_http import read_password

    assert read_password(settings_for("bob")) == "bob-password"
    assert read_password(settings_for("alice")) == "alice-password"


def test_calendar_none_syncs_nowhere():
    profiles.add("frank", calendar="none")
    assert isinstance(profiles.backend_for("frank"), NoCalendar)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"timezone": ""}, "time zone must be an IANA name"),
        ({"timezone": "localtime"}, "unknown time zone"),
        ({"timezone": "right/UTC"}, "unknown time zone"),
        ({"calendar": "outlook"}, "calendar must be one of local, google, caldav, none"),
        ({"calendar": "caldav"}, "no CalDAV URL is set"),
        ({"caldav_url": "ftp://x"}, "CalDAV URL must be an http(s) URL"),
        ({"daily_budget_usd": -1}, "budget must not be negative"),
        ({"display_name": "a\nb"}, "must not contain control characters"),
    ],
)
def test_bad_profiles_are_refused_and_nothing_is_written(values, message, snapshot):
    before = snapshot()
    with pytest.raises(ValidationError, match=re.escape(message)):
        profiles.add("bob", **values)
    assert snapshot() == before


@pytest.mark.parametrize("user", ["", "   ", "x" * 129, "a\tb"])
def test_bad_user_ids_are_refused(user, snapshot):
    before = snapshot()
    with pytest.raises(ValidationError):
        profiles.add(user)
    assert snapshot() == before


def test_a_user_id_of_128_characters_is_fine_and_its_files_have_short_names():
    user = "é" * 128
    profiles.add(user)
    assert profiles.profile_for(user).stored
    settings = get_settings()
    for path in (user_files.ics_path(settings, user), user_files.google_token_path(settings, user)):
        assert len(path.name.encode()) < 100


def test_add_twice_conflicts_and_remove_of_nobody_is_not_found():
    profiles.add("bob")
    with pytest.raises(ConflictError):
        profiles.add("bob")
    with pytest.raises(NotFoundError):
        profiles.remove("nobody")


def test_user_ids_that_a_file_name_would_confuse_get_separate_files():
    settings = get_settings()
    users = ["a/b", "a_b", "a b", "A_b", "a\\b", "a:b", "../a_b", ".a_b", "a_b~x"]
    paths = {user_files.ics_path(settings, u) for u in users}
    assert len(paths) == len(users)
    assert all(p.parent == settings.data_dir for p in paths)
    assert user_files.ics_path(settings, "a_b").name == "calendar.a_b.ics"  # as it always was


@given(st.text(min_size=1, max_size=128), st.text(min_size=1, max_size=128))
def test_file_stems_are_safe_and_one_to_one(a, b):
    for stem in (user_files.file_stem(a), user_files.file_stem(b)):
        assert re.fullmatch(r"[a-z0-9_.~-]{1,64}", stem) and not stem.startswith(".")
        # Case-insensitive file systems (macOS, Windows) must not merge two users either.
        assert stem == stem.lower()
    if a != b:
        assert user_files.file_stem(a) != user_files.file_stem(b)


def test_each_users_ics_file_holds_only_their_events():
    from agentcal.planning.events import calendar_events_service
    from agentcal.planning.push import calendar_push_service
    from tests.event_snapshots import T0

    users = ["a/b", "a_b", "a b"]
    uids = {}
    for n, user in enumerate(users):
        event = calendar_events_service.create_event(
            user_id=user, title=f"Event of {user}", start=T0, duration_minutes=30 + n
        )
        uids[user] = event.uid
        calendar_push_service.push_pending(user)
    for user in users:
        text = settings_for(user).ics_file.read_text()
        assert [u for u in uids.values() if u in text] == [uids[user]]


def test_a_store_with_several_peoples_data_upgrades_and_resolves_them(engine, alice_on_caldav):
    """A store from before profiles (0003), where bob's events went to alice's calendar, is
    upgraded in place; afterwards bob is on his own local calendar, alice keeps hers."""
    from alembic import command
    from sqlalchemy import text

    from agentcal.db import SCHEMA_HEAD, alembic_config, current_revision, dispose_engines
    from agentcal.planning.events import calendar_events_service
    from tests.event_snapshots import T0

    cfg = alembic_config(engine)
    # The data is written with today's models, then the store goes back to 0003 with it (the
    # services write columns that later migrations add).
    for user in ("alice", "bob", "carol"):
        calendar_preferences_service.create_preference(
            user_id=user, preference_type="gym", start_time="06:00", duration_minutes=60
        )
        calendar_events_service.create_event(
            user_id=user, title="Dentist", start=T0, duration_minutes=30, timezone="UTC"
        )
    command.downgrade(cfg, "0003_monitoring")

    def rows() -> dict[str, int]:
        with engine.connect() as conn:
            return {
                t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("calendar_preferences", "calendar_events", "jobs")
            }

    before = rows()
    dispose_engines()
    assert profiles.list_profiles()  # the next use upgrades the store
    assert current_revision(engine) == SCHEMA_HEAD
    assert rows() == before
    assert [p.user_id for p in profiles.list_profiles()] == ["alice", "bob", "carol"]
    assert settings_for("alice").calendar == "caldav"
    assert {settings_for(u).calendar for u in ("bob", "carol")} == {"local"}
    command.downgrade(cfg, "0003_monitoring")  # and back, keeping the data
    assert rows() == before


def test_sync_health_counts_failures_since_the_last_success():
    from datetime import UTC, datetime, timedelta

    from agentcal.health.sync_health import sync_health

    t0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    sync_health.record("bob", "caldav", now=t0)
    sync_health.record("carol", "google", now=t0)
    assert sync_health.failing() == []
    sync_health.record("bob", "caldav", error="HTTP 503", now=t0 + timedelta(minutes=5))
    sync_health.record("bob", "caldav", error="password=hunter2!", now=t0 + timedelta(minutes=9))
    [bob] = sync_health.failing()
    assert (bob.user_id, bob.backend, bob.failures) == ("bob", "caldav", 2)
    assert bob.failing_since == t0 + timedelta(minutes=5) and bob.last_success_at == t0
    assert "hunter2" not in (bob.last_error or "")  # masked like every job error
    sync_health.record("bob", "caldav", now=t0 + timedelta(minutes=20))
    assert sync_health.failing() == []


def test_costs_and_logs_read_a_users_dates_in_their_own_zone(cli):
    """bob lives in Auckland (the installation in Paris): his "2025-03-31" is his day, as his
    budget counts it; --all-users keeps the installation's days."""
    import json
    from datetime import UTC, datetime

    from agentcal.observability.calls import agent_observability_service

    assert cli("users", "add", "bob", "--timezone", "Pacific/Auckland").exit_code == 0
    # 12:00Z on 2025-03-30 is 14:00 on the 30th in Paris and 01:00 on the 31st in Auckland.
    agent_observability_service.log_agent_call(
        user_id="bob", created_at=datetime(2025, 3, 30, 12, 0, tzinfo=UTC), llm_model="gpt-4o",
        agent_action="create", status="ok", llm_prompt_tokens=7, llm_completion_tokens=1,
        llm_cost_usd=0.5, user_message="bob's call",
    )  # fmt: skip

    def counted(*args: str) -> tuple[int, int]:
        costs = cli("costs", "--json", *args)
        logs = cli("logs", "list", "--json", *args)
        assert costs.exit_code == 0 and logs.exit_code == 0, costs.output + logs.output
        return json.loads(costs.stdout)["totals"]["calls"], len(json.loads(logs.stdout))

    assert counted("--user", "bob", "--since", "2025-03-31", "--until", "2025-03-31") == (1, 1)
    assert counted("--user", "bob", "--since", "2025-03-30", "--until", "2025-03-30") == (0, 0)
    assert counted("--all-users", "--since", "2025-03-30", "--until", "2025-03-30") == (1, 1)
    by_day = json.loads(cli("costs", "--json", "--user", "bob", "--by", "day").stdout)
    assert [(g["key"], g["calls"]) for g in by_day["groups"]] == [("2025-03-31", 1)]
    assert by_day["timezone"] == "Pacific/Auckland"
