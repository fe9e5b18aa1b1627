"""Calendar preferences: recurring blocks (gym, sleep, focus...) the emitter turns into events.

A preference happens on its days of the week (`day_of_week`, None: every day), every
`interval_weeks` weeks (1: every week; 2: every other week), counted Monday to Sunday from the
week of `anchor_date`, the first day it may happen (`occurs_on`). A preference repeating every
N > 1 weeks always has an anchor: without one, it starts on its next day from today (the
user's today, in their own time zone).

`update_preference(..., user_edit=True)` marks the preference as edited by hand; the insight
that created it no longer overrides it (see the preference emitter).

Disabling or removing a preference, or turning it into a suggestion, cancels its events that
have not started yet (queueing their calendar syncs) at once; any other change queues an
`emit_preference_events` job so its future events follow.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from agentcal import validation as v
from agentcal.errors import NotFoundError, ValidationError
from agentcal.planning.recurrence import next_day_on
from agentcal.reader import columns
from agentcal.records import PreferenceRow
from agentcal.service import Service
from agentcal.vocab import PREFERENCE_TYPES

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import CalendarPreference
    from agentcal.reader import Reader

DEFAULT_TITLES = {
    "gym": "Gym",
    "sleep": "Sleep",
    "focus": "Focus time",
    "meal": "Meal",
    "break": "Break",
    "meditation": "Meditation",
    "event": "Event",
}
EDITABLE = (
    "preference_type",
    "title",
    "day_of_week",
    "interval_weeks",
    "anchor_date",
    "start_time",
    "duration_minutes",
    "auto_schedule",
    "priority",
    "is_flexible",
    "is_active",
)


def _flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be true or false (got {value!r})")
    return value


def validate_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise any subset of a preference's editable fields."""
    unknown = sorted(set(fields) - set(EDITABLE) - {"source_insight_id"})
    if unknown:
        raise ValidationError(f"unknown preference field(s): {', '.join(unknown)}")
    out: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "preference_type":
            out[name] = v.one_of(value, PREFERENCE_TYPES, "preference_type")
        elif name == "title":
            out[name] = v.non_empty(value, "title", v.MAX_TITLE_LENGTH)
        elif name == "day_of_week":
            out[name] = v.days(value)
        elif name == "interval_weeks":
            out[name] = v.interval_weeks(value)
        elif name == "anchor_date":
            out[name] = v.a_date(value)
        elif name == "start_time":
            out[name] = v.hhmm(value)
        elif name == "duration_minutes":
            out[name] = v.duration_minutes(value)
        elif name == "priority":
            out[name] = v.priority(value)
        elif name == "source_insight_id":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValidationError("source_insight_id must be an insight id")
            out[name] = value
        else:
            out[name] = _flag(value, name)
    return out


def _local_today(user_id: str, session: Session) -> date:
    """Today in the user's own time zone (their profile's)."""
    from agentcal.users.profiles import user_profiles_service

    return datetime.now(user_profiles_service.profile_for(user_id, session).tz).date()


class CalendarPreferencesService(Service):
    """Creates, edits and lists calendar preferences."""

    def create_preference(
        self,
        *,
        user_id: str,
        preference_type: str,
        start_time: str,
        duration_minutes: int,
        title: str | None = None,
        day_of_week: list[int] | None = None,
        interval_weeks: int = 1,
        anchor_date: date | str | None = None,
        auto_schedule: bool = True,
        priority: int = 5,
        is_flexible: bool = False,
        is_active: bool = True,
        source_insight_id: int | None = None,
        session: Session | None = None,
    ) -> CalendarPreference:
        from agentcal.models import CalendarPreference

        user = v.user_id(user_id)
        fields = validate_fields(
            {
                "preference_type": preference_type,
                "title": title if title is not None else DEFAULT_TITLES.get(preference_type, "x"),
                "day_of_week": day_of_week,
                "interval_weeks": interval_weeks,
                "anchor_date": anchor_date,
                "start_time": start_time,
                "duration_minutes": duration_minutes,
                "auto_schedule": auto_schedule,
                "priority": priority,
                "is_flexible": is_flexible,
                "is_active": is_active,
                "source_insight_id": source_insight_id,
            }
        )
        with self.transaction(session) as s:
            if fields["interval_weeks"] > 1 and fields["anchor_date"] is None:
                today = _local_today(user, s)
                fields["anchor_date"] = next_day_on(fields["day_of_week"], today)
            pref = CalendarPreference(user_id=user, **fields)
            s.add(pref)
            s.flush()
        return pref

    def update_preference(
        self,
        user_id: str,
        preference_id: int,
        *,
        user_edit: bool = True,
        session: Session | None = None,
        **changes: Any,
    ) -> CalendarPreference:
        """Change some fields; `user_edit` marks the preference as set by the user."""
        return self._update(user_id, preference_id, user_edit, session, changes)[0]

    def _update(
        self,
        user_id: str,
        preference_id: int,
        user_edit: bool,
        session: Session | None,
        changes: dict[str, Any],
    ) -> tuple[CalendarPreference, list[int]]:
        """`update_preference`, and the ids of the future events the change cancelled."""
        from agentcal.models import utcnow

        if not changes:
            raise ValidationError("nothing to change: give at least one field")
        fields = validate_fields(changes)
        with self.transaction(session) as s:
            pref = self.get_preference(user_id, preference_id, session=s)
            for name, value in fields.items():
                setattr(pref, name, value)
            if pref.interval_weeks > 1 and pref.anchor_date is None:
                pref.anchor_date = next_day_on(pref.day_of_week, _local_today(pref.user_id, s))
            if user_edit:
                pref.user_edited = True
            pref.updated_at = utcnow()
            s.add(pref)
            s.flush()
            return pref, _events_follow(pref, s)

    def set_active(
        self, user_id: str, preference_id: int, active: bool, session: Session | None = None
    ) -> CalendarPreference:
        return self.update_preference(
            user_id, preference_id, is_active=active, user_edit=False, session=session
        )

    def disable_preference(
        self, user_id: str, preference_id: int, session: Session | None = None
    ) -> tuple[CalendarPreference, list[int]]:
        """Turn a preference off (`prefs disable`, or "stop my gym habit" in chat); returns it
        and the ids of its events that had not started yet, now cancelled."""
        return self._update(user_id, preference_id, False, session, {"is_active": False})

    def get_preference(
        self, user_id: str, preference_id: int, session: Session | None = None
    ) -> CalendarPreference:
        from agentcal.models import CalendarPreference

        user = v.user_id(user_id)
        if not v.is_row_id(preference_id):
            raise NotFoundError(f"no preference with id {preference_id} for user {user!r}")
        with self.transaction(session) as s:
            pref = s.get(CalendarPreference, preference_id)
            if pref is None or pref.user_id != user:
                raise NotFoundError(f"no preference with id {preference_id} for user {user!r}")
            return pref

    def list_preferences(
        self,
        user_id: str,
        *,
        preference_type: str | None = None,
        active_only: bool = False,
        session: Session | Reader | None = None,
    ) -> list[PreferenceRow]:
        """The user's preferences, highest priority first."""
        sql = f"SELECT {columns(PreferenceRow)} FROM calendar_preferences WHERE user_id = :user"
        params: dict[str, Any] = {"user": v.user_id(user_id)}
        if preference_type is not None:
            sql += " AND preference_type = :type"
            params["type"] = v.one_of(preference_type, PREFERENCE_TYPES, "preference_type")
        if active_only:
            sql += " AND is_active = :active"
            params["active"] = True
        with self.reading(session) as r:
            return r.records(PreferenceRow, sql + " ORDER BY priority, id", params)

    def delete_preference(
        self, user_id: str, preference_id: int, session: Session | None = None
    ) -> CalendarPreference:
        from agentcal.models import utcnow
        from agentcal.planning.event_store import cancel_preference_events
        from agentcal.planning.planner import REMOVED_NOTE

        with self.transaction(session) as s:
            pref = self.get_preference(user_id, preference_id, session=s)
            cancel_preference_events(s, pref.user_id, preference_id, REMOVED_NOTE, utcnow())
            s.delete(pref)
            return pref


def _events_follow(pref: CalendarPreference, s: Session) -> list[int]:
    """Cancel the future events of an unwanted preference (returns their ids), or have the
    emitter re-plan them (returns [])."""
    from agentcal.models import utcnow
    from agentcal.planning.event_store import cancel_preference_events
    from agentcal.planning.planner import DISABLED_NOTE, SUGGESTION_NOTE
    from agentcal.queue.jobs import job_queue

    assert pref.id is not None
    if not pref.is_active or not pref.auto_schedule:
        note = DISABLED_NOTE if not pref.is_active else SUGGESTION_NOTE
        return cancel_preference_events(s, pref.user_id, pref.id, note, utcnow())
    job_queue.enqueue(
        "emit_preference_events",
        {"user_id": pref.user_id},
        unique_key=f"emit:{pref.user_id}",
        user_id=pref.user_id,
        session=s,
    )
    return []


calendar_preferences_service = CalendarPreferencesService()
