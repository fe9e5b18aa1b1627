"""Long work shows a progress bar on a terminal, and nothing extra when piped."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import subprocess_env


def _calls(n: int = 30) -> None:
    from agentcal.observability.calls import agent_observability_service

    for i in range(n):
        agent_observability_service.log_agent_call(
            user_id="alice", llm_model="gpt-4o-mini", llm_prompt_tokens=100 + i,
            llm_completion_tokens=10,
        )  # fmt: skip


def _users(n: int = 25) -> None:
    from agentcal.planning.preferences import calendar_preferences_service

    for i in range(n):
        calendar_preferences_service.create_preference(
            user_id=f"user{i:02d}", preference_type="gym", start_time="06:00", duration_minutes=30
        )


def _events(n: int = 5) -> None:
    from datetime import UTC, datetime, timedelta

    from agentcal.planning.events import calendar_events_service

    start = datetime(2031, 3, 3, 9, tzinfo=UTC)
    for i in range(n):
        calendar_events_service.create_event(
            user_id="alice", title=f"Meeting {i}", start=start + timedelta(days=i),
            duration_minutes=30,
        )  # fmt: skip


def _in_a_terminal(args: list[str]) -> str:
    """What `agentcal ARGS` writes to a pseudo-terminal (escape sequences included)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "agentcal", *args], stdin=slave, stdout=slave,
                            stderr=slave, env=subprocess_env(COLUMNS="100"), close_fds=True)  # fmt: skip
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=30)
    os.close(master)
    return seen.decode("utf-8", "replace")


def _piped(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agentcal", *args], capture_output=True,
                          text=True, env=subprocess_env(COLUMNS="100"), timeout=120)  # fmt: skip


@pytest.mark.parametrize(
    "args,label,first_line",
    [
        (["costs", "--reprice", "--dry-run"], "re-pricing", "Dry run: 30 calls examined"),
        (["emit", "--all-users", "--dry-run"], "planning", None),
    ],
)
def test_a_bar_on_a_terminal_and_nothing_extra_when_piped(agentcal_home, args, label, first_line):
    _calls()
    _users()
    on_terminal = _in_a_terminal(args)
    assert label in on_terminal
    piped = _piped(args)
    assert piped.returncode == 0, piped.stderr
    assert label not in piped.stdout and label not in piped.stderr
    assert piped.stdout.strip() and not piped.stdout.startswith("\n")
    if first_line:
        assert piped.stdout.startswith(first_line)


def test_calendar_sync_shows_a_bar_on_a_terminal_and_nothing_when_piped(agentcal_home):
    _events()
    on_terminal = _in_a_terminal(["calendar", "sync"])
    assert "syncing" in on_terminal and "5 synced, 0 failed" in on_terminal
    piped = _piped(["calendar", "sync"])
    assert piped.returncode == 0, piped.stderr
    assert "syncing" not in piped.stdout + piped.stderr
    assert piped.stdout == "nothing to sync: the calendar backend is up to date\n"


def test_a_bar_makes_the_backend_sync_its_chunk_at_a_time(agentcal_home):
    """With progress, a backend with a sync_chunk gets that many events per call, each chunk
    recorded before the next; without, all in one call (the local file is written once)."""
    from agentcal.planning.push import calendar_push_service
    from tests.fake_calendar import FakeCalendar

    class Chunked(FakeCalendar):
        sync_chunk = 2
        sizes: list[int] = []  # noqa: RUF012

        def sync_many(self, events):  # type: ignore[no-untyped-def]
            self.sizes.append(len(events))
            return super().sync_many(events)

    _events()
    backend, seen = Chunked(), []
    outcomes = calendar_push_service.push_pending(
        "alice", backend, progress=lambda done, total: seen.append((done, total))
    )
    assert backend.sizes == [2, 2, 1] and seen == [(2, 5), (4, 5), (5, 5)]
    assert [o.ok for o in outcomes] == [True] * 5 and calendar_push_service.pending("alice") == []
    _events(3)
    backend = Chunked()
    backend.sizes = []
    assert len(calendar_push_service.push_pending("alice", backend)) == 3
    assert backend.sizes == [3]
