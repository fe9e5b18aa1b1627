"""The default backend: events stay in the store; an `.ics` file mirrors them.

After every change the user's whole calendar is re-rendered from the store and replaced
atomically, so any calendar app subscribed to the file sees a consistent calendar. The default
user's file is `AGENTCAL_ICS_PATH` (default `calendar.ics` in the data dir); other users get a
sibling file `calendar.<user>.ics` (agentcal.user_files: one file per user id).

The backend reads the store in its own transaction: call it after the change is committed, not
while holding a write transaction (SQLite takes the write lock at BEGIN).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agentcal.calendars.base import EventData, Interval, SyncResult
from agentcal.calendars.ics import atomic_write, ics_owner, render_calendar
from agentcal.files import UnsafePathError, os_error_message

if TYPE_CHECKING:
    from agentcal.settings import Settings


class LocalCalendar:
    """Events in the store, mirrored to an ICS file per user."""

    name = "local"

    def __init__(self, settings: Settings, user_id: str | None = None) -> None:
        self.settings = settings
        self.user_id = user_id or settings.user

    def ics_path(self, user_id: str | None = None) -> Path:
        """Where a user's calendar file lives."""
        from agentcal.user_files import ics_path

        return ics_path(self.settings, user_id or self.user_id)

    def write_user_calendar(self, user_id: str | None = None) -> Path:
        """Render the user's active events from the store and replace their ICS file.

        The file says whose it is. When it held someone else's calendar (AGENTCAL_USER changed:
        `calendar.ics` is now another person's), that person's calendar is written to their own
        file too, so their events are in a file of theirs, not in no file at all."""
        from agentcal.calendars.stored import StoredEvents

        user = user_id or self.user_id
        events = StoredEvents().list_events(user)
        path = self.ics_path(user)
        previous = ics_owner(path)
        atomic_write(path, render_calendar(events, user=user))
        if previous is not None and previous != user and self.ics_path(previous) != path:
            self.write_user_calendar(previous)
        return path

    def claim_file(self, user_id: str | None = None) -> bool:
        """Rewrite the user's ICS file if it holds another person's calendar (AGENTCAL_USER
        changed since it was written); True if it did. Called on every push, so `emit` or the
        daemon corrects the file even when the user has nothing new."""
        user = user_id or self.user_id
        previous = ics_owner(self.ics_path(user))
        if previous is None or previous == user:
            return False
        self.write_user_calendar(user)
        return True

    def upsert(self, event: EventData) -> SyncResult:
        return self.sync_many([event])[0]

    def delete(self, event: EventData) -> SyncResult:
        return self.sync_many([event])[0]

    def sync_many(self, events: list[EventData]) -> list[SyncResult]:
        """Rewrite each affected user's file once; the file id of an event is its UID."""
        results: list[SyncResult] = []
        failed: dict[str, tuple[str, bool]] = {}  # user -> (error, retryable)
        for user in dict.fromkeys(e.user_id for e in events):
            try:
                self.write_user_calendar(user)
            except UnsafePathError as exc:  # not agentcal's file: retrying will not help
                failed[user] = (str(exc), False)
            except OSError as exc:  # a full disk or a busy file may clear up: retry later
                failed[user] = (os_error_message(exc, self.ics_path(user)), True)
        for e in events:
            if e.user_id in failed:
                error, retryable = failed[e.user_id]
                results.append(
                    SyncResult(e.id, e.backend_event_id, ok=False, error=error, retryable=retryable)
                )
            else:
                results.append(SyncResult(e.id, None if e.cancelled else e.uid, ok=True))
        return results

    def busy_times(self, start: datetime, end: datetime) -> list[Interval]:
        """Busy time the user entered themselves (agentcal's own events don't count)."""
        from agentcal.calendars.base import merge_intervals
        from agentcal.calendars.stored import StoredEvents

        spans = [
            (e.start_at, e.end_at)
            for e in StoredEvents().list_events(self.user_id, start, end)
            if e.origin == "user" and e.start_at is not None and e.end_at is not None
        ]
        return merge_intervals(spans)
