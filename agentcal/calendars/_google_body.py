"""The Google side of an agentcal event: the event resource it inserts, the patch that brings
the fields it owns up to date (calendars/owned.py), and how it tells that the user moved or
deleted the event.

agentcal remembers in the event's `extendedProperties.private` where it put the event, which is
how a user move is told apart. Idempotence: an event is inserted with an id derived from (event
UID, revision) in Google's id alphabet, so a retried insert hits 409 instead of creating a
duplicate; the revision gives an event agentcal re-creates after deleting it a new id (Google
keeps a deleted event's id, as `cancelled`).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.calendars import owned
from agentcal.calendars.base import EventData, Interval, clip

TAG = "agentcal"


def google_event_id(uid: str, revision: int) -> str:
    """A stable Google event id for this (event, revision): characters a-v and 0-9 only."""
    digest = hashlib.sha256(f"{uid}\x00{revision}".encode()).digest()[:20]
    return TAG + base64.b32hexencode(digest).decode().lower().rstrip("=")


def _instant(moment: datetime, tz: str) -> str:
    """RFC 3339 with the UTC offset in force in `tz` at that instant: unambiguous, also in the
    repeated hour of a DST change (a wall time without offset is not)."""
    return moment.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _private_props(event: EventData) -> dict[str, str]:
    return {
        TAG: "1",
        "agentcalUid": event.uid,
        "agentcalRevision": str(event.revision),
        # Where agentcal put it: a different start in Google means the user moved it.
        "agentcalStart": utc_text(event.start),
        "agentcalEnd": utc_text(event.end),
        # What agentcal last wrote in the fields it shares with the user (owned.py).
        "agentcalBlock": owned.fingerprint(owned.block(event)),
        "agentcalLocation": owned.fingerprint(event.location),
    }


def _times(event: EventData) -> dict[str, Any]:
    return {
        "start": {"dateTime": _instant(event.start, event.timezone), "timeZone": event.timezone},
        "end": {"dateTime": _instant(event.end, event.timezone), "timeZone": event.timezone},
    }


def event_body(event: EventData) -> dict[str, Any]:
    """The Google event resource agentcal inserts: only the fields it owns (instants with their
    offset plus the IANA zone, which Google uses to show the event and for recurrences)."""
    body: dict[str, Any] = {"summary": event.title, **_times(event)}
    text = owned.block(event)
    if text:
        body["description"] = text
    if event.location:
        body["location"] = event.location
    body["extendedProperties"] = {"private": _private_props(event)}
    return body


def patch_body(existing: dict[str, Any], event: EventData, default_tz: str) -> dict[str, Any]:
    """The `events.patch` body that brings the fields agentcal owns up to date, and nothing
    else (empty: nothing to change). Google merges objects and replaces arrays, so the user's
    attendees, reminders, colour and own private properties are never sent, never touched."""
    body: dict[str, Any] = {}
    if (existing.get("summary") or "") != event.title:
        body["summary"] = event.title
    wanted = _times(event)
    for name in ("start", "end"):
        mine = parse_time(wanted[name], default_tz)
        theirs = parse_time(existing.get(name), default_tz)
        if mine != theirs or (existing.get(name) or {}).get("timeZone") != event.timezone:
            body[name] = wanted[name]
    mark = private(existing)
    description = owned.description_update(
        existing.get("description"), event, mark.get("agentcalBlock")
    )
    if description is not None:
        body["description"] = description
    location = owned.location_update(existing.get("location"), event, mark.get("agentcalLocation"))
    if location is not None:
        body["location"] = location
    if body:
        body["extendedProperties"] = {"private": _private_props(event)}
    return body


def parse_time(value: dict[str, Any] | None, default_tz: str) -> datetime | None:
    """A Google start/end (dateTime with or without offset, or an all-day date) as an instant."""
    if not value:
        return None
    if "dateTime" in value:
        moment = datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(value.get("timeZone") or default_tz))
        return moment
    if "date" in value:
        day = datetime.fromisoformat(value["date"])
        return day.replace(tzinfo=ZoneInfo(value.get("timeZone") or default_tz))
    return None


def private(resource: dict[str, Any]) -> dict[str, str]:
    """agentcal's private extended properties of a Google event resource."""
    return dict((resource.get("extendedProperties") or {}).get("private") or {})


def _same(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and a == b


def user_changed(existing: dict[str, Any], default_tz: str) -> str | None:
    """Why an agentcal event in Google must be left alone (deleted or moved by the user)."""
    if existing.get("status") == "cancelled":
        return "deleted in Google Calendar by the user; left deleted"
    mark = private(existing)
    if mark.get(TAG) != "1":
        return "the Google event with this id is not agentcal's; left alone"
    placed_start = mark.get("agentcalStart")
    placed_end = mark.get("agentcalEnd")
    if placed_start and placed_end:
        now_start = parse_time(existing.get("start"), default_tz)
        now_end = parse_time(existing.get("end"), default_tz)
        if not (
            _same(now_start, datetime.fromisoformat(placed_start))
            and _same(now_end, datetime.fromisoformat(placed_end))
        ):
            return "moved in Google Calendar by the user; left where they put it"
    return None


def busy_spans(
    items: list[dict[str, Any]], start: datetime, end: datetime, default_tz: str
) -> list[Interval]:
    """The parts of [start, end) the user's own events (not agentcal's, not transparent, not
    cancelled) keep busy, unmerged."""
    own = (
        item
        for item in items
        if item.get("status") != "cancelled"
        and item.get("transparency") != "transparent"
        and private(item).get(TAG) != "1"
    )
    spans = (
        (parse_time(i.get("start"), default_tz), parse_time(i.get("end"), default_tz)) for i in own
    )
    return clip(spans, start, end)
