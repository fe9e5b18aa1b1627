"""The offline model and the user's habits: an ended routine stops the habit (never records
one), "stop the gym habit" does too, "what do you know about me?" lists them; the answers are
what the store holds afterwards."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from langchain_core.messages import HumanMessage

from agentcal.agent import quickadd
from agentcal.agent.offline import OfflineChatModel
from tests.agent.test_habit_tools import GYM, SWIM, future_events, habit, no_meetings_before, prefs

TZ = "Europe/Paris"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(TZ))


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("I don't go to the gym anymore", "gym"),
        ("I stopped swimming", "swim"),
        ("no more gym", "gym"),
        ("I quit yoga", "yoga"),
        ("I no longer meditate", "meditation"),
        ("I gave up running", "run"),
        ("I've stopped going to book club", "book club"),
        ("we don't do the team standup any more", "team standup"),
        ("stop the gym habit", "gym"),
        ("cancel my gym routine", "gym"),
        ("stop the morning gym", "morning gym"),
        ("pause my meditation", "meditation"),
        ("delete every swim session", "swim"),
    ],
)
def test_an_ended_routine_or_a_stop_request_is_a_stop(text, what):
    intent = quickadd.parse(text, NOW)
    assert (intent.kind, intent.title) == ("stop", what)
    reply = OfflineChatModel(timezone=TZ, fixed_now=NOW).respond([HumanMessage(text)])
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("stop_habit", {"what": what})]


@pytest.mark.parametrize(
    "text",
    [
        "I don't swim on Fridays anymore",  # some days only
        "I don't have lunch at 1pm anymore",  # one time only
        "stop it",  # which habit?
    ],
)
def test_a_partial_or_unnamed_stop_asks_and_records_nothing(text):
    intent = quickadd.parse(text, NOW)
    assert intent.kind == "ask" and "Nothing was changed" in (intent.message or "")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("cancel my morning gym", "cancel"),  # one event (asks which, naming the habit)
        ("cancel the swim on friday", "cancel"),
        ("cancel weekly planning", "cancel"),  # an event's title, not "every week"
        ("no more meetings before 10", "insight"),  # a rule
        ("I go to the gym every weekday at 7", "insight"),
        ("what do you know about me?", "habits"),
        ("show my habits", "habits"),
        ("what are my routines?", "habits"),
        ("what habits do I have", "habits"),
    ],
)
def test_what_stays_what_it_was_and_the_habit_questions(text, kind):
    assert quickadd.parse(text, NOW).kind == kind


@pytest.fixture
def runner():
    from agentcal.agent.runner import ChatRunner

    return ChatRunner(OfflineChatModel(timezone=TZ), user_id="alice", persist=False)


def test_the_leads_trial_gym_habit_stopped_not_recorded(runner):
    from agentcal.insights.user_insights import user_insights_service
    from agentcal.queue.jobs import job_queue

    habit("gym_time", GYM)
    planned = len(future_events("Morning Gym"))
    assert planned >= 3

    turn = runner.run_turn("I don't go to the gym anymore")
    assert turn.ok, turn.error
    assert turn.answer == (
        f"Stopped “Morning Gym” (weekdays at 06:00): {planned} future events cancelled, and it "
        f"won't be scheduled again. To bring it back: agentcal prefs enable "
        f"{prefs()['Morning Gym'].id}."
    )
    assert "Noted" not in turn.answer and not turn.notes  # no habit recorded, nothing "kept"
    assert [j for j in job_queue.list_jobs() if j.kind == "update_insight"] == []
    assert prefs()["Morning Gym"].is_active is False and future_events("Morning Gym") == []
    ended = user_insights_service.get_insight("alice", "health/gym_time").value["ended_on"]
    assert turn.done == [
        f"stopped “Morning Gym” (#{prefs()['Morning Gym'].id}), {planned} future event(s) cancelled"
    ]

    turn = runner.run_turn("what do you know about me?")
    assert turn.answer == (
        "Your habits:\n"
        f"  - “Morning Gym” weekdays at 06:00 for 60 min (#{prefs()['Morning Gym'].id}) (off)"
    )
    turn = runner.run_turn("I don't go to the gym anymore")
    assert turn.answer == "“Morning Gym” was already off; nothing was changed."
    assert ended  # the insight says since when


def test_stop_names_the_candidates_when_unsure_and_lists_insights(runner):

    habit("gym_time", GYM)
    habit("evening_gym_time", {**GYM, "time": "19:00", "title": "Evening Gym"})
    habit("swim_time", SWIM)
    no_meetings_before()
    answer = runner.run_turn("stop the gym habit").answer
    assert answer.startswith("Several habits match: “Morning Gym” weekdays at 06:00")
    assert "“Evening Gym”" in answer and "Swim" not in answer
    assert answer.endswith("Which one? Nothing was changed.")
    assert all(p.is_active for p in prefs().values())

    answer = runner.run_turn("I quit yoga").answer
    assert answer.startswith("No habit matches “yoga”; nothing was changed. Your habits: ")

    assert runner.run_turn("stop my evening gym").answer.startswith("Stopped “Evening Gym”")
    listing = runner.run_turn("show my habits").answer
    assert "(off)" in listing.split("Evening Gym")[1].splitlines()[0]
    # The habits' own insights are shown by their habits; the rule is what else was said.
    assert listing.endswith("What you told me:\n  - no meetings before 10:00")


def test_cancelling_one_of_a_habits_events_offers_to_stop_the_habit(runner):
    habit("gym_time", GYM)
    answer = runner.run_turn("cancel my morning gym").answer
    assert answer.startswith("Several events match “my morning gym”")
    assert "To stop the whole routine, say “stop the Morning Gym habit”." in answer
    assert prefs()["Morning Gym"].is_active is True


def test_a_guess_over_what_the_user_said_says_it_was_kept_not_noted(runner):
    """The lead's second line ("Kept what you said before ...") no longer contradicts the
    first: a guessed time over a stated habit is said to be kept from the start."""
    from agentcal.insights.user_insights import user_insights_service

    habit("gym_time", GYM)
    turn = runner.run_turn("I go to the gym")  # no time said: a guess (confidence 0.6)
    assert turn.ok, turn.error
    assert turn.answer == (
        "You told me before about health/gym_time (“Morning Gym” at 06:00 for 60 min); I kept "
        "that: a guess does not overwrite it."
    )
    assert turn.notes == [
        "Kept what you said before about health/gym_time: a guess does not overwrite it."
    ]
    stored = user_insights_service.get_insight("alice", "health/gym_time")
    assert stored.value["time"] == "06:00" and prefs()["Morning Gym"].start_time == "06:00"

    # Said plainly, the new time replaces the old one, as before.
    turn = runner.run_turn("I go to the gym on weekdays at 7am")
    assert turn.answer.startswith("Noted: gym, weekdays at 07:00 for 60 min (health/gym_time).")


def test_saying_a_stopped_habit_again_brings_it_back(runner):
    habit("gym_time", GYM)
    runner.run_turn("I don't go to the gym anymore")
    assert prefs()["Morning Gym"].is_active is False

    turn = runner.run_turn("I go to the gym on weekdays at 7am")
    assert turn.answer.startswith("Noted: gym, weekdays at 07:00 for 60 min (health/gym_time).")
    assert "It becomes a calendar block: “Morning Gym” weekdays at 07:00" in turn.answer
    (note,) = turn.notes
    assert note.startswith("On your calendar now: “Morning Gym” weekdays at 07:00 for 60 min")
    gym = prefs()["Morning Gym"]
    assert gym.is_active is True and gym.start_time == "07:00"
    assert {e.start_at.astimezone(ZoneInfo(TZ)).hour for e in future_events("Morning Gym")} == {7}

    # A guess does not bring it back: it stays off and the answer says what was kept.
    runner.run_turn("stop the gym habit")
    turn = runner.run_turn("I go to the gym")
    today = datetime.now(ZoneInfo(TZ)).date()
    assert turn.answer == (
        "You told me before about health/gym_time (at 07:00 for 60 min, stopped on "
        f"{today}); I kept that: a guess does not overwrite it."
    )
    assert prefs()["Morning Gym"].is_active is False
