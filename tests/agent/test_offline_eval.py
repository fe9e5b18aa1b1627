"""The offline model's request sets and their scorer (issue 14).

The dev set is scored here; the held-out set is only loaded (to prove it parses), never scored
in tests: it is scored once, at the end, with `bench/bench_offline.py --set heldout`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.offline_eval.cases import DEV, HELDOUT, LONG_MESSAGE, Case, load, parse_days
from tests.offline_eval.score import Evaluator, State, judge, table

CATEGORIES = {
    "dates", "places", "edits", "deletes", "compound", "followups", "listing", "free",
    "habits", "recurring", "badinput", "stops",
}  # fmt: skip


def test_dev_set_covers_every_category_with_several_zones():
    cases = load(DEV)
    assert len(cases) >= 200
    assert {c.category for c in cases} == CATEGORIES
    assert len({c.zone for c in cases}) >= 4
    assert sum(1 for c in cases if c.priors) >= 15


def test_heldout_set_parses_and_is_separate():
    dev, held = load(DEV), load(HELDOUT)
    assert len(held) >= 100
    shared = {c.text for c in held} & {c.text for c in dev}
    assert all(len(t) <= 12 or t == LONG_MESSAGE for t in shared), shared


def test_days_notation():
    assert parse_days("1-5") == [1, 2, 3, 4, 5]
    assert parse_days("1-4,7") == [1, 2, 3, 4, 7]
    assert parse_days("*") is None


def _case(expect: str) -> Case:
    zone = "Europe/Paris"
    return Case("t", "x", expect, zone, datetime(2026, 11, 26, 10, tzinfo=ZoneInfo(zone)), ())


def _event(title: str, start: str, minutes: int, status: str = "planned") -> dict:
    from datetime import timedelta

    at = datetime.fromisoformat(start).replace(tzinfo=ZoneInfo("Europe/Paris"))
    return {
        "title": title, "start": at, "end": at + timedelta(minutes=minutes),
        "location": None, "status": status,
    }  # fmt: skip


def test_judge_create_exact_partial_and_refused():
    before = State({1: _event("Doctor", "2026-11-27 10:00", 30)}, [])
    made = State({**before.events, 2: _event("Dentist", "2026-11-27 15:00", 60)}, [])
    case = _case("create | Dentist | 2026-11-27 15:00 | *")
    assert judge(case, before, made, [], "", True) == ("exact", "")
    late = _case("create | Dentist | 2026-11-27 16:00 | 60")
    assert judge(late, before, made, [], "", True)[0] == "partial"
    assert judge(case, before, before, [], "", True)[0] == "refused"
    window = _case("create | Dentist | 2026-11-27 12:00~18:00 | 60")
    assert judge(window, before, made, [], "", True) == ("exact", "")


def test_judge_stop_only_that_habit_and_no_stop_where_nothing_is_wanted():
    before = State({}, [], {"Morning Gym": True, "Swim": True})
    gym_off = State({}, [], {"Morning Gym": False, "Swim": True})
    both_off = State({}, [], {"Morning Gym": False, "Swim": False})
    assert judge(_case("stop | Morning Gym"), before, gym_off, [], "", True) == ("exact", "")
    assert judge(_case("stop | Morning Gym"), before, both_off, [], "", True)[0] == "wrong"
    assert judge(_case("stop | Morning Gym"), before, before, [], "", True)[0] == "refused"
    assert judge(_case("ask1"), before, gym_off, [], "ok", True)[0] == "wrong"
    listed = [("list_habits", {})]
    answer = "Your habits:\n  - “Morning Gym” weekdays at 06:00\n  - “Swim” Tue at 18:00"
    case = _case("habits | Morning Gym, Swim")
    assert judge(case, before, before, listed, answer, True) == ("exact", "")
    assert judge(case, before, before, listed, "Your habits: Swim", True)[0] == "partial"


def test_judge_update_on_the_wrong_event_is_wrong():
    doctor, run = _event("Doctor", "2026-11-27 10:00", 30), _event("Run", "2026-11-27 07:00", 45)
    before = State({1: doctor, 2: run}, [])
    moved_run = State({1: doctor, 2: _event("Run", "2026-11-27 11:00", 45)}, [])
    case = _case("update | Doctor | start=2026-11-27 11:00")
    assert judge(case, before, moved_run, [], "", True)[0] == "wrong"
    moved = State({1: _event("Doctor", "2026-11-27 11:00", 30), 2: run}, [])
    assert judge(case, before, moved, [], "", True) == ("exact", "")
    cancelled = State({1: _event("Doctor", "2026-11-27 10:00", 30, "cancelled"), 2: run}, [])
    assert judge(_case("delete | Doctor"), before, cancelled, [], "", True) == ("exact", "")
    assert judge(case, before, cancelled, [], "", True)[0] == "wrong"


def test_judge_reads_and_asks():
    empty = State({}, [])
    listing = [
        ("list_events", {"start": "2026-11-27T00:00+01:00", "end": "2026-11-28T00:00+01:00"})
    ]
    case = _case("list | 2026-11-27 00:00 | 2026-11-28 00:00")
    assert judge(case, empty, empty, listing, "", True) == ("exact", "")
    assert judge(case, empty, empty, [], "", True)[0] == "refused"
    free = _case("free | 2026-11-27 14:00 | 2026-11-27 16:00 | busy: Doctor")
    assert judge(free, empty, empty, listing, "Busy: Doctor 14:00", True)[0] == "exact"
    assert judge(_case("ask1"), empty, empty, [], "two\nlines", True)[0] == "partial"
    wrote = State({1: _event("X", "2026-11-27 10:00", 30)}, [])
    assert judge(_case("ask"), empty, wrote, [], "", True)[0] == "wrong"


def test_judge_habit_through_the_preference_it_makes():
    job = {
        "insight_type": "habit", "category": "health", "key": "gym_time", "confidence": 0.9,
        "value": {"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5]},
    }  # fmt: skip
    after = State({}, [job])
    assert judge(_case("pref | gym | 06:00 | * | 1-5"), State({}, []), after, [], "", True) == (
        "exact",
        "",
    )
    assert judge(_case("pref | gym | 07:00 | 60 | *"), State({}, []), after, [], "", True)[0] == (
        "partial"
    )


@pytest.mark.parametrize("line", [0, 1])
def test_dev_cases_run_end_to_end(engine, line):
    """Two dev cases through the real runner and store: one read, one write."""
    cases = [c for c in load(DEV) if c.category in ("listing", "dates")]
    picked = [c for c in cases if c.text in ("what's on today", "dentist wed 9am")][line]
    outcome = Evaluator(engine).run(picked)
    assert outcome.verdict == "exact", outcome.why
    assert "exact" in table([outcome])
