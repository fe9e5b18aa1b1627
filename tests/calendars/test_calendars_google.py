"""Google backend (googleapiclient over real HTTP) against the stateful fake Calendar API.

The fake (tests/google_server.py) keeps the events and validates every body as Google does, so
these tests check what ended up in the calendar, not only what was sent.
"""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from agentcal.calendars import get_backend
from agentcal.calendars.google import GoogleCalendar, google_event_id
from agentcal.settings import get_settings, reset_settings
from tests.event_snapshots import T0, make_event
from tests.google_server import FakeGoogleCalendar, token_json

ID_ALPHABET = re.compile(r"^[a-v0-9]{5,1024}$")
NY = ZoneInfo("America/New_York")


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    # The calendar's own zone differs from the events' on purpose: Google answers in the
    # calendar's zone, and agentcal must still see its events where it put them.
    with FakeGoogleCalendar(zone="Europe/London") as server:
        yield server


@pytest.fixture
def settings(agentcal_home, monkeypatch, fake):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AGENTCAL_CALENDAR", "google")
    monkeypatch.setenv("AGENTCAL_TIMEZONE", "America/New_York")
    monkeypatch.setenv("AGENTCAL_GOOGLE_API_ENDPOINT", fake.url)
    reset_settings()
    s = get_settings()
    s.google_token_path.write_text(token_json())
    os.chmod(s.google_token_path, 0o600)
    return s


class Sleeps(list):  # type: ignore[type-arg]
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def backend(settings, fake, **kw):  # type: ignore[no-untyped-def]
    sleeps = Sleeps()
    g = GoogleCalendar(settings, transport=fake.transport(), sleep=sleeps, rand=lambda: 0.5, **kw)
    return g, sleeps


def stored_times(fake, gid):  # type: ignore[no-untyped-def]
    ev = fake.event(gid)
    return (
        datetime.fromisoformat(ev["start"]["dateTime"]),
        datetime.fromisoformat(ev["end"]["dateTime"]),
    )


def test_get_backend_returns_google(settings):
    assert isinstance(get_backend(settings), GoogleCalendar)


def test_event_ids_are_deterministic_per_revision_and_in_googles_alphabet():
    a = google_event_id("x@agentcal", 1)
    assert a == google_event_id("x@agentcal", 1)
    assert a != google_event_id("x@agentcal", 2) != google_event_id("y@agentcal", 1)
    assert ID_ALPHABET.match(a)


def test_insert_writes_a_tagged_event_at_its_instant_with_offset_and_zone(settings, fake):
    event = make_event()
    g, _ = backend(settings, fake)

    result = g.upsert(event)

    gid = google_event_id(event.uid, 1)
    assert result.ok and result.backend_event_id == gid and not result.skipped
    [call] = fake.calls
    assert call.method == "POST" and not call.in_batch
    assert call.headers["authorization"] == "Bearer tok-1"
    assert call.body["start"] == {
        "dateTime": "2026-11-30T06:00:00-05:00",
        "timeZone": "America/New_York",
    }
    stored = fake.event(gid)
    assert stored["summary"] == "Morning Gym 1"
    assert stored["start"] == {
        "dateTime": "2026-11-30T11:00:00+00:00",
        "timeZone": "America/New_York",
    }
    assert stored_times(fake, gid) == (event.start, event.end)
    private = stored["extendedProperties"]["private"]
    assert private["agentcal"] == "1" and private["agentcalUid"] == event.uid


def test_the_repeated_hour_of_a_clock_change_is_sent_as_an_instant(settings, fake):
    # Casablanca, 2027-02-07: 03:00 goes back to 02:00. 02:30-03:00 (first occurrence) ends at
    # 02:00 of the second occurrence: as wall times without offset, the end is before the
    # start and Google refuses the event (400 timeRangeEmpty).
    tz = ZoneInfo("Africa/Casablanca")
    start = datetime(2027, 2, 7, 2, 30, tzinfo=tz).astimezone(UTC)
    event = make_event(start=start, end=start + timedelta(minutes=30), timezone="Africa/Casablanca")
    g, _ = backend(settings, fake)

    result = g.upsert(event)

    assert result.ok, result.error
    assert fake.calls[0].body["start"]["dateTime"] == "2027-02-07T02:30:00+01:00"
    assert fake.calls[0].body["end"]["dateTime"] == "2027-02-07T02:00:00+00:00"
    assert stored_times(fake, result.backend_event_id) == (event.start, event.end)


def test_a_rerun_after_a_lost_result_finds_the_event_instead_of_duplicating(settings, fake):
    event = make_event()
    g, sleeps = backend(settings, fake)
    first = g.upsert(event)

    again = g.upsert(event)  # as if the first result had never been recorded

    assert again.ok and again.backend_event_id == first.backend_event_id
    assert [c.method for c in fake.calls] == ["POST", "POST", "GET"]  # 409, then a look
    assert [c.status for c in fake.calls] == [200, 409, 200]
    assert len(fake.events()) == 1 and sleeps == []  # 409 is never retried


def test_a_duplicate_that_differs_is_patched(settings, fake):
    g, _ = backend(settings, fake)
    g.upsert(make_event())  # an earlier attempt reached Google with the old title

    result = g.upsert(make_event(title="Gym (renamed)"))

    assert result.ok
    assert [c.method for c in fake.calls] == ["POST", "POST", "GET", "PATCH"]
    assert fake.event(result.backend_event_id)["summary"] == "Gym (renamed)"


def test_a_duplicate_the_user_deleted_is_skipped_not_recreated(settings, fake):
    g, _ = backend(settings, fake)
    gid = g.upsert(make_event()).backend_event_id
    fake.user_delete(gid)

    result = g.upsert(make_event())

    assert result.ok and result.skipped and "deleted" in (result.error or "")
    assert fake.events() == []


def test_one_batch_with_mixed_outcomes(settings, fake):
    g, sleeps = backend(settings, fake)
    ids = {n: g.upsert(make_event(n)).backend_event_id for n in (2, 3, 4, 6)}
    fake.user_move(ids[3], timedelta(hours=2))
    fake.calls.clear()
    bad = make_event(5, start=T0, end=T0)  # refused by Google: an empty time range
    batch = [
        make_event(1),  # new
        make_event(2),  # new again (its first result was lost): 409, already there
        make_event(3, revision=2, backend_event_id=ids[3], title="Gym later"),  # user moved it
        make_event(4, revision=3, backend_event_id=ids[4], cancelled=True),  # delete
        bad,
        make_event(6, revision=2, backend_event_id=ids[6], title="Gym (new)"),  # rename
    ]

    results = g.sync_many(batch)

    assert [(r.event_id, r.ok, r.skipped) for r in results] == [
        (1, True, False),
        (2, True, False),
        (3, True, True),  # left where the user put it
        (4, True, False),
        (5, False, False),
        (6, True, False),
    ]
    assert "moved" in results[2].error and results[2].backend_event_id == ids[3]
    assert results[3].backend_event_id is None
    assert "timeRangeEmpty" in results[4].error and not results[4].retryable
    first_round = [c for c in fake.calls if c.in_batch]
    assert len(first_round) == 6 and fake.http_requests == 4 + 3  # 4 setup, batch, GET, PATCH
    assert fake.event(ids[6])["summary"] == "Gym (new)"
    assert fake.event(ids[3])["summary"] == "Morning Gym 3"  # not renamed after the user's move
    assert fake.event(ids[4])["status"] == "cancelled"
    assert sleeps == []


def test_429_then_503_then_200_retries_with_backoff_honouring_retry_after(settings, fake):
    fake.fail(429, retry_after="7")
    fake.fail(503)
    g, sleeps = backend(settings, fake, base_delay=1.0)

    result = g.upsert(make_event())

    assert result.ok
    assert [c.status for c in fake.calls] == [429, 503, 200]
    assert len({json.dumps(c.body, sort_keys=True) for c in fake.calls}) == 1  # same call
    # rand=0.5 -> jitter factor 0.75: the first wait is Retry-After (7 s > 0.75 s), then 1.5 s
    assert sleeps == [7.0, 1.5]
    assert len(fake.events()) == 1


def test_only_the_failed_calls_of_a_batch_are_rebatched(settings, fake):
    events = [make_event(n) for n in (1, 2, 3)]
    gid2, gid3 = (google_event_id(e.uid, 1) for e in events[1:])
    fake.fail(403, "userRateLimitExceeded", when=lambda c: (c.body or {}).get("id") == gid2)
    fake.fail(500, when=lambda c: (c.body or {}).get("id") == gid3)
    g, sleeps = backend(settings, fake)

    results = g.sync_many(events)

    assert all(r.ok for r in results)
    second = fake.calls[3:]
    assert sorted(c.body["id"] for c in second) == sorted([gid2, gid3])
    assert fake.http_requests == 2 and len(sleeps) == 1
    assert len(fake.events()) == 3


def test_retries_give_up_as_a_retryable_failure(settings, fake):
    fake.fail(503, times=None)
    g, sleeps = backend(settings, fake, max_retries=2, base_delay=0.1)

    result = g.upsert(make_event())

    assert not result.ok and result.retryable and "503" in result.error
    assert len(fake.calls) == 3 and len(sleeps) == 2
    assert fake.events() == []


def test_quota_exceeded_stops_the_sync_without_retrying(settings, fake):
    events = [make_event(n) for n in (1, 2, 3, 4)]
    first = google_event_id(events[0].uid, 1)
    fake.fail(403, "quotaExceeded", when=lambda c: (c.body or {}).get("id") != first, times=None)
    g, sleeps = backend(settings, fake, batch_size=2)

    results = g.sync_many(events)

    assert results[0].ok
    for r in results[1:]:
        assert not r.ok and r.outage and "quota exhausted" in r.error
    assert fake.http_requests == 1  # the second batch was never sent
    assert sleeps == []


def test_an_expired_access_token_is_refreshed_and_saved(settings, fake):
    fake.tokens.clear()  # tok-1 no longer accepted: 401, refresh, retry
    g, _ = backend(settings, fake)

    result = g.upsert(make_event())

    assert result.ok
    assert [c.status for c in fake.calls] == [401, 200]
    assert fake.calls[1].headers["authorization"] != "Bearer tok-1"
    saved = json.loads(settings.google_token_path.read_text())
    assert saved["token"] in fake.tokens and saved["refresh_token"] == "refresh-1"
    assert stat.S_IMODE(settings.google_token_path.stat().st_mode) == 0o600


def test_a_revoked_refresh_token_fails_with_a_clear_message(settings, fake):
    fake.tokens.clear()
    fake.refresh_tokens.clear()
    g, _ = backend(settings, fake)

    result = g.upsert(make_event())

    assert not result.ok and "agentcal auth google" in result.error
    assert fake.events() == []


def test_delete_of_a_missing_or_already_deleted_event_counts_as_done(settings, fake):
    g, _ = backend(settings, fake)
    gid = g.upsert(make_event()).backend_event_id
    fake.user_delete(gid)
    gone = make_event(revision=2, backend_event_id=gid, cancelled=True)
    never = make_event(2, revision=2, backend_event_id="agentcalnever0001", cancelled=True)

    results = g.sync_many([gone, never])

    assert all(r.ok and r.backend_event_id is None for r in results)
    assert sorted(c.status for c in fake.calls if c.method == "DELETE") == [404, 410]


def test_delete_of_an_event_never_synced_sends_nothing(settings, fake):
    g, _ = backend(settings, fake)
    assert g.delete(make_event(cancelled=True)).ok
    assert fake.http_requests == 0


def test_an_update_of_an_event_the_user_deleted_is_skipped(settings, fake):
    g, _ = backend(settings, fake)
    gid = g.upsert(make_event()).backend_event_id
    fake.user_delete(gid)

    result = g.upsert(make_event(revision=2, backend_event_id=gid, title="Renamed"))

    assert result.ok and result.skipped and result.backend_event_id == gid
    assert [c.method for c in fake.calls] == ["POST", "GET"]
    assert fake.event(gid)["status"] == "cancelled"


def test_an_unchanged_update_sends_no_patch(settings, fake):
    g, _ = backend(settings, fake)
    gid = g.upsert(make_event()).backend_event_id

    assert g.upsert(make_event(revision=2, backend_event_id=gid)).ok
    assert [c.method for c in fake.calls] == ["POST", "GET"]


def test_calls_and_batches_go_to_the_configured_endpoint(settings, fake):
    g, _ = backend(settings, fake)
    g.sync_many([make_event(1), make_event(2)])

    [one, two] = fake.calls
    assert one.in_batch and two.in_batch and fake.http_requests == 1
    assert one.path == "/calendar/v3/calendars/primary/events"


def test_not_signed_in_is_a_clear_failure(settings, fake):
    settings.google_token_path.unlink()
    g, _ = backend(settings, fake)

    [result] = g.sync_many([make_event()])

    assert not result.ok and "agentcal auth google" in result.error
    assert fake.http_requests == 0


def test_busy_times_ignore_agentcals_own_free_and_cancelled_events(settings, fake):
    g, _ = backend(settings, fake)
    g.upsert(make_event(1))  # ours
    day = datetime(2026, 11, 30, tzinfo=NY)

    def at(h: float) -> dict[str, str]:
        return {"dateTime": (day + timedelta(hours=h)).isoformat()}

    fake.user_event(summary="meeting", start=at(9), end=at(10))
    fake.user_event(summary="overlapping", start=at(9.5), end=at(11))
    fake.user_event(summary="free", start=at(12), end=at(13), transparency="transparent")
    gone = fake.user_event(summary="gone", start=at(14), end=at(15))
    fake.user_delete(gone["id"])
    fake.user_event(summary="late", start=at(23), end=at(25))
    fake.user_event(summary="tomorrow", start=at(30), end=at(31))
    fake.max_page = 2  # Google may answer with fewer items than asked: follow the pages
    start = day.astimezone(UTC)

    busy = g.busy_times(start, start + timedelta(days=1))

    assert busy == [
        ((day + timedelta(hours=9)).astimezone(UTC), (day + timedelta(hours=11)).astimezone(UTC)),
        ((day + timedelta(hours=23)).astimezone(UTC), start + timedelta(days=1)),
    ]
    lists = [c for c in fake.calls if c.method == "GET"]
    assert len(lists) == 3 and lists[0].query["timeMin"] == ["2026-11-30T05:00:00+00:00"]
    assert "pageToken" not in lists[0].query and lists[1].query["pageToken"] == ["2"]


def test_deletes_go_in_one_batch(settings, fake):
    g, _ = backend(settings, fake)
    created = g.sync_many([make_event(1), make_event(2)])
    fake.calls.clear()
    gone = [
        make_event(n, revision=2, backend_event_id=r.backend_event_id, cancelled=True)
        for n, r in zip((1, 2), created, strict=True)
    ]

    assert all(r.ok and r.backend_event_id is None for r in g.sync_many(gone))
    assert [(c.method, c.in_batch) for c in fake.calls] == [("DELETE", True)] * 2
    assert fake.events() == []


# -- agentcal owns only its fields --------------------------------------------------------------

USER_FIELDS = {
    "location": "Gym on 5th, room 2",
    "attendees": [{"email": "friend@example.com"}],
    "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 10}]},
    "colorId": "5",
}


def test_an_insert_sends_only_what_agentcal_owns_with_the_placement_reason(settings, fake):
    g, _ = backend(settings, fake)
    event = make_event(note="moved -0:30 h to 05:30 to avoid “Standup” at 06:00")

    gid = g.upsert(event).backend_event_id

    [call] = fake.calls
    assert set(call.body) == {"id", "summary", "start", "end", "description", "extendedProperties"}
    description = fake.event(gid)["description"]
    assert "Why here: moved -0:30 h to 05:30 to avoid “Standup” at 06:00" in description
    assert description.startswith("--- agentcal ---") and description.endswith(
        "--- end agentcal ---"
    )


def test_an_agentcal_change_keeps_everything_the_user_added(settings, fake):
    g, _ = backend(settings, fake)
    gid = g.upsert(make_event(note="at its usual time")).backend_event_id
    user_text = fake.event(gid)["description"]
    fake.user_edit(
        gid,
        description="Bring the blue towel.\n\n" + user_text + "\n\nPS: locker 12",
        **USER_FIELDS,
    )
    moved = T0 + timedelta(hours=1)

    result = g.upsert(
        make_event(revision=2, backend_event_id=gid, title="Gym (later)", start=moved,
                   end=moved + timedelta(hours=1), note="moved +1:00 h to 07:00 to avoid “Standup”")
    )  # fmt: skip

    assert result.ok and not result.skipped
    patch = [c for c in fake.calls if c.method == "PATCH"][-1].body
    assert set(patch) == {"summary", "start", "end", "description", "extendedProperties"}
    ev = fake.event(gid)
    assert ev["summary"] == "Gym (later)" and stored_times(fake, gid)[0] == moved
    for name, value in USER_FIELDS.items():
        assert ev[name] == value, name
    assert ev["description"].startswith("Bring the blue towel.\n\n--- agentcal ---")
    assert ev["description"].endswith("--- end agentcal ---\n\nPS: locker 12")
    assert "to avoid “Standup”" in ev["description"] and "usual time" not in ev["description"]


def test_a_block_the_user_deleted_comes_back_only_with_something_new(settings, fake):
    g, _ = backend(settings, fake)
    gid = g.upsert(make_event(note="at its usual time")).backend_event_id
    fake.user_edit(gid, description="my notes only")

    g.upsert(make_event(revision=2, backend_event_id=gid, note="at its usual time", title="x"))
    assert fake.event(gid)["description"] == "my notes only"

    g.upsert(make_event(revision=3, backend_event_id=gid, note="moved to avoid “Lunch”", title="x"))
    assert fake.event(gid)["description"].startswith("my notes only\n\n--- agentcal ---")


def test_agentcals_location_is_written_when_it_changes_never_over_the_users(settings, fake):
    g, _ = backend(settings, fake)
    gid = g.upsert(make_event(location="Clinic A")).backend_event_id
    fake.user_edit(gid, location="Clinic A, 3rd floor")

    g.upsert(make_event(revision=2, backend_event_id=gid, location="Clinic A", title="Dentist"))
    assert fake.event(gid)["location"] == "Clinic A, 3rd floor"

    g.upsert(make_event(revision=3, backend_event_id=gid, location="Clinic B", title="Dentist"))
    assert fake.event(gid)["location"] == "Clinic B"


def test_user_edits_alone_make_agentcal_send_nothing(settings, fake):
    g, _ = backend(settings, fake)
    gid = g.upsert(make_event()).backend_event_id
    fake.user_edit(gid, **USER_FIELDS)

    assert g.upsert(make_event(revision=2, backend_event_id=gid)).ok
    assert [c.method for c in fake.calls] == ["POST", "GET"]
