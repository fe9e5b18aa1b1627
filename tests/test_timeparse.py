"""--since/--until parsing, local days and DST-exact day boundaries."""

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agentcal.errors import ValidationError
from agentcal.observability.usage import day_ranges
from agentcal.timeparse import parse_when, parse_window

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)  # 11:30 in Paris


@pytest.mark.parametrize(
    "text,delta",
    [
        ("7d", timedelta(days=7)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        ("30m", timedelta(minutes=30)),
        ("45min", timedelta(minutes=45)),
        (" 3D ", timedelta(days=3)),
    ],
)
def test_relative_times_count_back_from_now(text, delta):
    assert parse_when(text, tz=PARIS, now=NOW) == NOW - delta


def test_today_and_yesterday_are_local_midnights():
    assert parse_when("today", tz=PARIS, now=NOW) == datetime(2026, 11, 24, 23, tzinfo=UTC)
    assert parse_when("yesterday", tz=PARIS, now=NOW) == datetime(2026, 11, 23, 23, tzinfo=UTC)
    # As an upper bound the whole day is included.
    assert parse_when("today", tz=PARIS, now=NOW, end=True) == datetime(
        2026, 11, 25, 23, tzinfo=UTC
    )
    assert parse_when("yesterday", tz=PARIS, now=NOW, end=True) == datetime(
        2026, 11, 24, 23, tzinfo=UTC
    )
    assert parse_when("now", tz=PARIS, now=NOW) == NOW


def test_today_follows_the_users_zone_not_utc():
    late = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # already the 26th in Paris
    assert parse_when("today", tz=PARIS, now=late) == datetime(2026, 11, 25, 23, tzinfo=UTC)
    assert parse_when("today", tz=ZoneInfo("UTC"), now=late) == datetime(2026, 11, 25, tzinfo=UTC)


def test_dates_are_local_midnight_and_inclusive_as_until():
    assert parse_when("2026-07-01", tz=PARIS, now=NOW) == datetime(2026, 6, 30, 22, tzinfo=UTC)
    assert parse_when("2026-07-01", tz=PARIS, now=NOW, end=True) == datetime(
        2026, 7, 1, 22, tzinfo=UTC
    )


def test_iso_datetimes_naive_is_local_offset_is_kept():
    assert parse_when("2026-11-01T09:30", tz=PARIS, now=NOW) == datetime(
        2026, 11, 1, 8, 30, tzinfo=UTC
    )
    assert parse_when("2026-11-01 09:30:00+05:00", tz=PARIS, now=NOW) == datetime(
        2026, 11, 1, 4, 30, tzinfo=UTC
    )
    assert parse_when("2026-11-01T09:30Z", tz=PARIS, now=NOW) == datetime(
        2026, 11, 1, 9, 30, tzinfo=UTC
    )


def test_dst_days_have_23_and_25_hours():
    spring = parse_when("2026-03-29", tz=PARIS, end=True) - parse_when("2026-03-29", tz=PARIS)
    autumn = parse_when("2026-10-25", tz=PARIS, end=True) - parse_when("2026-10-25", tz=PARIS)
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))


@pytest.mark.parametrize(
    "text", ["yesterdayish", "", "7x", "-7d", "2026-13-01", "2026-02-30", "last week", "7 days"]
)
def test_bad_times_raise_one_validation_error(text):
    with pytest.raises(ValidationError) as err:
        parse_when(text, tz=PARIS, now=NOW)
    assert "\n" not in str(err.value)


def test_window_order_is_checked():
    lo, hi = parse_window("2026-11-01", "2026-11-01", tz=PARIS, now=NOW)
    assert hi - lo == timedelta(days=1)
    with pytest.raises(ValidationError, match="must be before"):
        parse_window("today", "yesterday", tz=PARIS, now=NOW)
    assert parse_window(None, None, tz=PARIS, now=NOW) == (None, None)


def test_day_ranges_clip_to_the_window_and_follow_dst():
    lo = datetime(2026, 3, 28, 12, tzinfo=UTC)
    hi = datetime(2026, 3, 30, 6, tzinfo=UTC)
    ranges = day_ranges(lo, hi, PARIS)
    assert [d.isoformat() for d, _, _ in ranges] == ["2026-03-28", "2026-03-29", "2026-03-30"]
    assert ranges[0][1] == lo and ranges[-1][2] == hi
    assert ranges[1][2] - ranges[1][1] == timedelta(hours=23)
    # Contiguous: every instant of the window falls in exactly one day.
    assert all(a[2] == b[1] for a, b in itertools.pairwise(ranges))
