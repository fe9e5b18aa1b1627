"""`agentcal users` and `agentcal auth --user`: run as a user would, checking what reached the
store and the data dir, and that no secret ever reaches the output."""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select

from agentcal import user_files
from agentcal.db import session_scope
from agentcal.models import CalendarEvent, Job
from agentcal.planning.preferences import calendar_preferences_service
from agentcal.queue.jobs import job_queue
from agentcal.settings import get_settings
from agentcal.users.profiles import settings_for, user_profiles_service
from agentcal.workers.runner import JobWorker
from tests.google_server import FakeGoogleCalendar, token_json

SECRET = "correct-horse-battery-staple"


def _listing(home: Path) -> dict[str, int]:
    """The data dir's files and their sizes (the store excluded: snapshot() covers it)."""
    return {
        p.name: p.stat().st_size
        for p in home.iterdir()
        if p.is_file() and not p.name.startswith("agentcal.db")
    }


def _password_file(tmp_path: Path, mode: int = 0o600) -> Path:
    path = tmp_path / "bob-password"
    path.write_text(SECRET + "\n")
    os.chmod(path, mode)
    return path


def test_add_show_list_edit_and_no_secret_in_any_output(cli, tmp_path, agentcal_home):
    result = cli("users", "add", "bob", "--name", "Bob", "--tz", "Pacific/Auckland")
    assert result.exit_code == 0, result.output
    assert "added bob: Pacific/Auckland, calendar local" in result.output
    password = _password_file(tmp_path)
    result = cli(
        "users", "edit", "bob", "--calendar", "caldav", "--caldav-url", "https://dav.example.com/",
        "--caldav-username", "bob", "--caldav-password-file", str(password), "--budget", "0.25",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    stored = user_files.caldav_password_path(get_settings(), "bob")
    assert stored.read_text() == SECRET and stored.stat().st_mode & 0o777 == 0o600
    from agentcal.masking import mask

    assert mask(f"the server said {SECRET}") == "the server said ****"  # in any error or log

    shown = json.loads(cli("users", "show", "bob", "--json").stdout)
    assert (shown["timezone"], shown["calendar"], shown["daily_budget_usd"]) == (
        "Pacific/Auckland", "caldav", 0.25
    )  # fmt: skip
    assert shown["caldav_username"] == "bob" and shown["source"] == "profile"
    assert shown["files"]["caldav password"].endswith("(set)")
    listed = json.loads(cli("users", "list", "--json").stdout)
    assert [u["user_id"] for u in listed] == ["alice", "bob"]
    assert listed[0]["source"] == "environment"
    outputs = [
        cli(*args).output
        for args in (("users", "show", "bob"), ("users", "list"), ("users", "show", "bob", "--json"),
                     ("users", "list", "--json"), ("config", "show"), ("auth", "status", "--user", "bob"))
    ]  # fmt: skip
    assert not any(SECRET in text for text in outputs)
    with session_scope() as s:
        dump = json.dumps([str(r) for r in s.exec(select(Job))])
    assert SECRET not in dump


def test_the_password_prompt_stores_it_in_the_users_file(cli):
    result = cli(
        "users", "add", "bob", "--calendar", "caldav", "--caldav-url", "https://dav.example.com/",
        "--caldav-password-prompt", input=SECRET + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert user_files.caldav_password_path(get_settings(), "bob").read_text() == SECRET


def test_the_password_prompt_at_end_of_input_is_one_line_and_adds_no_one(cli, agentcal_home):
    result = cli("users", "add", "bob", "--caldav-password-prompt", input="")
    assert result.exit_code == 1
    assert result.stderr == "Error: no CalDAV password was given; nothing was changed\n"
    assert "bob" not in {p.user_id for p in user_profiles_service.list_profiles()}
    assert not user_files.caldav_password_path(get_settings(), "bob").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("users", "add", "bob", "--tz", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (("users", "add", "bob", "--calendar", "outlook"), "calendar must be one of"),
        (("users", "add", ""), "user must be a non-empty string"),
        (("users", "add", "x" * 129), "user is longer than 128 characters"),
        (("users", "add", "bob", "--calendar", "caldav"), "no CalDAV URL is set"),
        (("users", "add", "bob", "--budget", "-1"), "budget must not be negative"),
        (
            ("users", "add", "bob", "--caldav-url", "https://bob:hunter22@dav.example.com/"),
            "the CalDAV URL holds a password",
        ),
        (("users", "edit", "bob"), "nothing to change"),
        (("users", "edit", "bob", "--clear", "timezone"), "--clear takes"),
        (("users", "edit", "bob", "--tz", "Nowhere/Land"), "unknown time zone"),
        (("users", "show", "nobody"), "no user 'nobody'"),
        (("users", "remove", "nobody"), "no user 'nobody'"),
        (("users", "remove", "carol"), "still has data (1 preferences)"),
        (("auth", "google", "--user", "nobody"), "no user 'nobody'"),
        (("auth", "status", "--user", "nobody"), "no user 'nobody'"),
        (("auth", "logout", "--user", "nobody"), "no user 'nobody'"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_nothing_written(
    cli, snapshot, agentcal_home, args, message
):
    calendar_preferences_service.create_preference(
        user_id="carol", preference_type="gym", start_time="06:00", duration_minutes=30
    )
    before, files = snapshot(), _listing(agentcal_home)
    result = cli(*args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and message in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert snapshot() == before and _listing(agentcal_home) == files


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_a_password_file_others_can_read_is_refused(cli, snapshot, tmp_path, agentcal_home, mode):
    password = _password_file(tmp_path, mode)
    before, files = snapshot(), _listing(agentcal_home)
    result = cli(
        "users", "add", "bob", "--calendar", "caldav", "--caldav-url", "https://dav.example.com/",
        "--caldav-password-file", str(password),
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"has mode {mode:04o}, readable by others: run `chmod 600" in result.output
    assert result.output.count("\n") == 1 and SECRET not in result.output
    assert snapshot() == before and _listing(agentcal_home) == files


def test_a_missing_password_file_is_one_line(cli, tmp_path):
    result = cli("users", "add", "bob", "--caldav-password-file", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "cannot read the CalDAV password file" in result.output
    assert result.output.count("\n") == 1


def test_remove_refuses_with_data_and_purge_deletes_only_that_users_rows_and_files(
    cli, agentcal_home
):
    from agentcal.planning.emitter import calendar_event_emitter

    user_profiles_service.add("bob", timezone="Pacific/Auckland")
    for user in ("alice", "bob"):
        calendar_preferences_service.create_preference(
            user_id=user, preference_type="gym", start_time="06:00", duration_minutes=30
        )
    calendar_event_emitter.process_users(["alice", "bob"], 7)
    JobWorker().run_once()
    settings = get_settings()
    token = user_files.google_token_path(settings, "bob")
    token.write_text(token_json("bob-token"))
    bob_ics = user_files.ics_path(settings, "bob")
    assert bob_ics.exists() and settings.ics_file.exists()
    with session_scope() as s:
        bob_events = len(s.exec(select(CalendarEvent).where(CalendarEvent.user_id == "bob")).all())
        alice_before = len(
            s.exec(select(CalendarEvent).where(CalendarEvent.user_id == "alice")).all()
        )

    from agentcal.health.sync_health import sync_health

    sync_health.record("bob", "local", error="disk full")
    refused = cli("users", "remove", "bob")
    assert refused.exit_code == 1 and "--purge" in refused.output
    assert token.exists() and user_profiles_service.get_row("bob") is not None

    result = cli("users", "remove", "bob", "--purge")
    assert result.exit_code == 0, result.output
    assert f"deleted {bob_events} jobs, {bob_events} calendar events, 1 preferences, 1 profile" in (
        result.output.replace("\n", " ")
    )
    assert not token.exists() and not bob_ics.exists()
    assert user_profiles_service.data_counts("bob") == dict.fromkeys(
        user_profiles_service.data_counts("bob"), 0
    )
    with session_scope() as s:
        alice_after = len(
            s.exec(select(CalendarEvent).where(CalendarEvent.user_id == "alice")).all()
        )
    assert alice_after == alice_before and settings.ics_file.exists()
    assert [f.user_id for f in sync_health.failing()] == []
    assert user_profiles_service.data_counts("alice")["preferences"] == 1


def test_purge_says_how_many_of_each_kind_it_deleted_and_touches_no_one_else(cli):
    """Insights (and their history), preferences, events, jobs, chat sessions, agent calls (and
    their steps): `--purge` counts each kind it deletes; the same rows of alice stay."""
    from datetime import UTC, datetime

    from sqlalchemy import func

    from agentcal.insights.user_insights import user_insights_service
    from agentcal.models import AgentObservability, AgentStep, UserInsight, UserInsightHistory
    from agentcal.observability.calls import agent_observability_service
    from agentcal.users.chat_sessions import chat_sessions_service

    user_profiles_service.add("bob", timezone="Pacific/Auckland")
    step = {"step_type": "llm", "name": "model", "started_at": datetime.now(UTC)}
    for user in ("alice", "bob"):
        for key, minutes in (("gym_time", 60), ("gym_time", 45), ("wake_time", 0)):
            user_insights_service.create_insight(
                user_id=user, insight_type="preference", category="health", key=key,
                value={"minutes": minutes}, confidence=0.9,
            )  # fmt: skip
        calendar_preferences_service.create_preference(
            user_id=user, preference_type="gym", start_time="06:00", duration_minutes=30
        )
        for n in range(3):
            agent_observability_service.log_agent_call(
                user_id=user, agent_action="chat", user_message=f"hello {n}", steps=[step, step]
            )
        chat_sessions_service.open_session(user, "default")
        chat_sessions_service.open_session(user, "work")

    def rows(model, user=None):  # type: ignore[no-untyped-def]
        with session_scope() as s:
            stmt = select(func.count()).select_from(model)
            if user is not None:
                stmt = stmt.where(model.user_id == user)
            return s.exec(stmt).one()

    before = user_profiles_service.data_counts("bob")
    assert before["insights"] == 2 and before["agent calls"] == 3
    assert before["chat sessions"] == 2 and before["preferences"] == 1
    alice_before = user_profiles_service.data_counts("alice")
    assert rows(AgentStep) == 12 and rows(UserInsightHistory) >= 2

    result = cli("users", "remove", "bob", "--purge")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    for kind, n in before.items():
        if n:
            assert f"{n} {kind}" in said, (kind, said)
    assert "1 profile" in said
    assert user_profiles_service.data_counts("bob") == dict.fromkeys(before, 0)
    assert user_profiles_service.data_counts("alice") == alice_before
    assert rows(AgentStep) == 6  # bob's steps went with his calls
    with session_scope() as s:
        orphans = s.exec(
            select(func.count())
            .select_from(UserInsightHistory)
            .where(
                UserInsightHistory.insight_id.not_in(select(UserInsight.id))  # type: ignore[attr-defined]
            )
        ).one()
        assert orphans == 0
    assert user_profiles_service.get_row("bob") is None
    assert rows(AgentObservability, "alice") == 3


def test_changing_the_calendar_sends_future_events_to_the_new_one(cli):
    user_profiles_service.add("bob")
    calendar_preferences_service.create_preference(
        user_id="bob", preference_type="gym", start_time="06:00", duration_minutes=30
    )
    assert cli("emit", "--user", "bob").exit_code == 0
    JobWorker().run_once()
    with session_scope() as s:
        events = s.exec(select(CalendarEvent).where(CalendarEvent.user_id == "bob")).all()
    assert {e.backend for e in events} == {"local"}

    result = cli("users", "edit", "bob", "--calendar", "none")
    assert result.exit_code == 0, result.output
    assert f"{len(events)} future event(s) will be synced to the new none calendar" in result.output
    JobWorker().run_once()
    with session_scope() as s:
        events = s.exec(select(CalendarEvent).where(CalendarEvent.user_id == "bob")).all()
    assert {e.backend for e in events} == {"none"}
    assert all(e.synced_revision == e.revision for e in events)
    # The same calendar again moves nothing.
    assert "future event" not in cli("users", "edit", "bob", "--calendar", "none").output


class _Browser:
    """Plays the person in the browser: approves at once, so Google redirects to agentcal's
    loopback port with an authorization code (and the state it was given)."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.urls.append(url)
        query = parse_qs(urlsplit(url).query)
        redirect = query["redirect_uri"][0]
        back = f"{redirect}?code=good-code&state={query['state'][0]}"
        threading.Thread(target=lambda: urllib.request.urlopen(back, timeout=10).read()).start()
        return True


def test_auth_google_user_signs_that_person_in_and_requeues_their_failed_syncs(
    cli, tmp_path, monkeypatch
):
    with FakeGoogleCalendar() as google:
        secrets = tmp_path / "client.json"
        secrets.write_text(json.dumps({"installed": {
            "client_id": "client-1.apps.googleusercontent.com", "client_secret": "s3cr3t-client",
            "auth_uri": google.url + "auth", "token_uri": google.url + "token",
            "redirect_uris": ["http://localhost"],
        }}))  # fmt: skip
        monkeypatch.setenv("AGENTCAL_GOOGLE_CLIENT_SECRETS", str(secrets))
        monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake token URL is http
        browser = _Browser()
        monkeypatch.setattr("webbrowser.get", lambda *a, **k: browser)
        user_profiles_service.add("bob", calendar="google")
        job = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1}, user_id="bob")
        claimed = job_queue.claim("test")
        assert claimed is not None and claimed.id == job.id
        job_queue.fail(claimed, "not signed in to Google Calendar", permanent=True)

        result = cli("auth", "google", "--user", "bob")

    assert result.exit_code == 0, result.output
    assert "bob is signed in" in result.output
    assert "1 calendar sync(s) that had failed for bob are queued again" in result.output
    bob_token = settings_for("bob").google_token_path
    assert bob_token.name == "google-token.bob.json"
    assert bob_token.stat().st_mode & 0o777 == 0o600
    assert json.loads(bob_token.read_text())["token"].startswith("tok-refreshed-")
    assert not get_settings().google_token_path.exists()  # the configured user's: untouched
    assert "s3cr3t-client" not in result.output
    status = json.loads(cli("auth", "status", "--user", "bob", "--json").stdout)
    assert status["user"] == "bob" and status["signed_in"]
    assert json.loads(cli("auth", "status", "--json").stdout)["signed_in"] is False
    assert job_queue.get(job.id).state == "queued"
    assert "signed out" in cli("auth", "logout", "--user", "bob").output
    assert not bob_token.exists()


def test_chat_gives_each_person_their_own_date_zone_and_budget(cli, snapshot):
    """kiri in Auckland: her turn's system prompt has her zone and her date; her budget (0)
    refuses her turns while alice, with no budget, chats on."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from agentcal.observability.calls import agent_observability_service

    user_profiles_service.add("kiri", timezone="Pacific/Auckland")

    def auckland_day() -> str:
        return datetime.now(UTC).astimezone(ZoneInfo("Pacific/Auckland")).strftime("%Y-%m-%d")

    days = {auckland_day()}
    result = cli("chat", "-m", "hello", "--user", "kiri", "--json")
    days.add(auckland_day())  # a turn that straddled Auckland's midnight may have either
    assert result.exit_code == 0, result.output
    prompt = json.loads(result.stdout)["agent_state"]["system_prompt"]
    assert "Pacific/Auckland" in prompt and "Europe/Paris" not in prompt
    assert any(day in prompt for day in days)
    agent_observability_service.log_agent_call(user_id="alice", llm_model="gpt-4o", llm_cost_usd=2)
    assert cli("users", "edit", "kiri", "--budget", "0.5").exit_code == 0
    assert cli("chat", "-m", "hello", "--user", "kiri").exit_code == 0  # alice's spend is hers
    agent_observability_service.log_agent_call(user_id="kiri", llm_model="gpt-4o", llm_cost_usd=1)
    before = snapshot()
    refused = cli("chat", "-m", "hello", "--user", "kiri")
    assert refused.exit_code == 1
    assert "kiri spent $1.0000 of $0.5000 today" in refused.output
    assert snapshot() == before
    assert cli("chat", "-m", "hello").exit_code == 0  # alice: no budget set
