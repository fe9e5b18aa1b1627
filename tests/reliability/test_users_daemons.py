"""Two `agentcal daemon --once` processes share one store (SQLite, and PostgreSQL) serving
several people: each person's events reach only that person's calendar, and one person's
unreachable calendar holds up no one else."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from sqlmodel import select

from agentcal.db import dispose_engines, session_scope
from agentcal.models import CalendarEvent, Job
from agentcal.planning.preferences import calendar_preferences_service
from agentcal.settings import get_settings, reset_settings
from agentcal.users.profiles import user_profiles_service
from tests.conftest import ON_POSTGRES, ROOT, subprocess_env
from tests.radicale_server import count_by_uid, free_port, radicale_server

DAEMONS = 2


@pytest.fixture(params=["sqlite", "postgres"])
def database(request, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        if ON_POSTGRES:
            pytest.skip("the SQLite case runs in the SQLite pass")
        return "sqlite"
    if not ON_POSTGRES:
        from tests.conftest import _fresh_pg_database

        monkeypatch.setenv("AGENTCAL_DATABASE_URL", _fresh_pg_database(request))
        reset_settings()
        dispose_engines()
    return "postgres"


@pytest.mark.slow
def test_two_daemons_sync_each_person_to_their_own_calendar(database, tmp_path, monkeypatch):
    run = uuid.uuid4().hex[:8]
    principals = {u: f"{u}{run}" for u in ("alice", "bob", "carol")}
    with radicale_server(tmp_path) as url:
        env = dict(
            AGENTCAL_CALENDAR="caldav",
            AGENTCAL_CALDAV_URL=url,
            AGENTCAL_CALDAV_USERNAME=principals["alice"],
            AGENTCAL_CALDAV_PASSWORD="alice-secret",
            AGENTCAL_LOG_LEVEL="WARNING",
            # Radicale is slow on a loaded machine: a 5 s answer must not count as an outage.
            AGENTCAL_CALENDAR_TIMEOUT="30",
        )
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        for user, zone in (("bob", "Pacific/Auckland"), ("carol", "America/Los_Angeles")):
            user_profiles_service.add(
                user, timezone=zone, calendar="caldav", caldav_url=url,
                caldav_username=principals[user],
            )  # fmt: skip
            user_profiles_service.edit(user, caldav_password=f"{user}-secret")
        user_profiles_service.add(
            "gina", calendar="caldav", caldav_url=f"http://127.0.0.1:{free_port()}/"
        )
        user_profiles_service.add("frank", calendar="none")
        people = ("alice", "bob", "carol", "erin", "frank", "gina")
        for user in people:
            for kind, at in (("gym", "06:00"), ("meditation", "07:30"), ("focus", "09:00")):
                calendar_preferences_service.create_preference(
                    user_id=user, preference_type=kind, start_time=at, duration_minutes=30
                )
        dispose_engines()
        logs = [tmp_path / f"daemon{i}.log" for i in range(DAEMONS)]
        procs = []
        for log in logs:
            with log.open("w") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "agentcal", "daemon", "--once"],
                    cwd=ROOT, env=subprocess_env(**env), stdout=out, stderr=subprocess.STDOUT,
                )  # fmt: skip
                procs.append(proc)
        for proc, log in zip(procs, logs, strict=True):
            proc.wait(timeout=300)
            text = log.read_text()
            # gina's calendar is down: a daemon that met her syncs says so and exits 1.
            waiting_only = "waiting for the calendar" in text and "dead" not in text
            assert proc.returncode == 0 or waiting_only, text[-3000:]
        found = {u: count_by_uid(url, principals[u]) for u in ("alice", "bob", "carol")}

    with session_scope() as s:
        events = list(s.exec(select(CalendarEvent).where(CalendarEvent.status == "planned")))
        jobs = list(s.exec(select(Job).where(Job.kind == "calendar_sync")))
    uids = {u: {e.uid for e in events if e.user_id == u} for u in people}
    assert all(len(uids[u]) >= 18 for u in people)  # 3 blocks x 6-7 days, each person
    for user in ("alice", "bob", "carol"):
        assert set(found[user]) == uids[user], user  # all of theirs, none of anyone else's
        assert set(found[user].values()) == {1}  # each exactly once
    ics = get_settings().ics_file.with_name("calendar.erin.ics").read_text()
    assert all(u in ics for u in uids["erin"])
    state = {u: {j.state for j in jobs if j.user_id == u} for u in people}
    assert state["gina"] == {"queued"}  # her server is down: waiting to retry
    errors = "\n".join(str(j.last_error)[:600] for j in jobs if j.state != "done")
    assert all(state[u] == {"done"} for u in people if u != "gina"), errors
