"""The data commands, run as a user would: exit codes, output and what reached the store."""

import json

import pytest

from agentcal.insights.user_insights import user_insights_service

GYM = '{"time": "06:00", "duration": 60, "days": [1,2,3,4,5]}'


def test_insights_set_list_show_delete(cli):
    result = cli("insights", "set", "health", "gym_time", GYM, "--type", "habit")
    assert result.exit_code == 0, result.output
    assert "created insight #1 health/gym_time" in result.output

    listed = json.loads(cli("insights", "list", "--json").stdout)
    assert [(i["key"], i["source"], i["confidence"], i["insight_type"]) for i in listed] == [
        ("gym_time", "explicit", 1.0, "habit")
    ]
    assert listed[0]["value"] == {"time": "06:00", "duration": 60, "days": [1, 2, 3, 4, 5]}

    shown = cli("insights", "show", "health/gym_time")
    assert shown.exit_code == 0
    assert "explicit" in shown.output and "created" in shown.output

    shown_json = json.loads(cli("insights", "show", "1", "--json").stdout)
    assert [h["change"] for h in shown_json["history"]] == ["created"]

    assert cli("insights", "delete", "health/gym_time").exit_code == 0
    assert json.loads(cli("insights", "list", "--json").stdout) == []


def test_insights_list_filters(cli):
    cli("insights", "set", "health", "gym_time", GYM)
    cli("insights", "set", "work", "focus", '"mornings"', "--type", "goal")
    assert [
        i["key"] for i in json.loads(cli("insights", "list", "--json", "-c", "work").stdout)
    ] == ["focus"]
    assert [
        i["key"] for i in json.loads(cli("insights", "list", "--json", "-t", "goal").stdout)
    ] == ["focus"]
    table = cli("insights", "list").output
    assert "gym_time" in table and "focus" in table


def test_insights_are_per_user(cli):
    cli("insights", "set", "health", "gym_time", GYM, "--user", "bob")
    assert json.loads(cli("insights", "list", "--json").stdout) == []
    assert len(json.loads(cli("insights", "list", "--json", "--user", "bob").stdout)) == 1


def test_bare_word_value_is_a_string(cli):
    cli("insights", "set", "personal", "diet", "vegetarian")
    assert user_insights_service.get_insight("alice", "personal/diet").value == "vegetarian"


@pytest.mark.parametrize(
    "args,message",
    [
        (("insights", "set", "food", "k", "1"), "category must be one of"),
        (("insights", "set", "health", "k", "{bad json"), "not valid JSON"),
        (
            ("insights", "set", "health", "k", "1", "--confidence", "2"),
            "confidence must be between 0 and 1",
        ),
        (("insights", "set", "health", "k", "1", "--type", "wish"), "insight_type must be one of"),
        (("insights", "show", "99"), "no insight '99'"),
        (("insights", "show", "food/x"), "must be an id or CATEGORY/KEY"),
        (("insights", "delete", "health/nope"), "no insight"),
        (("prefs", "add", "nap", "--at", "06:00"), "preference_type must be one of"),
        (("prefs", "add", "gym", "--at", "25:00"), "HH:MM"),
        (("prefs", "add", "gym", "--at", "06:00", "--days", "funday"), "unknown day"),
        (("prefs", "add", "gym", "--at", "06:00", "-d", "0"), "between 1 and 1440"),
        (("prefs", "add", "gym", "--at", "06:00", "-p", "11"), "priority"),
        (("prefs", "edit", "42", "--at", "07:00"), "no preference with id 42"),
        (("prefs", "edit", "1"), "nothing to change"),
        (("prefs", "remove", "42"), "no preference"),
        (("insights", "list", "--user", ""), "user must be a non-empty string"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_changes_nothing(cli, snapshot, args, message):
    cli("insights", "set", "health", "gym_time", GYM)
    cli("prefs", "add", "gym", "--at", "06:00")
    before = snapshot()
    result = cli(*args)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert snapshot() == before


def test_usage_errors_exit_2(cli):
    assert cli("prefs", "add", "gym").exit_code == 2  # --at is required
    assert cli("prefs", "edit", "notanumber").exit_code == 2
    assert cli("insights", "frobnicate").exit_code == 2


def test_prefs_lifecycle(cli):
    added = json.loads(
        cli(
            "prefs",
            "add",
            "gym",
            "--at",
            "6:00",
            "--days",
            "weekdays",
            "--title",
            "Morning Gym",
            "--json",
        ).stdout
    )
    assert (added["start_time"], added["day_of_week"], added["title"]) == (
        "06:00",
        [1, 2, 3, 4, 5],
        "Morning Gym",
    )
    pid = str(added["id"])
    edited = json.loads(cli("prefs", "edit", pid, "--at", "07:15", "--flexible", "--json").stdout)
    assert (edited["start_time"], edited["is_flexible"], edited["user_edited"]) == (
        "07:15",
        True,
        True,
    )
    assert cli("prefs", "disable", pid).exit_code == 0
    assert json.loads(cli("prefs", "list", "--json", "--active").stdout) == []
    assert cli("prefs", "enable", pid).exit_code == 0
    assert len(json.loads(cli("prefs", "list", "--json", "--active").stdout)) == 1
    table = cli("prefs", "list").output
    assert "Morning Gym" in table and "weekdays" in table
    assert cli("prefs", "remove", pid).exit_code == 0
    assert json.loads(cli("prefs", "list", "--json").stdout) == []


def test_titles_with_markup_are_shown_verbatim(cli):
    cli("prefs", "add", "focus", "--at", "09:00", "--title", "[bold]Deep[/bold] work; DROP TABLE x")
    assert "[bold]Deep[/bold] work; DROP TABLE x" in cli("prefs", "list").output
    stored = json.loads(cli("prefs", "list", "--json").stdout)
    assert stored[0]["title"] == "[bold]Deep[/bold] work; DROP TABLE x"


def test_config_show_masks_secrets(cli, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-abcdefghijklmnop1234")
    data = json.loads(cli("config", "show", "--json").stdout)
    assert data["openai_api_key"] == "****1234"
    table = cli("config", "show").output
    assert "sk-test-abcdefghijklmnop1234" not in table
    assert "abcdefghijklmnop" not in table


def test_config_show_masks_database_password(cli, monkeypatch):
    monkeypatch.setenv("AGENTCAL_DATABASE_URL", "postgresql+psycopg://bob:hunter2@db/agentcal")
    data = json.loads(cli("config", "show", "--json").stdout)
    assert data["database_url"] == "postgresql+psycopg://bob:****@db/agentcal"


@pytest.mark.sqlite_only
def test_config_path(cli, agentcal_home):
    assert cli("config", "path").stdout.strip() == str(agentcal_home)
    assert (
        cli("config", "path", "db").stdout.strip() == f"sqlite:///{agentcal_home / 'agentcal.db'}"
    )
    assert cli("config", "path", "nope").exit_code == 1


def test_invalid_setting_is_one_line(cli, monkeypatch):
    monkeypatch.setenv("AGENTCAL_TIMEZONE", "Mars/Olympus")
    result = cli("insights", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid setting AGENTCAL_TIMEZONE")


def test_env_file_is_read(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("AGENTCAL_USER")
    (tmp_path / ".env").write_text("AGENTCAL_USER=carol\n")
    cli("insights", "set", "health", "gym_time", GYM)
    assert user_insights_service.get_user_insights("carol")[0].key == "gym_time"


@pytest.mark.sqlite_only
def test_data_dir_and_db_are_private(cli, tmp_path, monkeypatch):
    home = tmp_path / "fresh"
    monkeypatch.setenv("AGENTCAL_HOME", str(home))
    assert cli("insights", "list").exit_code == 0
    assert home.stat().st_mode & 0o777 == 0o700
    assert (home / "agentcal.db").stat().st_mode & 0o777 == 0o600
