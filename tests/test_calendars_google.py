"""Google backend against googleapiclient's bundled calendar v3 discovery doc and HttpMockSequence.

Nothing leaves the process: every answer is canned, and each test asserts what the client sent.
"""

from __future__ import annotations

import json
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from googleapiclient.http import HttpMockSequence

from agentcal.calendars import get_backend
from agentcal.calendars.base import EventData
from agentcal.calendars.google import GoogleCalendar, event_body, google_event_id
from agentcal.settings import get_settings
from tests.event_snapshots import make_event
from tests.google_fakes import batch, batch_calls, empty, error, ok, token_json

EVENTS_URL = "https://www.googleapis.com/calendar/v3/calendars/primary/events"
BATCH_URL = "https://www.googleapis.com/batch/calendar/v3"
ID_ALPHABET = re.compile(r"^[a-v0-9]{5,1024}$")


def as_google(event: EventData, gid: str | None = None, **changes) -> dict:  # type: ignore[no-untyped-def]
    """What Google would return for an event agentcal wrote (offsets added, ids filled)."""
    body = event_body(event)
    res = {
        "kind": "calendar#event",
        "id": gid or google_event_id(event.uid, event.revision),
        "status": "confirmed",
        "etag": '"1"',
        **body,
    }
    for field in ("start", "end"):
        moment = event.start if field == "start" else event.end
        res[field] = {
            "dateTime": moment.astimezone(ZoneInfo(event.timezone)).isoformat(),
            "timeZone": event.timezone,
        }
    res.pop("description")
    res.pop("location")
    res.update(changes)
    return res


@pytest.fixture
def settings(agentcal_home, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AGENTCAL_CALENDAR", "google")
    monkeypatch.setenv("AGENTCAL_TIMEZONE", "America/New_York")
    from agentcal.settings import reset_settings

    reset_settings()
    s = get_settings()
    s.google_token_path.write_text(token_json())
    os.chmod(s.google_token_path, 0o600)
    return s


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def backend(settings, answers, **kw):  # type: ignore[no-untyped-def]
    http = HttpMockSequence(list(answers))
    sleeper = Recorder()
    g = GoogleCalendar(settings, transport=http, sleep=sleeper, rand=lambda: 0.5, **kw)
    return g, http, sleeper


def test_get_backend_returns_google(settings):
    assert isinstance(get_backend(settings), GoogleCalendar)


def test_event_ids_are_deterministic_per_revision_and_in_googles_alphabet():
    a = google_event_id("x@agentcal", 1)
    assert a == google_event_id("x@agentcal", 1)
    assert a != google_event_id("x@agentcal", 2) != google_event_id("y@agentcal", 1)
    assert ID_ALPHABET.match(a)


def test_insert_sends_a_tagged_event_with_wall_time_and_iana_zone(settings):
    event = make_event()
    gid = google_event_id(event.uid, 1)
    g, http, _ = backend(settings, [ok(as_google(event))])

    result = g.upsert(event)

    assert result.ok and result.backend_event_id == gid and not result.skipped
    [(uri, method, body, headers)] = http.request_sequence
    assert method == "POST" and uri.startswith(EVENTS_URL + "?")
    assert headers["authorization"] == "Bearer tok-1"
    sent = json.loads(body)
    assert sent["id"] == gid and ID_ALPHABET.match(sent["id"])
    assert sent["summary"] == "Morning Gym 1"
    assert sent["start"] == {"dateTime": "2026-11-30T06:00:00", "timeZone": "America/New_York"}
    assert sent["end"] == {"dateTime": "2026-11-30T07:00:00", "timeZone": "America/New_York"}
    assert sent["extendedProperties"]["private"]["agentcal"] == "1"
    assert sent["extendedProperties"]["private"]["agentcalUid"] == event.uid


def test_409_duplicate_that_matches_is_already_there(settings):
    event = make_event()
    gid = google_event_id(event.uid, 1)
    g, http, sleeper = backend(settings, [error(409, "duplicate"), ok(as_google(event))])

    result = g.upsert(event)

    assert result.ok and result.backend_event_id == gid
    methods = [(m, urlsplit(u).path) for u, m, _, _ in http.request_sequence]
    assert methods == [
        ("POST", "/calendar/v3/calendars/primary/events"),
        ("GET", f"/calendar/v3/calendars/primary/events/{gid}"),
    ]
    assert sleeper.sleeps == []  # 409 is never retried


def test_409_duplicate_that_differs_is_patched(settings):
    event = make_event(location="Gym on 5th")
    gid = google_event_id(event.uid, 1)
    stale = as_google(event)  # an earlier attempt reached Google without the location
    g, http, _ = backend(
        settings, [error(409, "duplicate"), ok(stale), ok(as_google(event, location="Gym on 5th"))]
    )

    result = g.upsert(event)

    assert result.ok and result.backend_event_id == gid
    uri, method, body, _ = http.request_sequence[2]
    assert method == "PATCH" and urlsplit(uri).path.endswith(f"/events/{gid}")
    assert json.loads(body)["location"] == "Gym on 5th"


def test_409_duplicate_the_user_deleted_is_skipped_not_recreated(settings):
    event = make_event()
    g, http, _ = backend(
        settings, [error(409, "duplicate"), ok(as_google(event, status="cancelled"))]
    )

    result = g.upsert(event)

    assert result.ok and result.skipped and "deleted" in (result.error or "")
    assert len(http.request_sequence) == 2  # no patch, no new insert


def test_a_batch_with_mixed_results(settings):
    fresh = make_event(1)
    dup = make_event(2)
    moved = make_event(3, revision=2, backend_event_id="agentcalmoved00001", title="Gym later")
    gone = make_event(4, revision=3, backend_event_id="agentcalgone000001", cancelled=True)
    bad = make_event(5)
    renamed = make_event(6, revision=2, backend_event_id="agentcalrenamed001", title="Gym (new)")
    user_moved = as_google(make_event(3), gid="agentcalmoved00001")
    user_moved["start"] = {"dateTime": "2026-12-02T08:00:00-05:00", "timeZone": "America/New_York"}
    user_moved["end"] = {"dateTime": "2026-12-02T09:00:00-05:00", "timeZone": "America/New_York"}
    g, http, sleeper = backend(
        settings,
        [
            batch(
                ("0", ok(as_google(fresh))),
                ("1", error(409, "duplicate")),
                ("4", error(400, "invalid")),
                ("3", error(404, "notFound")),
                ("2", ok(user_moved)),
                ("5", ok(as_google(make_event(6), gid="agentcalrenamed001"))),
            ),
            ok(as_google(dup)),  # the 409's follow-up GET (one call: no batch needed)
            ok(as_google(renamed, gid="agentcalrenamed001")),  # the one patch
        ],
    )

    results = g.sync_many([fresh, dup, moved, gone, bad, renamed])

    assert [(r.event_id, r.ok, r.skipped) for r in results] == [
        (1, True, False),
        (2, True, False),
        (3, True, True),  # the user moved it: left where they put it
        (4, True, False),  # 404 on delete counts as done
        (5, False, False),
        (6, True, False),
    ]
    assert results[0].backend_event_id == google_event_id(fresh.uid, 1)
    assert results[1].backend_event_id == google_event_id(dup.uid, 1)
    assert results[2].backend_event_id == "agentcalmoved00001" and "moved" in results[2].error
    assert results[3].backend_event_id is None
    assert not results[4].retryable and "400" in results[4].error
    assert sleeper.sleeps == []

    first = batch_calls(http.request_sequence[0][2])
    assert http.request_sequence[0][0] == BATCH_URL
    assert [(c["id"], c["method"], urlsplit(c["path"]).path.rsplit("/", 1)[-1]) for c in first] == [
        ("0", "POST", "events"),
        ("1", "POST", "events"),
        ("4", "POST", "events"),
        ("3", "DELETE", "agentcalgone000001"),
        ("2", "GET", "agentcalmoved00001"),
        ("5", "GET", "agentcalrenamed001"),
    ]
    assert http.request_sequence[1][1] == "GET"
    uri, method, body, _ = http.request_sequence[2]
    assert method == "PATCH" and uri.split("?")[0].endswith("/events/agentcalrenamed001")
    assert json.loads(body)["summary"] == "Gym (new)"
    assert len(http.request_sequence) == 3


def test_429_then_503_then_200_retries_with_backoff_honouring_retry_after(settings):
    event = make_event()
    g, http, sleeper = backend(
        settings,
        [
            error(429, "rateLimitExceeded", {"retry-after": "7"}),
            error(503, "backendError"),
            ok(as_google(event)),
        ],
        base_delay=1.0,
    )

    result = g.upsert(event)

    assert result.ok
    assert [m for _, m, _, _ in http.request_sequence] == ["POST", "POST", "POST"]
    bodies = {body for _, _, body, _ in http.request_sequence}
    assert len(bodies) == 1  # the same call (same id) each time
    # rand=0.5 -> jitter factor 0.75: first wait is Retry-After (7 s > 0.75 s), then 2 * 0.75 s
    assert sleeper.sleeps == [7.0, 1.5]


def test_only_the_failed_calls_of_a_batch_are_rebatched(settings):
    events = [make_event(n) for n in (1, 2, 3)]
    g, http, sleeper = backend(
        settings,
        [
            batch(
                ("0", ok(as_google(events[0]))),
                ("1", error(403, "userRateLimitExceeded")),
                ("2", error(500, "backendError")),
            ),
            batch(("1", ok(as_google(events[1]))), ("2", ok(as_google(events[2])))),
        ],
    )

    results = g.sync_many(events)

    assert all(r.ok for r in results)
    assert [c["id"] for c in batch_calls(http.request_sequence[1][2])] == ["1", "2"]
    assert len(sleeper.sleeps) == 1


def test_retries_give_up_as_a_retryable_failure(settings):
    event = make_event()
    g, http, sleeper = backend(
        settings, [error(503, "backendError")] * 3, max_retries=2, base_delay=0.1
    )

    result = g.upsert(event)

    assert not result.ok and result.retryable and "503" in result.error
    assert len(http.request_sequence) == 3 and len(sleeper.sleeps) == 2


def test_quota_exceeded_stops_the_sync_without_retrying(settings):
    events = [make_event(n) for n in (1, 2, 3, 4)]
    g, http, sleeper = backend(
        settings,
        [batch(("0", ok(as_google(events[0]))), ("1", error(403, "quotaExceeded")))],
        batch_size=2,
    )

    results = g.sync_many(events)

    assert results[0].ok
    for r in results[1:]:
        assert not r.ok and not r.retryable and r.quota_exhausted
        assert "quota exhausted" in r.error
    assert len(http.request_sequence) == 1  # the second batch was never sent
    assert sleeper.sleeps == []


def test_401_refreshes_the_token_and_saves_it(settings):
    event = make_event()
    g, http, _ = backend(
        settings,
        [
            error(401, "authError"),
            ok({"access_token": "tok-2", "expires_in": 3600, "token_type": "Bearer"}),
            ok(as_google(event)),
        ],
    )

    result = g.upsert(event)

    assert result.ok
    (u1, _, _, h1), (u2, m2, b2, _), (u3, _, _, h3) = http.request_sequence
    assert h1["authorization"] == "Bearer tok-1"
    assert u2 == "https://oauth2.googleapis.com/token" and m2 == "POST"
    form = parse_qs(b2 if isinstance(b2, str) else b2.decode())
    assert form["grant_type"] == ["refresh_token"] and form["refresh_token"] == ["refresh-1"]
    assert u3 == u1 and h3["authorization"] == "Bearer tok-2"
    saved = json.loads(settings.google_token_path.read_text())
    assert saved["token"] == "tok-2" and saved["refresh_token"] == "refresh-1"
    assert stat.S_IMODE(settings.google_token_path.stat().st_mode) == 0o600


def test_revoked_refresh_token_fails_with_a_clear_message(settings):
    g, _, _ = backend(
        settings,
        [error(401, "authError"), ({"status": "400"}, json.dumps({"error": "invalid_grant"}))],
    )

    result = g.upsert(make_event())

    assert not result.ok and not result.retryable
    assert "agentcal auth google" in result.error


@pytest.mark.parametrize("status", [404, 410])
def test_delete_of_a_missing_event_counts_as_done(settings, status):
    event = make_event(backend_event_id="agentcalabc123", cancelled=True)
    g, http, _ = backend(settings, [error(status, "notFound" if status == 404 else "deleted")])

    result = g.delete(event)

    assert result.ok and result.backend_event_id is None
    [(uri, method, _, _)] = http.request_sequence
    assert method == "DELETE" and urlsplit(uri).path.endswith("/events/agentcalabc123")


def test_delete_of_an_event_never_synced_sends_nothing(settings):
    g, http, _ = backend(settings, [])
    assert g.delete(make_event(cancelled=True)).ok
    assert http.request_sequence == []


def test_update_of_an_event_the_user_deleted_is_skipped(settings):
    event = make_event(revision=2, backend_event_id="agentcalxyz01", title="Renamed")
    g, http, _ = backend(settings, [ok(as_google(event, gid="agentcalxyz01", status="cancelled"))])

    result = g.upsert(event)

    assert result.ok and result.skipped and result.backend_event_id == "agentcalxyz01"
    assert [m for _, m, _, _ in http.request_sequence] == ["GET"]


def test_unchanged_update_sends_no_patch(settings):
    event = make_event(revision=2, backend_event_id="agentcalxyz01")
    g, http, _ = backend(settings, [ok(as_google(event, gid="agentcalxyz01"))])

    assert g.upsert(event).ok
    assert [m for _, m, _, _ in http.request_sequence] == ["GET"]


def test_api_endpoint_override_is_used_for_calls_and_batches(settings, monkeypatch):
    monkeypatch.setenv("AGENTCAL_GOOGLE_API_ENDPOINT", "http://127.0.0.1:9/")
    from agentcal.settings import reset_settings

    reset_settings()
    s = get_settings()
    events = [make_event(1), make_event(2)]
    g, http, _ = backend(
        s,
        [
            ok(as_google(events[0])),
            batch(("0", ok(as_google(events[0]))), ("1", ok(as_google(events[1])))),
        ],
    )

    g.upsert(events[0])
    g.sync_many(events)

    assert http.request_sequence[0][0].startswith("http://127.0.0.1:9/calendar/v3/calendars/")
    assert http.request_sequence[1][0] == "http://127.0.0.1:9/batch/calendar/v3"


def test_not_signed_in_is_a_clear_non_retryable_failure(settings):
    settings.google_token_path.unlink()
    g, http, _ = backend(settings, [])

    [result] = g.sync_many([make_event()])

    assert not result.ok and not result.retryable
    assert "agentcal auth google" in result.error
    assert http.request_sequence == []


def test_busy_times_ignore_agentcals_own_free_and_cancelled_events(settings):
    ours = as_google(make_event(1))
    meeting = {
        "id": "m1",
        "status": "confirmed",
        "start": {"dateTime": "2026-11-30T09:00:00-05:00"},
        "end": {"dateTime": "2026-11-30T10:00:00-05:00"},
    }
    overlapping = {
        "id": "m2",
        "status": "confirmed",
        "start": {"dateTime": "2026-11-30T09:30:00-05:00"},
        "end": {"dateTime": "2026-11-30T11:00:00-05:00"},
    }
    free = dict(meeting, id="f", transparency="transparent")
    cancelled = dict(meeting, id="c", status="cancelled")
    late = {
        "id": "m3",
        "status": "confirmed",
        "start": {"dateTime": "2026-11-30T23:00:00-05:00"},
        "end": {"dateTime": "2026-12-01T01:00:00-05:00"},
    }
    g, http, _ = backend(
        settings,
        [
            ok({"items": [ours, meeting, free], "nextPageToken": "p2"}),
            ok({"items": [overlapping, cancelled, late]}),
        ],
    )
    start = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)  # midnight in New York
    end = start + timedelta(days=1)

    busy = g.busy_times(start, end)

    assert busy == [
        (datetime(2026, 11, 30, 14, 0, tzinfo=UTC), datetime(2026, 11, 30, 16, 0, tzinfo=UTC)),
        (datetime(2026, 12, 1, 4, 0, tzinfo=UTC), end),
    ]
    q1 = parse_qs(urlsplit(http.request_sequence[0][0]).query)
    q2 = parse_qs(urlsplit(http.request_sequence[1][0]).query)
    assert q1["singleEvents"] == ["true"] and q1["timeMin"] == ["2026-11-30T05:00:00+00:00"]
    assert "pageToken" not in q1 and q2["pageToken"] == ["p2"]


def test_deletes_in_a_batch(settings):
    events = [make_event(n, backend_event_id=f"agentcal{n}0000", cancelled=True) for n in (1, 2)]
    g, http, _ = backend(settings, [batch(("0", empty()), ("1", empty()))])

    assert all(r.ok and r.backend_event_id is None for r in g.sync_many(events))
    calls = batch_calls(http.request_sequence[0][2])
    assert [(c["method"], c["path"].split("?")[0].rsplit("/", 1)[-1]) for c in calls] == [
        ("DELETE", "agentcal10000"),
        ("DELETE", "agentcal20000"),
    ]
