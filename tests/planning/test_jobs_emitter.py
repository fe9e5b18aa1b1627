"""The emitter: insights -> preferences -> events, placement and its reasons, DST, idempotence."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from agentcal.db import session_scope
from agentcal.insights.user_insights import user_insights_service as insights
from agentcal.models import CalendarEvent, Job
from agentcal.planning.emitter import calendar_event_emitter as emitter
from agentcal.planning.events import calendar_events_service as events
from agentcal.planning.from_insights import preference_type_for
from agentcal.planning.placement import local_start, nearest_free
from agentcal.planning.preferences import calendar_preferences_service as prefs
from agentcal.settings import reset_settings
from tests.fake_calendar import FakeCalendar

PARIS = ZoneInfo("Europe/Paris")
MONDAY = datetime(2026, 11, 23, 0, 30, tzinfo=PARIS)  # before any preference's start


def at(day: date, hhmm: str, tz: ZoneInfo = PARIS) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=tz)


def emitted(user: str = "alice", statuses=("planned", "confirmed")) -> list[CalendarEvent]:
    with session_scope() as s:
        return list(
            s.exec(
                select(CalendarEvent)
                .where(CalendarEvent.user_id == user, CalendarEvent.origin == "emitter")
                .where(CalendarEvent.status.in_(statuses))
                .order_by(CalendarEvent.start_at)
            )
        )


def sync_jobs() -> list[dict]:
    with session_scope() as s:
        return [j.payload for j in s.exec(select(Job).where(Job.kind == "calendar_sync"))]


@pytest.mark.parametrize(
    "key,category,expected",
    [
        ("gym_time", "health", "gym"),
        ("morning_workout", "health", "gym"),
        ("bed_time", "health", "sleep"),
        ("deep_work_block", "work", "focus"),
        ("lunch", "personal", "meal"),
        ("afternoon_break", "work", "break"),
        ("meditate_daily", "health", "meditation"),
        ("favourite_colour", "personal", None),
    ],
)
def test_preference_type_words(key, category, expected):
    assert preference_type_for(key, category) == expected


def test_schedulable_insights_become_preferences_by_confidence():
    insights.create_insight(
        user_id="alice", insight_type="preference", category="health", key="gym_time",
        value={"time": "06:00", "duration": 60, "days": [1, 2, 3, 4, 5]}, confidence=0.9,
    )  # fmt: skip
    insights.create_insight(
        user_id="alice", insight_type="habit", category="health", key="meditation",
        value={"time": "07:30", "duration_minutes": 15}, confidence=0.4,
    )  # fmt: skip
    insights.create_insight(
        user_id="alice", insight_type="preference", category="meetings", key="no_fridays",
        value={"avoid": "friday"}, confidence=0.9,
    )  # fmt: skip
    result = emitter.process_user_preferences("alice", 7, now=MONDAY.astimezone(UTC))
    by_type = {p.preference_type: p for p in prefs.list_preferences("alice")}
    assert set(by_type) == {"gym", "meditation"}
    gym, med = by_type["gym"], by_type["meditation"]
    assert (gym.title, gym.start_time, gym.duration_minutes, gym.day_of_week, gym.auto_schedule) == (
        "Morning Gym", "06:00", 60, [1, 2, 3, 4, 5], True,
    )  # fmt: skip
    assert (med.auto_schedule, med.day_of_week, med.source_insight_id is not None) == (
        False, None, True,
    )  # fmt: skip
    assert {o.outcome for o in result.preferences} == {"created", "not_schedulable"}
    assert [e.title for e in emitted()] == ["Morning Gym"] * 5  # the suggestion is not placed


def test_insight_changes_follow_unless_the_user_edited_the_preference(cli):
    def say(time: str):
        insights.create_insight(
            user_id="alice", insight_type="preference", category="health", key="gym_time",
            value={"time": time, "duration": 60}, confidence=0.9,
        )  # fmt: skip
        emitter.process_user_preferences("alice", 3, now=MONDAY.astimezone(UTC))

    say("06:00")
    say("07:00")
    assert {e.start_at.astimezone(PARIS).strftime("%H:%M") for e in emitted()} == {"07:00"}
    pref = prefs.list_preferences("alice")[0]
    assert cli("prefs", "edit", str(pref.id), "--at", "08:00").exit_code == 0
    say("09:00")
    pref = prefs.get_preference("alice", pref.id)
    assert (pref.start_time, pref.user_edited) == ("08:00", True)
    assert {e.start_at.astimezone(PARIS).strftime("%H:%M") for e in emitted()} == {"08:00"}
    assert len(emitted()) == 3


def test_rerun_creates_nothing_and_changed_preferences_move_their_future_events():
    pref = prefs.create_preference(
        user_id="alice", preference_type="focus", start_time="09:00", duration_minutes=90
    )
    now = MONDAY.astimezone(UTC)
    first = emitter.process_user_preferences("alice", 7, now=now)
    assert first.counts == {"planned": 7}
    jobs_before = len(sync_jobs())
    again = emitter.process_user_preferences("alice", 7, now=now)
    assert again.counts == {"unchanged": 7} and again.changes == []
    assert len(sync_jobs()) == jobs_before == 7
    prefs.update_preference("alice", pref.id, start_time="10:00")
    moved = emitter.process_user_preferences("alice", 7, now=now)
    assert moved.counts == {"updated": 7}
    assert all(e.start_at.astimezone(PARIS).hour == 10 and e.revision == 2 for e in emitted())
    assert len(sync_jobs()) == 14


def test_a_rerun_with_nothing_changed_writes_nothing(snapshot):
    """Moved, unplaced, fixed-over-a-clash and user-cancelled events, two users: the rerun
    reports every one unchanged or skipped, and the store (events, revisions, jobs) is
    byte-for-byte what the first run left."""
    day = MONDAY.date()
    for user in ("alice", "bob"):
        events.create_event(
            user_id=user, title="Calls", start=at(day, "08:00"), duration_minutes=240
        )
        prefs.create_preference(
            user_id=user, preference_type="sleep", start_time="09:00", duration_minutes=30,
            priority=1, is_flexible=False,
        )  # fmt: skip
        prefs.create_preference(
            user_id=user, preference_type="focus", start_time="11:30", duration_minutes=60,
            priority=2, is_flexible=True,
        )  # fmt: skip
        prefs.create_preference(
            user_id=user, preference_type="meal", start_time="10:00", duration_minutes=60,
            priority=3, is_flexible=True, day_of_week=[1],
        )  # fmt: skip
    now = MONDAY.astimezone(UTC)
    first = emitter.process_users(["alice", "bob"], 7, now=now)
    outcomes = {o for r in first for o in r.counts}
    assert {"planned", "moved", "unplaced"} <= outcomes
    events.cancel_event("bob", first[1].of("planned")[-1].event_id)
    before = snapshot()
    again = emitter.process_users(["alice", "bob"], 7, now=now)
    assert [r.changes for r in again] == [[], []]
    assert again[0].counts == {"unchanged": len(first[0].placements)}
    assert again[1].counts == {"unchanged": len(first[1].placements) - 1, "skipped": 1}
    assert snapshot() == before


def test_inflexible_keeps_its_time_flexible_moves_and_the_rest_is_unplaced():
    day = MONDAY.date()
    events.create_event(
        user_id="alice", title="Board meeting", start=at(day, "12:00"), duration_minutes=120
    )
    sleep = prefs.create_preference(
        user_id="alice", preference_type="sleep", start_time="12:30", duration_minutes=30,
        priority=1, is_flexible=False, day_of_week=[1],
    )  # fmt: skip
    lunch = prefs.create_preference(
        user_id="alice", preference_type="meal", title="Lunch", start_time="12:00",
        duration_minutes=60, priority=3, is_flexible=True, day_of_week=[1],
    )  # fmt: skip
    events.create_event(
        user_id="alice", title="Calls", start=at(day, "08:00"), duration_minutes=240
    )
    events.create_event(
        user_id="alice", title="Review", start=at(day, "14:00"), duration_minutes=180
    )
    walk = prefs.create_preference(
        user_id="alice", preference_type="break", title="Walk", start_time="13:00",
        duration_minutes=45, priority=5, is_flexible=True, day_of_week=[1],
    )  # fmt: skip
    result = emitter.process_user_preferences("alice", 1, now=MONDAY.astimezone(UTC))
    by_pref = {p.preference_id: p for p in result.placements}
    assert by_pref[sleep.id].outcome == "planned"
    assert by_pref[sleep.id].start == at(day, "12:30")
    assert "fixed time, overlaps “Board meeting” at 12:00" in by_pref[sleep.id].reason
    # Lunch 12:00-13:00 collides everywhere between 08:00 and 17:00, window ±2 h: unplaced.
    assert by_pref[lunch.id].outcome == "unplaced"
    assert "no free 60 min within ±2 h of 12:00" in by_pref[lunch.id].reason
    assert by_pref[walk.id].outcome == "unplaced"
    stored = emitted(statuses=("unplaced",))
    assert {e.title for e in stored} == {"Lunch", "Walk"}
    assert all(e.placement_note for e in stored)
    mine = {e.id for e in emitted(statuses=("planned", "unplaced"))}
    assert {p["event_id"] for p in sync_jobs()} & mine == {by_pref[sleep.id].event_id}


def test_flexible_event_moves_to_the_nearest_free_slot_and_says_how_far():
    day = MONDAY.date()
    events.create_event(
        user_id="alice", title="Standup", start=at(day, "09:00"), duration_minutes=30
    )
    prefs.create_preference(
        user_id="alice", preference_type="focus", start_time="09:15", duration_minutes=60,
        is_flexible=True, day_of_week=[1],
    )  # fmt: skip
    [p] = emitter.process_user_preferences("alice", 1, now=MONDAY.astimezone(UTC)).placements
    assert (p.outcome, p.start, p.moved_minutes) == ("moved", at(day, "09:30"), 15)
    assert p.reason == "moved +0:15 h to 09:30 to avoid “Standup” at 09:00"


def test_backend_busy_times_count_and_a_failing_backend_falls_back_to_the_store():
    day = MONDAY.date()
    prefs.create_preference(
        user_id="alice", preference_type="gym", start_time="07:00", duration_minutes=60,
        is_flexible=True, day_of_week=[1],
    )  # fmt: skip
    cal = FakeCalendar(busy=[(at(day, "06:30"), at(day, "07:30"))])
    now = MONDAY.astimezone(UTC)
    dry = emitter.process_user_preferences("alice", 1, now=now, backend=cal, dry_run=True)
    [p] = dry.placements
    assert (p.outcome, p.start) == ("moved", at(day, "07:30"))
    assert "busy in your fake calendar" in p.reason
    assert emitted(statuses=("planned", "unplaced")) == []  # dry run wrote nothing
    broken = FakeCalendar(busy_error=ConnectionError("no route to host"))
    real = emitter.process_user_preferences("alice", 1, now=now, backend=broken)
    assert real.placements[0].start == at(day, "07:00")
    assert "did not answer (no route to host)" in real.warnings[0]


@pytest.mark.parametrize(
    "zone,day,hhmm,expect_local,expect_utc_offset_h,note",
    [
        # Spring forward: 02:30 does not exist; it starts at 03:30 the same wall-clock day.
        ("Europe/Paris", date(2026, 3, 29), "02:30", "03:30", 2, "does not exist"),
        ("America/New_York", date(2026, 3, 8), "02:30", "03:30", -4, "does not exist"),
        # Fall back: 01:30 happens twice; the first one (summer time) is used.
        ("Europe/Paris", date(2026, 10, 25), "02:30", "02:30", 2, "happens twice"),
        ("America/New_York", date(2026, 11, 1), "01:30", "01:30", -4, "happens twice"),
        ("Africa/Casablanca", date(2027, 2, 7), "02:30", "02:30", 1, "happens twice"),
        ("Australia/Lord_Howe", date(2027, 4, 4), "01:45", "01:45", 11, "happens twice"),
        ("Australia/Lord_Howe", date(2026, 10, 4), "02:15", "02:45", 11, "does not exist"),
        # 06:00 stays 06:00 on both sides of a transition.
        ("Europe/Paris", date(2026, 3, 30), "06:00", "06:00", 2, ""),
        ("America/New_York", date(2026, 11, 2), "06:00", "06:00", -5, ""),
    ],
)
def test_local_start_on_dst_days(zone, day, hhmm, expect_local, expect_utc_offset_h, note):
    tz = ZoneInfo(zone)
    start, why = local_start(day, hhmm, tz)
    local = start.astimezone(tz)
    assert local.strftime("%H:%M") == expect_local and local.date() == day
    assert local.utcoffset() == timedelta(hours=expect_utc_offset_h)
    assert (note in why) if note else why == ""


@pytest.mark.parametrize(
    "zone,sunday", [("Europe/Paris", date(2026, 3, 29)), ("America/New_York", date(2026, 11, 1))]
)
def test_daily_events_across_a_dst_change_keep_wall_clock_time_and_length(
    monkeypatch, zone, sunday
):
    monkeypatch.setenv("AGENTCAL_TIMEZONE", zone)
    reset_settings()
    tz = ZoneInfo(zone)
    prefs.create_preference(
        user_id="alice", preference_type="sleep", start_time="23:00", duration_minutes=480
    )
    prefs.create_preference(
        user_id="alice", preference_type="gym", start_time="06:00", duration_minutes=60
    )
    start = datetime.combine(sunday - timedelta(days=2), datetime.min.time(), tzinfo=tz)
    result = emitter.process_user_preferences("alice", 5, now=start.astimezone(UTC))
    assert result.counts == {"planned": 10}
    rows = emitted()
    for e in rows:
        local = e.start_at.astimezone(tz)
        assert local.strftime("%H:%M") in ("06:00", "23:00")
        assert e.local_date == local.date()
        assert e.end_at - e.start_at == timedelta(minutes=480 if local.hour == 23 else 60)
    assert sorted({e.local_date for e in rows}) == [
        sunday + timedelta(days=d) for d in range(-2, 3)
    ]


def test_disable_and_remove_cancel_future_events_through_the_cli(cli):
    gym = prefs.create_preference(
        user_id="alice", preference_type="gym", start_time="06:00", duration_minutes=60
    )
    focus = prefs.create_preference(
        user_id="alice", preference_type="focus", start_time="10:00", duration_minutes=60
    )
    emitter.process_user_preferences("alice", 7)
    gym_events = {e.id for e in emitted() if e.preference_id == gym.id}
    assert gym_events and len(emitted()) > len(gym_events)
    result = cli("prefs", "disable", str(gym.id))
    assert result.exit_code == 0, result.output
    assert all(e.preference_id != gym.id for e in emitted())
    cancelled = {p["event_id"] for p in sync_jobs() if p["revision"] == 2}
    assert cancelled == gym_events
    # Enabling again brings back the events the emitter cancelled.
    assert cli("prefs", "enable", str(gym.id)).exit_code == 0
    emitter.process_user_preferences("alice", 7)
    assert {e.id for e in emitted() if e.preference_id == gym.id} == gym_events
    focus_events = {e.id for e in emitted() if e.preference_id == focus.id}
    assert cli("prefs", "remove", str(focus.id)).exit_code == 0
    with session_scope() as s:
        for event_id in focus_events:
            assert s.get(CalendarEvent, event_id).status == "cancelled"


def test_an_event_the_user_cancelled_is_not_recreated():
    prefs.create_preference(
        user_id="alice",
        preference_type="gym",
        start_time="06:00",
        duration_minutes=60,
        day_of_week=[2],
    )
    now = MONDAY.astimezone(UTC)
    [first] = emitter.process_user_preferences("alice", 7, now=now).placements
    events.cancel_event("alice", first.event_id)
    again = emitter.process_user_preferences("alice", 7, now=now)
    assert again.counts == {"skipped": 1} and emitted() == []


def test_nearest_free_prefers_the_smaller_move():
    from agentcal.planning.placement import Busy

    t = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    h = timedelta(hours=1)
    busy = [Busy(t, t + h, "a")]
    assert nearest_free(busy, t + timedelta(minutes=10), h, 2 * h) == t + h
    assert nearest_free(busy, t - timedelta(minutes=10), h, 2 * h) == t - h
    assert nearest_free(busy, t, h, timedelta(minutes=30)) is None


def test_pattern_analysis_turns_recurring_agent_events_into_habits():
    from agentcal.insights.patterns import pattern_analysis

    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    for offset, hhmm in ((1, "18:00"), (3, "18:10"), (8, "17:55"), (10, "18:05")):
        day = (now - timedelta(days=offset)).astimezone(PARIS).date()
        events.create_event(
            user_id="alice", title="Yoga class", start=at(day, hhmm), duration_minutes=60
        )
    events.create_event(
        user_id="alice",
        title="Dentist",
        start=at(now.date() - timedelta(days=2), "09:00"),
        duration_minutes=30,
    )
    [pattern] = pattern_analysis.analyse_user("alice", now=now)
    insight = insights.get_insight("alice", "health/yoga_class_time")
    assert (insight.source, insight.insight_type, insight.confidence) == (
        "pattern_analysis",
        "habit",
        0.55,
    )
    assert insight.value["time"] == "18:00" and insight.value["duration_minutes"] == 60
    pattern_analysis.analyse_user("alice", now=now)
    assert (
        insights.get_insight("alice", "health/yoga_class_time").confidence == 0.55
    )  # not inflated
    assert pattern.days_seen == 4
