"""Calendar events in the store: the agent's tools, the emitter and the backends share them.

Every change bumps the event's `revision` and queues one `calendar_sync` job for that revision
(unique key `calendar_sync:<event id>:<revision>`); the sync handler pushes the event's current
state and skips revisions already synced, so repeated or out-of-order jobs are harmless.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from agentcal import validation as v
from agentcal.calendars.base import Interval, first_free_slot, merge_intervals
from agentcal.calendars.stored import MAX_EVENT_MINUTES, StoredEvents
from agentcal.calendars.stored import aware as _aware
from agentcal.errors import NotFoundError, ValidationError
from agentcal.records import EventRow

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import CalendarEvent

MAX_TITLE = 500


def _span(start: datetime, end: datetime | None, duration_minutes: int | None) -> datetime:
    if end is None:
        if duration_minutes is None:
            raise ValidationError("give an end time or a duration")
        if isinstance(duration_minutes, bool) or not isinstance(duration_minutes, int):
            raise ValidationError("duration must be a whole number of minutes")
        if duration_minutes <= 0:
            raise ValidationError(
                "an event must end after it starts (duration of 1 minute or more)"
            )
        if duration_minutes > MAX_EVENT_MINUTES:  # before the date arithmetic overflows
            raise ValidationError(
                f"an event may last at most 7 days, not {duration_minutes} minutes"
            )
        end = start + timedelta(minutes=duration_minutes)
    end = _aware(end, "end")
    minutes = (end - start).total_seconds() / 60
    if minutes <= 0:
        raise ValidationError("an event must end after it starts")
    if minutes > MAX_EVENT_MINUTES:
        raise ValidationError("an event may last at most 7 days")
    return end


def new_uid() -> str:
    from uuid import uuid4

    return f"{uuid4().hex}@agentcal"


class CalendarEventsService(StoredEvents):
    """Create, read, move, cancel and search events; find free time."""

    def create_event(
        self,
        *,
        user_id: str,
        title: str,
        start: datetime,
        end: datetime | None = None,
        duration_minutes: int | None = None,
        timezone: str | None = None,
        description: str | None = None,
        location: str | None = None,
        origin: str = "agent",
        preference_id: int | None = None,
        local_date: Any = None,
        status: str = "planned",
        placement_note: str | None = None,
        sync: bool = True,
        session: Session | None = None,
    ) -> CalendarEvent:
        from agentcal.models import CalendarEvent

        user = v.user_id(user_id)
        title = v.non_empty(title, "title", MAX_TITLE)
        start = _aware(start, "start")
        end = _span(start, end, duration_minutes)
        tz = timezone or _user_tz(user)
        event = CalendarEvent(
            uid=new_uid(),
            user_id=user,
            title=title,
            description=description,
            location=location,
            start_at=start,
            end_at=end,
            timezone=tz,
            local_date=local_date or start.astimezone(ZoneInfo(tz)).date(),
            origin=origin,
            preference_id=preference_id,
            status=status,
            placement_note=placement_note,
            revision=1,
        )
        with self.transaction(session) as s:
            s.add(event)
            s.flush()
            if sync and status != "unplaced":
                self.queue_sync(event, session=s)
        return event

    def get_event(
        self, user_id: str, event_id: int, session: Session | None = None
    ) -> CalendarEvent:
        from agentcal.models import CalendarEvent

        user = v.user_id(user_id)
        if not v.is_row_id(event_id):
            raise NotFoundError(f"no event with id {event_id}")
        with self.transaction(session) as s:
            event = s.get(CalendarEvent, event_id)
            if event is None or event.user_id != user:
                raise NotFoundError(f"no event with id {event_id}")
            return event

    def search_events(
        self,
        user_id: str,
        text: str,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 50,
        session: Session | None = None,
    ) -> list[EventRow]:
        """Events whose title, description or location match `text`: containing it, or having
        every content word of it (by word, prefix or similarity: `planning.matching`)."""
        from agentcal.planning.matching import matches

        needle = v.non_empty(text, "search text").lower()
        events = self.list_events(user_id, start, end, session=session)
        hits = [
            e
            for e in events
            if matches(needle, " ".join(filter(None, (e.title, e.description, e.location))))
        ]
        return hits[:limit]

    def update_event(
        self,
        user_id: str,
        event_id: int,
        *,
        title: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        duration_minutes: int | None = None,
        description: str | None = None,
        location: str | None = None,
        placement_note: str | None = None,
        status: str | None = None,
        session: Session | None = None,
    ) -> CalendarEvent:
        """Rename, move (keeping the length unless a new end/duration is given) or resize."""
        from agentcal.models import utcnow

        with self.transaction(session) as s:
            event = self.get_event(user_id, event_id, session=s)
            if event.status == "cancelled" and status is None:
                raise ValidationError(f"event {event_id} is cancelled")
            if title is not None:
                event.title = v.non_empty(title, "title", MAX_TITLE)
            old_start, old_end = event.start_at, event.end_at
            if start is not None or end is not None or duration_minutes is not None:
                new_start = _aware(start, "start") if start is not None else old_start
                assert new_start is not None and old_start is not None and old_end is not None
                if end is None and duration_minutes is None:
                    end = new_start + (old_end - old_start)
                event.end_at = _span(new_start, end, duration_minutes)
                event.start_at = new_start
                event.local_date = new_start.astimezone(ZoneInfo(event.timezone)).date()
            if description is not None:
                event.description = description
            if location is not None:
                event.location = location
            if placement_note is not None:
                event.placement_note = placement_note
            if status is not None:
                event.status = status
            event.revision += 1
            event.updated_at = utcnow()
            s.add(event)
            s.flush()
            self.queue_sync(event, session=s)
            return event

    def cancel_event(
        self, user_id: str, event_id: int, session: Session | None = None
    ) -> CalendarEvent:
        """Cancel an event; the backend deletes it on the next sync."""
        with self.transaction(session) as s:
            event = self.get_event(user_id, event_id, session=s)
            if event.status == "cancelled":
                return event
            return self.update_event(user_id, event_id, status="cancelled", session=s)

    def queue_sync(self, event: CalendarEvent, session: Session | None = None) -> None:
        """Queue a `calendar_sync` job for the event's current revision."""
        from agentcal.planning.push import note_changed
        from agentcal.queue.jobs import job_queue

        job_queue.enqueue(
            "calendar_sync",
            {"event_id": event.id, "revision": event.revision},
            unique_key=f"calendar_sync:{event.id}:{event.revision}",
            user_id=event.user_id,
            priority=50,
            session=session,
        )
        note_changed(event.user_id, session)

    def busy_intervals(
        self,
        user_id: str,
        start: datetime,
        end: datetime,
        *,
        exclude_ids: Iterable[int] = (),
        session: Session | None = None,
    ) -> list[Interval]:
        """Merged busy time from the user's active events in [start, end)."""
        skip = set(exclude_ids)
        spans = [
            (e.start_at, e.end_at)
            for e in self.list_events(user_id, start, end, session=session)
            if e.id not in skip and e.start_at is not None and e.end_at is not None
        ]
        return merge_intervals(spans)

    def find_free_slot(
        self,
        user_id: str,
        window_start: datetime,
        window_end: datetime,
        duration_minutes: int,
        *,
        extra_busy: Iterable[Interval] = (),
        session: Session | None = None,
    ) -> Interval | None:
        """The earliest free slot of the given length inside the window, or None."""
        window_start = _aware(window_start, "window start")
        window_end = _aware(window_end, "window end")
        length = timedelta(minutes=v.duration_minutes(duration_minutes, "duration"))
        busy = merge_intervals(
            [*self.busy_intervals(user_id, window_start, window_end, session=session), *extra_busy]
        )
        return first_free_slot(busy, window_start, window_end, length)


def _user_tz(user_id: str) -> str:
    from agentcal.users.profiles import user_timezone

    return user_timezone(user_id)


calendar_events_service = CalendarEventsService()
