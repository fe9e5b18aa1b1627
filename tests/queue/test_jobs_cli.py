"""The commands of the background half: insights update, jobs, emit, events, status, alerts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from agentcal.health.monitoring import monitoring_service
from agentcal.models import utcnow
from agentcal.planning.events import calendar_events_service as events
from agentcal.planning.preferences import calendar_preferences_service as prefs
from agentcal.queue.jobs import job_queue

BODY = {
    "insight_type": "preference",
    "category": "health",
    "key": "gym_time",
    "value": {"time": "06:00", "duration": 60},
    "confidence": 0.8,
}


def test_insights_update_from_options_queues_the_same_job_as_the_json_body(cli):
    by_json = cli("insights", "update", "--json", json.dumps(BODY))
    by_options = cli(
        "insights", "update", "--category", "health", "--key", "gym_time",
        "--value", '{"time": "06:00", "duration": 60}',
    )  # fmt: skip
    assert by_json.exit_code == by_options.exit_code == 0
    assert by_json.stdout == by_options.stdout  # same body: deduplicated while queued
    job = job_queue.get(int(by_json.stdout))
    assert job.payload == {
        **BODY,
        "user_id": "alice",
        "agent_run_id": None,
        "source_request_id": None,
    }


@pytest.mark.parametrize(
    "args,input,message",
    [
        (["--json", "{not json"], None, "--json is not valid JSON"),
        (["--json", json.dumps({**BODY, "confidence": 3})], None, "confidence must be between"),
        (["--json", json.dumps({**BODY, "extra": 1})], None, "unknown field(s)"),
        (["--json", "{}", "--key", "x"], None, "not both"),
        ([], "[1, 2]", "must be a JSON object"),
        (["--category", "sports", "--key", "x", "--value", "1"], None, "category must be one of"),
    ],
)
def test_insights_update_rejects_bad_bodies_and_writes_nothing(cli, snapshot, args, input, message):
    before = snapshot()
    result = cli("insights", "update", *args, input=input)
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.output
    assert snapshot() == before


def test_jobs_list_show_retry_purge(cli):
    job = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})
    job_queue.enqueue("emit_preference_events", {"user_id": "alice"})
    job_queue.fail(
        job_queue.claim("w", kinds=("calendar_sync",)), "calendar said no", permanent=True
    )
    dead = json.loads(cli("jobs", "list", "--state", "dead", "--json").stdout)
    assert [(j["id"], j["last_error"]) for j in dead] == [(job.id, "calendar said no")]
    table = cli("jobs", "list", "--kind", "calendar_sync")
    assert "calendar said no" in table.stdout and "dead" in table.stdout
    shown = cli("jobs", "show", str(job.id))
    assert "error:     calendar said no" in shown.stdout
    assert json.loads(cli("jobs", "show", str(job.id), "--json").stdout)["state"] == "dead"
    assert cli("jobs", "show", "999").stderr.strip() == "Error: no job with id 999"
    assert cli("jobs", "retry", str(job.id)).exit_code == 0
    assert job_queue.get(job.id).state == "queued"
    assert "already queued" in cli("jobs", "retry", str(job.id)).stderr
    assert cli("jobs", "list", "--state", "sleeping").exit_code == 1
    for _ in range(2):
        job_queue.complete(job_queue.claim("w"))
    assert "purged 0 job(s)" in cli("jobs", "purge").stdout
    assert "purged 2 job(s)" in cli("jobs", "purge", "--older-than", "0").stdout


def test_emit_explains_moves_and_dry_run_writes_nothing(cli, snapshot):
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Paris")
    tomorrow = (utcnow().astimezone(tz) + timedelta(days=1)).date()
    start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 0, tzinfo=tz)
    events.create_event(user_id="alice", title="Standup", start=start, duration_minutes=30)
    prefs.create_preference(
        user_id="alice", preference_type="focus", title="Deep work", start_time="09:00",
        duration_minutes=60, is_flexible=True, day_of_week=[tomorrow.isoweekday()],
    )  # fmt: skip
    before = snapshot()
    dry = cli("emit", "--days", "3", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "moved +0:30 h to 09:30 to avoid “Standup” at 09:00" in dry.stdout
    assert "dry run: nothing written" in dry.stdout
    assert snapshot() == before
    real = json.loads(cli("emit", "--days", "3", "--json").stdout)
    assert [(p["outcome"], p["moved_minutes"], p["avoided"]) for p in real] == [
        ("moved", 30, "“Standup” at 09:00")
    ]
    listed = json.loads(cli("events", "list", "--days", "3", "--json").stdout)
    assert [e["title"] for e in listed] == ["Standup", "Deep work"]
    assert "Deep work" in cli("events", "list").stdout
    assert "no preferences to plan" in cli("emit", "--user", "bob").stdout
    assert cli("emit", "--user", "bob", "--all-users").exit_code == 1


def test_emit_all_users_with_a_progress_bar(cli):
    for i in range(25):
        prefs.create_preference(
            user_id=f"user{i}", preference_type="gym", start_time="06:00", duration_minutes=30
        )
    result = cli("emit", "--all-users", "--days", "2")
    assert result.exit_code == 0, result.output
    assert "25 user(s):" in result.stdout


def test_status_is_unhealthy_with_dead_jobs_until_the_alert_is_acknowledged(cli):
    healthy = cli("status")
    assert healthy.exit_code == 0 and "healthy" in healthy.stdout
    job = job_queue.enqueue("calendar_sync", {"event_id": 1, "revision": 1})
    claimed = job_queue.claim("w")
    job_queue.fail(claimed, "nope", permanent=True)
    alert = monitoring_service.raise_alert("job dead", source="jobs", job_id=job.id)
    sick = cli("status")
    assert sick.exit_code == 1 and "UNHEALTHY" in sick.stdout and "1 dead job(s)" in sick.stdout
    report = json.loads(cli("status", "--json").stdout)
    assert report["healthy"] is False and report["queue"]["dead"] == 1
    assert [a["id"] for a in json.loads(cli("alerts", "list", "--json").stdout)] == [alert.id]
    assert cli("alerts", "ack", str(alert.id)).exit_code == 0
    assert cli("status").exit_code == 0
    assert cli("alerts", "list", "--json").stdout.strip() == "[]"
    assert cli("alerts", "ack", "12345").stderr.strip() == "Error: no alert with id 12345"


def test_status_reports_a_stale_worker(cli, monkeypatch):
    monitoring_service.heartbeat("w@elsewhere:1", "async_job_processor", jobs_done=3,
                                 now=utcnow() - timedelta(hours=2))  # fmt: skip
    result = cli("status")
    assert result.exit_code == 1
    assert "worker w@elsewhere:1 last seen" in result.stdout and "stale" in result.stdout
