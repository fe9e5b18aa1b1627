"""calendar_preferences_service: the seed's fields and their validation."""

import pytest

from agentcal.errors import NotFoundError, ValidationError
from agentcal.planning.preferences import calendar_preferences_service as prefs
from agentcal.validation import format_days, parse_days


def test_create_with_seed_fields():
    pref = prefs.create_preference(
        user_id="alice",
        preference_type="gym",
        title="Morning Gym",
        start_time="6:00",
        duration_minutes=60,
        day_of_week=[5, 1, 2, 3, 4],
        auto_schedule=True,
    )
    stored = prefs.get_preference("alice", pref.id)
    assert (stored.title, stored.start_time, stored.day_of_week, stored.priority) == (
        "Morning Gym",
        "06:00",
        [1, 2, 3, 4, 5],
        5,
    )
    assert stored.auto_schedule and not stored.is_flexible and stored.is_active


def test_default_title_and_daily():
    pref = prefs.create_preference(
        user_id="alice", preference_type="sleep", start_time="23:00", duration_minutes=480
    )
    assert pref.title == "Sleep"
    assert pref.day_of_week is None


def test_edit_marks_user_edited_and_enable_does_not():
    pref = prefs.create_preference(
        user_id="alice", preference_type="focus", start_time="09:00", duration_minutes=120
    )
    prefs.set_active("alice", pref.id, False)
    assert prefs.get_preference("alice", pref.id).user_edited is False
    edited = prefs.update_preference("alice", pref.id, start_time="10:00")
    assert edited.user_edited and edited.start_time == "10:00" and edited.is_active is False


def test_other_users_preferences_are_invisible():
    pref = prefs.create_preference(
        user_id="alice", preference_type="gym", start_time="06:00", duration_minutes=60
    )
    with pytest.raises(NotFoundError):
        prefs.get_preference("bob", pref.id)
    with pytest.raises(NotFoundError):
        prefs.delete_preference("bob", pref.id)
    assert prefs.list_preferences("bob") == []


@pytest.mark.parametrize("ref", [0, -1, 2**31, 2**63, True])
def test_an_id_no_row_can_have_is_not_found_on_every_store(ref):
    """PostgreSQL's ids are int32: 2**31 raised DataError there instead of finding nothing."""
    from agentcal.planning.events import calendar_events_service

    with pytest.raises(NotFoundError):
        prefs.get_preference("alice", ref)
    with pytest.raises(NotFoundError):
        prefs.delete_preference("alice", ref)
    with pytest.raises(NotFoundError):
        calendar_events_service.get_event("alice", ref)


@pytest.mark.parametrize(
    "field,value",
    [
        ("day_of_week", [0]),
        ("day_of_week", [8]),
        ("day_of_week", []),
        ("day_of_week", ["mon", 2]),
        ("start_time", "24:00"),
        ("start_time", "6am"),
        ("start_time", "06:60"),
        ("duration_minutes", 0),
        ("duration_minutes", 1441),
        ("duration_minutes", 1.5),
        ("priority", 0),
        ("priority", 11),
        ("preference_type", "nap"),
        ("title", ""),
        ("is_flexible", "yes"),
        ("interval_weeks", 0),
        ("interval_weeks", 53),
        ("interval_weeks", 1.5),
        ("interval_weeks", True),
        ("anchor_date", "next week"),
        ("anchor_date", "2027-02-30"),
    ],
)
def test_invalid_fields_raise_and_write_nothing(field, value, snapshot):
    pref = prefs.create_preference(
        user_id="alice", preference_type="gym", start_time="06:00", duration_minutes=60
    )
    before = snapshot()
    with pytest.raises(ValidationError):
        prefs.update_preference("alice", pref.id, **{field: value})
    assert snapshot() == before


@pytest.mark.parametrize(
    "text,days",
    [
        ("weekdays", [1, 2, 3, 4, 5]),
        ("mon-fri", [1, 2, 3, 4, 5]),
        ("sat,sun", [6, 7]),
        ("fri-mon", [1, 5, 6, 7]),
        ("1,3,5", [1, 3, 5]),
        ("daily", None),
        ("mon-sun", None),
    ],
)
def test_parse_days(text, days):
    assert parse_days(text) == days


def test_parse_days_rejects_unknown_words():
    with pytest.raises(ValidationError, match="unknown day"):
        parse_days("mon,funday")


def test_format_days():
    assert format_days([1, 2, 3, 4, 5]) == "weekdays"
    assert format_days(None) == "daily"
    assert format_days([1, 3]) == "Mon,Wed"
