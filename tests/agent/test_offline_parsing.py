"""The offline model's parts: dates and times (agent.when), routines (agent.habits), title
matching (services.matching), intents (agent.quickadd), and the dev set as a whole."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from agentcal.agent import habits, quickadd, when
from agentcal.planning.matching import matches, score

TODAY = date(2026, 12, 1)  # a Tuesday
NOW = datetime(2026, 12, 1, 9, 30, tzinfo=ZoneInfo("Europe/London"))


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("on the 21st at 10", date(2026, 12, 21)),
        ("on the 3rd", date(2026, 12, 3)),
        ("the 31st", date(2026, 12, 31)),
        ("tmrw", date(2026, 12, 2)),
        ("thu", date(2026, 12, 3)),
        ("tuesday", date(2026, 12, 8)),
        ("this tuesday", date(2026, 12, 1)),
        ("in three days", date(2026, 12, 4)),
        ("in a week", date(2026, 12, 8)),
        ("the day after tomorrow", date(2026, 12, 3)),
        ("12 December", date(2026, 12, 12)),
        ("Dec 16th", date(2026, 12, 16)),
        ("january 12", date(2027, 1, 12)),
        ("friday the 4th", date(2026, 12, 4)),
        ("2026-12-09", date(2026, 12, 9)),
        ("18/12", date(2026, 12, 18)),
    ],
)
def test_dates(text, day):
    hit = when.find_date(when.lower(text), TODAY)
    assert hit is not None and hit.error is None and hit.day == day


@pytest.mark.parametrize(
    "text", ["April 31", "february 30", "31 november", "the 32nd", "2026-02-30"]
)
def test_impossible_dates_are_errors_not_other_days(text):
    hit = when.find_date(when.lower(text), TODAY)
    assert hit is not None and hit.day is None and hit.error.startswith("there is no")


def test_numeric_dates_follow_the_zone():
    assert when.find_date("3/12", TODAY).day == date(2026, 12, 3)
    assert when.find_date("3/12", TODAY, month_first=True).day == date(2027, 3, 12)
    assert when.month_first("America/Chicago") and not when.month_first("Europe/Paris")


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("at 10", time(10)), ("at 3", time(15)), ("5:30pm", time(17, 30)), ("14:00", time(14)),
        ("noon", time(12)), ("at 7 in the evening", time(19)), ("9.30am", time(9, 30)),
        ("dinner at 8", time(20)), ("after I wake up at 6:30", time(6, 30)), ("@ 7pm", time(19)),
    ],
)  # fmt: skip
def test_times(text, at):
    assert when.find_time(text)[0] == at


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("9 to 11", time(9), time(11)), ("1-3pm", time(13), time(15)),
        ("12-1", time(12), time(13)), ("4:30-5pm", time(16, 30), time(17)),
        ("from 11pm to 7am", time(23), time(7)), ("between 14:00 and 15:30", time(14), time(15, 30)),
        ("11-1pm", time(11), time(13)),
    ],
)  # fmt: skip
def test_ranges(text, start, end):
    found = when.find_range(text)
    assert found is not None and found[:2] == (start, end)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("for 45 minutes", 45), ("2 hours", 120), ("an hour and a half", 90), ("1h30", 90),
        ("half an hour", 30), ("a 20 minute walk", 20), ("it takes 40 minutes", 40),
    ],
)  # fmt: skip
def test_durations(text, minutes):
    assert when.find_duration(text)[0] == minutes


def test_offsets_and_shifts():
    assert when.find_offset("in 45 minutes")[0] == timedelta(minutes=45)
    assert when.find_shift("back 30 minutes")[0] == timedelta(minutes=30)
    assert when.find_shift("by a week")[0] == timedelta(days=7)
    assert when.find_shift("forward an hour")[0] == timedelta(hours=-1)


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("mondays and thursdays", [1, 4]), ("weekends", [6, 7]), ("weeknights", [1, 2, 3, 4, 5]),
        ("on Monday, Wednesday and Friday", [1, 3, 5]), ("every day", None),
    ],
)  # fmt: skip
def test_day_sets(text, days):
    assert when.find_days(when.lower(text))[0] == days


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("doctor appointment", "Doctor"), ("call with priya", "Call w/ Priya"),
        ("sarah 1:1", "1:1 w/ Sarah"), ("dentst", "Dentist"), ("physio session", "Physio"),
        ("review", "Quarterly review"),
    ],
)  # fmt: skip
def test_titles_match_by_words_and_similarity(query, title):
    assert matches(query, title)


@pytest.mark.parametrize(
    ("query", "title"), [("team lunch", "Team sync"), ("dentist", "Doctor"), ("gym", "Swim")]
)
def test_titles_that_do_not_match(query, title):
    assert not matches(query, title)


def test_closer_titles_score_higher():
    assert score("review", "Review") > score("review", "Quarterly review")


@pytest.mark.parametrize(
    ("text", "ptype_key", "value"),
    [
        ("I go swimming on Mondays and Thursdays at 7am", "swim_time",
         {"time": "07:00", "days": [1, 4]}),
        ("I stretch at 7 in the evening for 10 minutes", "stretching_time",
         {"time": "19:00", "duration_minutes": 10}),
        ("I sleep from 11pm to 7am", "sleep_time", {"time": "23:00", "duration_minutes": 480}),
        ("team standup every weekday at 9:30", "team_standup_event",
         {"time": "09:30", "days": [1, 2, 3, 4, 5], "title": "Team standup"}),
    ],
)  # fmt: skip
def test_routines_become_insights(text, ptype_key, value):
    intent = quickadd.parse(text, NOW)
    assert intent.kind == "insight" and intent.insight["key"] == ptype_key
    assert value.items() <= intent.insight["value"].items()


def test_a_guessed_time_is_only_a_suggestion():
    body = quickadd.parse("I meditate every day", NOW).insight
    assert body["confidence"] == habits.GUESSED < 0.7


@pytest.mark.parametrize(
    "text",
    ["I run on the first Wednesday of the month at 6pm", "book club every first Thursday at 7pm",
     "I work out 3 times a week", "no meetings on friday afternoons", "I swim every other day",
     "standup every 2 weeks at 9"],
)  # fmt: skip
def test_repetitions_the_calendar_cannot_keep_are_refused(text):
    intent = quickadd.parse(text, NOW)
    assert intent.kind == "ask" and "nothing was saved" in intent.message


@pytest.mark.parametrize(
    ("text", "every", "days", "first"),
    [
        ("I run every other Wednesday at 6pm", 2, [3], "2026-12-02"),
        ("book club every second Thursday at 7pm", 2, [4], "2026-12-03"),
        ("I swim every third Tuesday at 7am", 3, [2], "2026-12-01"),  # today is a Tuesday
        ("fortnightly team call on mondays at 4pm", 2, [1], "2026-12-07"),
        ("bi-weekly 1:1 with Ana on fridays at 11", 2, [5], "2026-12-04"),
        ("budget review every 4 weeks on thursday at 10am", 4, [4], "2026-12-03"),
        ("I go hiking every other weekend at 9am", 2, [6, 7], "2026-12-05"),
    ],
)  # fmt: skip
def test_repetitions_every_few_weeks_start_on_their_next_day(text, every, days, first):
    value = quickadd.parse(text, NOW).insight["value"]
    assert (value["interval_weeks"], value["days"], value["anchor_date"]) == (every, days, first)
    assert "every" not in value.get("title", "").lower()


def test_interval_words_are_no_title_words():
    body = quickadd.parse("book club every second Thursday at 7pm", NOW).insight
    assert body["value"]["title"] == "Book club" and body["preference_type"] == "event"
    assert (
        "interval_weeks" not in quickadd.parse("team sync every monday at 10", NOW).insight["value"]
    )


def test_people_and_places_are_split():
    intent = quickadd.parse("coffee with Ana at Blue Door tomorrow at 9", NOW)
    assert (intent.title, intent.location, intent.at) == ("Coffee with Ana", "Blue Door", time(9))


def test_compound_edit_keeps_the_rest_out_of_the_title():
    intent = quickadd.parse("rename standup to Daily sync and move it to 9:45", NOW)
    assert intent.kind == "edit" and intent.target.words == "standup"
    assert (intent.change.title, intent.change.at) == ("Daily sync", time(9, 45))


def test_follow_ups_point_at_it():
    for text in ("actually 5pm", "make it 30 minutes longer", "cancel it", "move that to Monday"):
        intent = quickadd.parse(text, NOW)
        assert intent.target is not None and intent.target.pronoun, text


def test_the_zone_is_an_input():
    tokyo = datetime(2026, 12, 1, 23, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    intent = quickadd.parse("dentist tomorrow at 9", tokyo)
    assert intent.day == date(2026, 12, 2)


def test_dev_set_is_understood(engine):
    """The whole dev set end to end: >= 90% exact and no wrong write (partial or wrong)."""
    from tests.offline_eval.cases import DEV, load
    from tests.offline_eval.score import Evaluator, tally

    outcomes = Evaluator(engine).run_all(load(DEV))
    counts = tally(outcomes)["all"]
    bad = [
        f"{o.case.line}: {o.case.text} -> {o.why}"
        for o in outcomes
        if o.verdict in ("partial", "wrong")
    ]
    assert not bad, bad
    assert counts["exact"] >= 0.9 * len(outcomes), counts


@pytest.mark.parametrize(
    "text",
    ["I can't make the swim on friday, cancel it", "swim at 8 instead of 7 on friday",
     "call the 1:1 with Sarah Career chat and move it to 11:30"],
)  # fmt: skip
def test_unclear_changes_ask_instead_of_creating(text):
    assert quickadd.parse(text, NOW).kind == "ask"


def test_interjections_lead_into_follow_ups():
    for text in (
        "nope, move it to 4",
        "no wait, 6pm",
        "oops, delete it",
        "I'd like to move it to 5",
    ):
        intent = quickadd.parse(text, NOW)
        assert intent.kind in ("edit", "cancel") and intent.target.pronoun, text


def test_no_29_february_in_a_common_year():
    hit = when.find_date("feb 29", date(2027, 2, 10))
    assert hit.day is None and hit.error == "there is no February 29"


def test_day_parts_after_this_and_titles_with_unit_words():
    intent = quickadd.parse("am I free this afternoon?", NOW)
    assert (intent.kind, intent.at, intent.end_at) == ("free", time(12), time(18))
    body = quickadd.parse("happy hour every friday at 5", NOW).insight
    assert body["value"]["title"] == "Happy hour" and body["preference_type"] == "event"


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("am I free tomorrow at 4?", time(16)), ("am I free on friday at 1", time(13)),
        ("am I busy at 7 tomorrow", time(19)), ("am I free tomorrow at 9?", time(9)),
        ("am I free at 6am tomorrow?", time(6)),
    ],
)  # fmt: skip
def test_free_questions_read_a_bare_hour_as_creates_do(text, at):
    intent = quickadd.parse(text, NOW)
    assert intent.kind == "free" and intent.at == at
    create = quickadd.parse(text.replace("am I free", "lunch").replace("am I busy", "lunch"), NOW)
    assert create.kind == "create" and create.at == at


@pytest.mark.parametrize(
    ("context", "hour", "at"),
    [
        ("am i free at 3", 3, time(15)),  # the "am" of "am I" is no a.m.
        ("i am up at 6", 6, time(6)), ("meet at 7", 7, time(19)), ("run at 7", 7, time(7)),
        ("at 5 am", 5, time(5)), ("at 9", 9, time(9)), ("dinner at 8", 8, time(20)),
    ],
)  # fmt: skip
def test_bare_hours_as_people_mean_them(context, hour, at):
    assert when.bare_hour(hour, 0, context) == at


def test_moves_read_a_bare_hour_in_the_afternoon():
    intent = quickadd.parse("move the review to 4", NOW)
    assert intent.kind == "edit" and intent.change.at == time(16)


@pytest.mark.parametrize(
    ("text", "ptype", "title"),
    [
        ("I go for a walk after dinner at 8pm every day", "break", "Walk"),
        ("I take a 15 minute walk after breakfast on weekdays at 8", "break", "Walk"),
        ("I have dinner after the gym at 8pm on mondays", "meal", None),
        ("I nap after lunch on weekends at 2pm", "event", "Nap"),
        ("team sync after lunch every monday at 2pm", "event", "Team sync"),
    ],
)  # fmt: skip
def test_the_activity_wins_over_its_time_anchor(text, ptype, title):
    body = quickadd.parse(text, NOW).insight
    assert body["preference_type"] == ptype and body["value"].get("title") == title


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("mentoring call with my team lead every Thursday at 4pm",
         "Mentoring call with my team lead"),
        ("call my dad every sunday at 5pm", "Call my dad"),
        ("my piano lesson is every Saturday at 11", "Piano lesson"),
        ("I have my Spanish class every Tuesday at 6pm", "Spanish class"),
        ("our team standup every weekday at 9:30", "Team standup"),
    ],
)  # fmt: skip
def test_a_possessive_stays_inside_a_title_and_goes_at_its_start(text, title):
    assert quickadd.parse(text, NOW).insight["value"]["title"] == title


def test_one_off_titles_follow_the_same_possessive_rule():
    assert quickadd.parse("coffee with my sister tomorrow at 4", NOW).title == (
        "Coffee with my sister"
    )
    assert quickadd.parse("my dentist appointment tomorrow at 3", NOW).title == (
        "Dentist appointment"
    )


LATE = datetime(2026, 12, 1, 16, 30, tzinfo=ZoneInfo("Europe/London"))


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        ("standup at 9am", date(2026, 12, 2), time(9)),  # 09:00 has passed: tomorrow's
        ("dinner at 7", date(2026, 12, 1), time(19)),  # still ahead today
        ("dentist at 9am today", date(2026, 12, 1), time(9)),  # said: today, even if past
        ("call the bank at 16:30", date(2026, 12, 1), time(16, 30)),  # now is not past
    ],
)
def test_a_time_without_a_day_is_the_next_one(text, day, at):
    intent = quickadd.parse(text, LATE)
    assert (intent.kind, intent.day, intent.at) == ("create", day, at)


@pytest.mark.parametrize(
    ("text", "period", "routine"),
    [
        ("lunch next week", "next week", False),
        ("team offsite next month", "next month", False),
        ("every day next week at 7am meditation for 10 minutes", "next week", True),
    ],
)
def test_a_period_without_a_day_asks_which_day(text, period, routine):
    intent = quickadd.parse(text, LATE)
    assert intent.kind == "ask"
    assert f"Which day {period} should I put" in intent.message
    assert intent.message.endswith("Nothing was added.")
    assert ("for a routine" in intent.message) is routine
