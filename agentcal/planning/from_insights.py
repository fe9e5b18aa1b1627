"""From insights to calendar preferences (the seed's step 4).

An insight is *schedulable* when its value is an object with `time` (HH:MM) and a duration
(`duration` or `duration_minutes`, minutes), and optionally `days` (1=Mon..7=Sun, or a phrase
such as "weekdays"), `interval_weeks` (every N weeks, default 1) with `anchor_date` (YYYY-MM-DD,
the first day it may happen; by default its next day from when the insight was first recorded),
`title`, `priority`, `flexible`. Its preference type is the value's
`preference_type` (the agent's insight tool always sets it; `none` means no calendar block).
A value without one (a body typed into `agentcal insights update`) takes it from words in its
key, then its category ("gym_time" -> gym); words per type are in `TYPE_WORDS`.

* confidence >= AGENTCAL_AUTO_SCHEDULE_THRESHOLD: the preference is auto-scheduled;
  below it, the preference is a suggestion (auto_schedule off) the user can turn on.
* An insight whose value has `ended_on` (the user stopped the habit) describes no block; its
  preference, turned off when the user stopped it, stays as it is.
* When the insight changes, its preference follows (time, duration, days, auto_schedule...),
  unless the user edited the preference by hand (`agentcal prefs edit` sets user_edited):
  from then on the user's version wins and the insight no longer touches it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from agentcal import validation as v
from agentcal.errors import ValidationError
from agentcal.planning.recurrence import next_day_on
from agentcal.service import Service
from agentcal.vocab import INSIGHT_ENDED, PREFERENCE_TYPES

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import CalendarPreference, UserInsight

TYPE_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("event", ("event",)),
    ("gym", ("gym", "workout", "exercise", "training", "run", "running", "fitness", "swim",
             "swimming", "cycling", "cycle", "bike", "jog", "jogging", "weights", "lifting",
             "tennis", "football", "soccer", "climbing")),
    ("sleep", ("sleep", "bed", "bedtime", "nap")),
    ("focus", ("focus", "deep", "deepwork", "concentration")),
    ("meal", ("lunch", "dinner", "breakfast", "meal", "brunch")),
    ("break", ("break", "pause", "rest", "walk")),
    ("meditation", ("meditation", "meditate", "mindfulness", "yoga", "stretching", "stretch")),
)  # fmt: skip
DEFAULT_PRIORITY = {
    "event": 2, "sleep": 2, "meal": 3, "gym": 4, "focus": 5, "meditation": 6, "break": 7,
}  # fmt: skip
DEFAULT_FLEXIBLE = {
    "event": False,
    "sleep": False,
    "meal": True,
    "gym": True,
    "focus": True,
    "meditation": True,
    "break": True,
}
BASE_TITLES = {
    "gym": "Gym", "focus": "Focus", "break": "Break", "meditation": "Meditation", "event": "Event",
}  # fmt: skip


@dataclass(frozen=True)
class PreferenceSpec:
    """The preference an insight asks for."""

    preference_type: str
    title: str
    start_time: str
    duration_minutes: int
    day_of_week: list[int] | None
    priority: int
    is_flexible: bool
    auto_schedule: bool
    interval_weeks: int = 1
    anchor_date: date | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "preference_type": self.preference_type,
            "title": self.title,
            "start_time": self.start_time,
            "duration_minutes": self.duration_minutes,
            "day_of_week": self.day_of_week,
            "interval_weeks": self.interval_weeks,
            "anchor_date": self.anchor_date,
            "priority": self.priority,
            "is_flexible": self.is_flexible,
            "auto_schedule": self.auto_schedule,
        }


@dataclass(frozen=True)
class SyncOutcome:
    user_id: str
    insight_id: int
    preference_id: int | None
    outcome: str  # created | updated | unchanged | user_edited | not_schedulable
    reason: str = ""


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


def preference_type_for(key: str, category: str = "", title: str = "") -> str | None:
    """The preference type named by the insight's key (then title, then category), if any."""
    for text in (key, title, category):
        words = set(_words(text))
        for ptype, vocab in TYPE_WORDS:
            if words.intersection(vocab):
                return ptype
    return None


def _title(ptype: str, start_time: str, key: str) -> str:
    if ptype == "sleep":
        return "Sleep"
    if ptype == "meal":
        for word in ("breakfast", "brunch", "lunch", "dinner"):
            if word in _words(key):
                return word.capitalize()
        return "Meal"
    hour = int(start_time[:2])
    part = "Morning" if hour < 12 else "Afternoon" if hour < 17 else "Evening"
    return f"{part} {BASE_TITLES[ptype]}"


def _first_recorded(insight: Any) -> date:
    """The user's local date when the insight was first recorded (today for a body not yet
    stored): the start of a repetition that names none, the same on every sync."""
    from agentcal.settings import get_settings
    from agentcal.users.profiles import user_profiles_service

    created = getattr(insight, "created_at", None)
    moment = created if isinstance(created, datetime) else datetime.now(UTC)
    user = getattr(insight, "user_id", None)
    tz = user_profiles_service.profile_for(user).tz if user else get_settings().tz
    return moment.astimezone(tz).date()


def spec_from_insight(
    insight: UserInsight | Any, threshold: float
) -> tuple[PreferenceSpec | None, str]:
    """The preference an insight describes, or None and why it describes none."""
    value = insight.value
    if isinstance(value, dict) and value.get(INSIGHT_ENDED):
        return None, f"the user stopped it on {value[INSIGHT_ENDED]}"
    named = value.get("preference_type") if isinstance(value, dict) else None
    if named == "none":
        return None, "its preference_type is none: a fact, not a calendar block"
    if named is not None and named not in PREFERENCE_TYPES:
        return None, f"unknown preference_type {named!r}"
    if not isinstance(value, dict) or "time" not in value:
        return None, "the value has no time"
    duration = value.get("duration_minutes", value.get("duration"))
    if duration is None:
        return None, "the value has no duration"
    ptype = named or preference_type_for(
        insight.key, insight.category, str(value.get("title") or "")
    )
    if ptype is None:
        return None, "no preference type (gym, sleep, focus, meal, break, meditation) in its key"
    try:
        start = v.hhmm(value["time"], "time")
        minutes = v.duration_minutes(duration, "duration")
        days = v.days(value.get("days"))
        every = v.interval_weeks(value.get("interval_weeks", 1))
        anchor = v.a_date(value.get("anchor_date"))
        if every > 1 and anchor is None:
            anchor = next_day_on(days, _first_recorded(insight))
        title = v.non_empty(value.get("title") or _title(ptype, start, insight.key), "title")
        priority = v.priority(value.get("priority", DEFAULT_PRIORITY[ptype]))
        flexible = value.get("flexible", value.get("is_flexible", DEFAULT_FLEXIBLE[ptype]))
        if not isinstance(flexible, bool):
            raise ValidationError("flexible must be true or false")
    except ValidationError as exc:
        return None, str(exc)
    return (
        PreferenceSpec(
            preference_type=ptype,
            title=title,
            start_time=start,
            duration_minutes=minutes,
            day_of_week=days,
            priority=priority,
            is_flexible=flexible,
            auto_schedule=insight.confidence >= threshold,
            interval_weeks=every,
            anchor_date=anchor,
        ),
        "",
    )


class InsightPreferenceSync(Service):
    """Creates and updates the preferences that insights describe."""

    def sync_user(self, user_id: str, session: Session | None = None) -> list[SyncOutcome]:
        """Bring the user's insight-made preferences in line with their insights."""
        return self.sync_users([v.user_id(user_id)], session=session)

    def sync_users(self, user_ids: list[str], session: Session | None = None) -> list[SyncOutcome]:
        """`sync_user` for several users, with one query per table."""
        from sqlmodel import col, select

        from agentcal.models import CalendarPreference, UserInsight
        from agentcal.settings import get_settings

        threshold = get_settings().auto_schedule_threshold
        out: list[SyncOutcome] = []
        with self.transaction(session) as s:
            insights = s.exec(
                select(UserInsight)
                .where(col(UserInsight.user_id).in_(user_ids))
                .order_by(col(UserInsight.id))
            ).all()
            if not insights:
                return out
            prefs = s.exec(
                select(CalendarPreference).where(
                    col(CalendarPreference.user_id).in_(user_ids),
                    col(CalendarPreference.source_insight_id).is_not(None),
                )
            ).all()
            by_insight = {p.source_insight_id: p for p in prefs}
            for insight in insights:
                user = insight.user_id
                assert insight.id is not None
                spec, why = spec_from_insight(insight, threshold)
                pref = by_insight.get(insight.id)
                if spec is None:
                    if pref is None:
                        out.append(SyncOutcome(user, insight.id, None, "not_schedulable", why))
                    else:  # the insight stopped describing a block: its preference stays
                        out.append(SyncOutcome(user, insight.id, pref.id, "unchanged", why))
                    continue
                out.append(self._apply(s, user, insight.id, spec, pref))
        return out

    def _apply(
        self,
        s: Session,
        user: str,
        insight_id: int,
        spec: PreferenceSpec,
        pref: CalendarPreference | None,
    ) -> SyncOutcome:
        from agentcal.models import utcnow
        from agentcal.planning.preferences import calendar_preferences_service as prefs

        if pref is None:
            created = prefs.create_preference(
                user_id=user, source_insight_id=insight_id, session=s, **spec.fields()
            )
            return SyncOutcome(user, insight_id, created.id, "created")
        if pref.user_edited:
            return SyncOutcome(user, insight_id, pref.id, "user_edited", "edited by the user: kept")
        changes = {k: val for k, val in spec.fields().items() if getattr(pref, k) != val}
        if not changes:
            return SyncOutcome(user, insight_id, pref.id, "unchanged")
        for name, value in changes.items():
            setattr(pref, name, value)
        pref.updated_at = utcnow()
        s.add(pref)
        s.flush()
        return SyncOutcome(user, insight_id, pref.id, "updated", ", ".join(sorted(changes)))


insight_preference_sync = InsightPreferenceSync()
