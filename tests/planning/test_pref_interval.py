"""Preferences every N weeks ("every other Wednesday"), at every layer: the rule, the service,
the emitter over eight weeks across a DST change, the migration, `agentcal prefs`, the insight
tool and the offline model."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from agentcal.db import session_scope
from agentcal.models import CalendarEvent
from agentcal.planning.emitter import calendar_event_emitter as emitter
from agentcal.planning.planner import OFF_SCHEDULE_NOTE
from agentcal.planning.preferences import calendar_preferences_service as prefs
from agentcal.planning.recurrence import next_day_on, occurs_on

PARIS = ZoneInfo("Europe/Paris")  # the test store's zone (conftest); DST starts 2027-03-28
MONDAY = date(2027, 3, 8)
WEEKS = 8


class NoBusy:
    name = "none"

    def busy_times(self, start, end):  # type: ignore[no-untyped-def]
        return []


def planned(pref_id: int, statuses=("planned", "confirmed")) -> list[CalendarEvent]:
    with session_scope() as s:
        return list(
            s.exec(
                select(CalendarEvent)
                .where(CalendarEvent.preference_id == pref_id)
                .where(CalendarEvent.status.in_(statuses))
                .order_by(CalendarEvent.start_at)
            )
        )


def emit(now_day: date = MONDAY, days: int = 7 * WEEKS):  # type: ignore[no-untyped-def]
    now = datetime.combine(now_day, datetime.min.time(), tzinfo=PARIS).astimezone(UTC)
    return emitter.process_user_preferences("alice", days, now=now, backend=NoBusy())


# -- the rule ---------------------------------------------------------------------------------
def test_every_other_week_counts_whole_weeks_from_the_anchor():
    wednesday = date(2027, 3, 10)
    on = [
        d
        for d in (MONDAY + timedelta(days=i) for i in range(56))
        if occurs_on(d, [3], 2, wednesday)
    ]
    assert on == [date(2027, 3, 10), date(2027, 3, 24), date(2027, 4, 7), date(2027, 4, 21)]


def test_weeks_run_monday_to_sunday_so_every_day_of_an_anchor_week_counts():
    thursday = date(2027, 3, 11)  # the anchor week is 8-14 March; its Tuesday is before it
    days = [
        d
        for d in (MONDAY + timedelta(days=i) for i in range(28))
        if occurs_on(d, [2, 5], 2, thursday)
    ]
    assert days == [date(2027, 3, 12), date(2027, 3, 23), date(2027, 3, 26)]


def test_nothing_happens_before_the_anchor_even_weekly():
    assert not occurs_on(date(2027, 3, 3), [3], 1, date(2027, 3, 10))
    assert occurs_on(date(2027, 3, 17), [3], 1, date(2027, 3, 10))
    assert occurs_on(date(2027, 3, 3), [3])  # no anchor: every week, always


def test_next_day_on_is_the_default_anchor():
    assert next_day_on([3], date(2027, 3, 8)) == date(2027, 3, 10)
    assert next_day_on([1], date(2027, 3, 8)) == date(2027, 3, 8)  # today counts
    assert next_day_on(None, date(2027, 3, 9)) == date(2027, 3, 9)


# -- the service ------------------------------------------------------------------------------
def test_a_preference_every_two_weeks_gets_its_next_day_as_anchor(monkeypatch):
    pref = prefs.create_preference(
        user_id="alice", preference_type="event", title="Book club", start_time="19:00",
        duration_minutes=90, day_of_week=[4], interval_weeks=2,
    )  # fmt: skip
    today = datetime.now(PARIS).date()
    assert pref.interval_weeks == 2 and pref.anchor_date == next_day_on([4], today)
    weekly = prefs.create_preference(
        user_id="alice", preference_type="gym", start_time="07:00", duration_minutes=60
    )
    assert (weekly.interval_weeks, weekly.anchor_date) == (1, None)
    edited = prefs.update_preference("alice", weekly.id, interval_weeks=3, day_of_week=[1])
    assert edited.anchor_date == next_day_on([1], today)


# -- the emitter ------------------------------------------------------------------------------
def test_the_emitter_places_only_the_weeks_on_the_interval_across_dst():
    pref = prefs.create_preference(
        user_id="alice", preference_type="event", title="Choir", start_time="19:30",
        duration_minutes=90, day_of_week=[3], interval_weeks=2, anchor_date="2027-03-17",
    )  # fmt: skip
    every_third = prefs.create_preference(
        user_id="alice", preference_type="gym", title="Long ride", start_time="08:00",
        duration_minutes=120, day_of_week=[6, 7], interval_weeks=3, anchor_date="2027-03-08",
    )  # fmt: skip
    result = emit()

    choir = planned(pref.id)
    # 17 March, then every two weeks; not 10 March (before the anchor), never an odd week.
    assert [e.local_date for e in choir] == [
        date(2027, 3, 17), date(2027, 3, 31), date(2027, 4, 14), date(2027, 4, 28),
    ]  # fmt: skip
    # The same wall time on both sides of the DST change (28 March): dates, not 14-day deltas.
    assert {e.start_at.astimezone(PARIS).strftime("%H:%M") for e in choir} == {"19:30"}
    assert {e.end_at - e.start_at for e in choir} == {timedelta(minutes=90)}
    assert choir[1].start_at - choir[0].start_at == timedelta(days=14) - timedelta(hours=1)
    ride = planned(every_third.id)
    assert [e.local_date for e in ride] == [
        date(2027, 3, 13), date(2027, 3, 14), date(2027, 4, 3), date(2027, 4, 4),
        date(2027, 4, 24), date(2027, 4, 25),
    ]  # fmt: skip
    assert result.counts == {"planned": 10}
    assert emit().counts == {"unchanged": 10}  # a rerun creates nothing


def test_changing_the_interval_cancels_the_weeks_it_dropped_and_brings_them_back():
    pref = prefs.create_preference(
        user_id="alice", preference_type="gym", title="Swim", start_time="07:00",
        duration_minutes=60, day_of_week=[6],
    )  # fmt: skip
    emit()
    assert len(planned(pref.id)) == WEEKS
    prefs.update_preference("alice", pref.id, interval_weeks=2, anchor_date="2027-03-13")
    result = emit()
    kept = [e.local_date for e in planned(pref.id)]
    assert kept == [date(2027, 3, 13) + timedelta(weeks=2 * i) for i in range(4)]
    dropped = planned(pref.id, ("cancelled",))
    assert len(dropped) == 4 and {e.placement_note for e in dropped} == {OFF_SCHEDULE_NOTE}
    assert len(result.of("cancelled")) == 4

    prefs.update_preference("alice", pref.id, interval_weeks=1)
    back = emit()
    assert len(planned(pref.id)) == WEEKS
    assert all("back on its preference's days" in p.reason for p in back.of("updated"))
    assert len(back.of("updated")) == 4


def test_a_day_the_user_cancelled_stays_cancelled():
    from agentcal.planning.events import calendar_events_service as events

    pref = prefs.create_preference(
        user_id="alice", preference_type="gym", title="Swim", start_time="07:00",
        duration_minutes=60, day_of_week=[6], interval_weeks=2, anchor_date="2027-03-13",
    )  # fmt: skip
    emit()
    first = planned(pref.id)[0]
    events.cancel_event("alice", first.id)
    assert emit().of("skipped")[0].local_date == first.local_date
    assert planned(pref.id)[0].local_date == date(2027, 3, 27)


# -- the migration ----------------------------------------------------------------------------
def test_migration_up_and_down_keeps_preferences_and_their_events(engine):
    """On SQLite and (AGENTCAL_TEST_DATABASE=postgres) PostgreSQL: existing rows read every
    week after the upgrade; the downgrade drops the columns without touching other rows (no
    table copy, which would null the events' preference ids through the foreign key)."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect, text

    from agentcal.db import SCHEMA_HEAD, alembic_config, current_revision

    cfg = alembic_config(engine)
    mine = next(
        r for r in ScriptDirectory.from_config(cfg).walk_revisions()
        if r.revision.endswith("_pref_interval")
    )  # fmt: skip
    pref = prefs.create_preference(
        user_id="alice", preference_type="event", title="Choir", start_time="19:30",
        duration_minutes=90, day_of_week=[3], interval_weeks=2, anchor_date="2027-03-17",
    )  # fmt: skip
    emit(days=14)
    (event,) = planned(pref.id)

    def columns() -> set[str]:
        with engine.connect() as conn:
            return {c["name"] for c in inspect(conn).get_columns("calendar_preferences")}

    command.downgrade(cfg, str(mine.down_revision))
    assert current_revision(engine) == mine.down_revision
    assert {"interval_weeks", "anchor_date"}.isdisjoint(columns())
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM calendar_preferences")).scalars().all() == [
            "Choir"
        ]
        ref = conn.execute(
            text("SELECT preference_id FROM calendar_events WHERE id = :i"), {"i": event.id}
        ).scalar_one()
    assert ref == pref.id

    command.upgrade(cfg, "head")
    assert current_revision(engine) == SCHEMA_HEAD
    engine.dispose()
    stored = prefs.get_preference("alice", pref.id)
    assert (stored.interval_weeks, stored.anchor_date) == (1, None)  # every week again
    assert [e.id for e in planned(pref.id)] == [event.id]


# -- the CLI ----------------------------------------------------------------------------------
def test_prefs_add_edit_and_list_take_and_show_the_interval(cli):
    out = cli("prefs", "add", "event", "--title", "Book club", "--at", "19:00", "--days", "thu",
              "--every", "2", "--from", "2027-03-11", "--json")  # fmt: skip
    assert out.exit_code == 0, out.output
    pref = json.loads(out.stdout)
    assert (pref["interval_weeks"], pref["anchor_date"]) == (2, "2027-03-11")
    listed = cli("prefs", "list")
    assert "Thu every 2 weeks from 2027-03-11" in listed.output
    edited = cli("prefs", "edit", str(pref["id"]), "--every", "3", "--json")
    assert json.loads(edited.stdout)["interval_weeks"] == 3
    weekly = cli("prefs", "edit", str(pref["id"]), "--every", "1", "--from", "2027-04-01")
    assert weekly.exit_code == 0 and "Thu from 2027-04-01" in weekly.output


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--every", "0"), "interval_weeks must be between 1"),
        (("--every", "53"), "interval_weeks must be between 1"),
        (("--every", "2", "--from", "soon"), "anchor_date must be a date"),
    ],
)
def test_prefs_refuse_bad_intervals_in_one_line(cli, snapshot, args, error):
    before = snapshot()
    result = cli("prefs", "add", "gym", "--at", "07:00", *args)
    assert result.exit_code == 1 and error in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert snapshot() == before


# -- the insight tool and the offline model ---------------------------------------------------
def test_the_agent_tools_list_preferences_with_their_interval(engine):
    from agentcal.agent import operations as ops
    from agentcal.agent.context import AgentContext

    prefs.create_preference(
        user_id="alice", preference_type="event", title="Book club", start_time="19:00",
        duration_minutes=90, day_of_week=[4], interval_weeks=2, anchor_date="2027-03-11",
    )  # fmt: skip
    ctx = AgentContext(user_id="alice", timezone="Europe/Paris", engine=engine)
    (listed,) = ops.list_preferences(ctx)["preferences"]
    assert (listed["interval_weeks"], listed["anchor_date"]) == (2, "2027-03-11")


def test_an_insight_every_other_week_becomes_such_a_preference():
    from types import SimpleNamespace

    from agentcal.planning.from_insights import spec_from_insight

    value = {"time": "19:00", "duration_minutes": 60, "days": [4], "title": "Book club",
             "interval_weeks": 2, "anchor_date": "2027-03-11", "preference_type": "event"}  # fmt: skip
    spec, why = spec_from_insight(
        SimpleNamespace(key="book_club_event", category="schedule", value=value, confidence=0.9),
        0.7,
    )
    assert spec is not None, why
    assert (spec.interval_weeks, spec.anchor_date) == (2, date(2027, 3, 11))
    recorded = SimpleNamespace(
        key="x_event", category="schedule", confidence=0.9,
        value={**value, "anchor_date": None}, created_at=datetime(2027, 3, 8, 12, tzinfo=UTC),
    )  # fmt: skip
    spec, _ = spec_from_insight(recorded, 0.7)
    assert spec.anchor_date == date(2027, 3, 11)  # its next Thursday from when it was recorded


def test_the_offline_model_records_every_other_week_end_to_end(engine):
    """'book club every second Thursday at 7pm' in chat -> the tool (its schema takes the
    interval) -> the insight job -> a preference every two weeks -> events on those weeks."""
    from agentcal.agent.offline import OfflineChatModel
    from agentcal.agent.runner import ChatRunner
    from agentcal.settings import get_settings
    from agentcal.workers.handlers import HANDLERS
    from agentcal.workers.runner import JobWorker

    now = datetime(2027, 3, 8, 9, 0, tzinfo=PARIS)
    model = OfflineChatModel(timezone="Europe/Paris", fixed_now=now)
    runner = ChatRunner(model, user_id="alice", settings=get_settings(), engine=engine)
    turn = runner.run_turn("book club every second Thursday at 7pm")
    assert turn.ok and "every 2 weeks from Thu 11 Mar" in turn.answer, turn.answer
    JobWorker(handlers={"update_insight": HANDLERS["update_insight"]}).run_once()
    emit()
    (pref,) = prefs.list_preferences("alice")
    assert (pref.title, pref.interval_weeks, pref.anchor_date) == (
        "Book club",
        2,
        date(2027, 3, 11),
    )
    assert [e.local_date for e in planned(pref.id)] == [
        date(2027, 3, 11), date(2027, 3, 25), date(2027, 4, 8), date(2027, 4, 22),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "text",
    ["yoga every other day at 7am", "supper club on the first Friday of the month at 8pm",
     "accounts review monthly at 10am", "quiz night every last Thursday at 8pm",
     "sprint review every 2 weeks at 4pm"],
)  # fmt: skip
def test_what_weeks_cannot_say_is_refused_with_a_reason(text):
    from agentcal.agent import quickadd

    intent = quickadd.parse(text, datetime(2027, 3, 8, 9, tzinfo=PARIS))
    assert intent.kind == "ask" and "nothing was saved" in intent.message
