"""What the store knows about a user that the agent needs each turn: active preferences,
insights and working hours.

Working hours are an insight like any other: category `work`, key `working_hours`, value
`{"time": "09:00", "end": "17:30", "days": [1, 2, 3, 4, 5]}` (the agent records it with
`record_user_insight`, or `agentcal insights update` from the shell).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from agentcal import validation as v
from agentcal.errors import ValidationError

WORKING_HOURS_KEY = ("work", "working_hours")
# How many insights the prompt lists (the most confident first): the prompt must stay small
# enough for an 8k-context model whatever the store holds.
MAX_PROMPT_INSIGHTS = 25
MAX_PROMPT_PREFERENCES = 25


@dataclass(frozen=True)
class WorkingHours:
    start: time
    end: time
    days: tuple[int, ...] | None  # 1=Mon..7=Sun; None: every day
    known: bool  # False: the default below, the user never said

    def describe(self) -> str:
        days = v.format_days(list(self.days) if self.days else None)
        return f"{self.start:%H:%M}–{self.end:%H:%M} {days}"


DEFAULT_WORKING_HOURS = WorkingHours(time(9), time(17), (1, 2, 3, 4, 5), known=False)


def working_hours_from_value(value: Any) -> WorkingHours | None:
    """The working hours an insight value describes, or None if it describes none."""
    if not isinstance(value, dict):
        return None
    try:
        start = v.hhmm(value.get("time") or value.get("start"), "time")
        end = v.hhmm(value.get("end"), "end")
        days = v.days(value.get("days"))
    except ValidationError:
        return None
    begin, finish = time.fromisoformat(start), time.fromisoformat(end)
    if finish <= begin:
        return None
    return WorkingHours(begin, finish, tuple(days) if days else None, known=True)


@dataclass(frozen=True)
class UserFacts:
    """The store's facts about one user, as the system prompt lists them."""

    preferences: list[Any]  # active CalendarPreference rows
    insights: list[Any]  # UserInsight rows that no preference already shows
    working_hours: WorkingHours | None
    more_insights: int = 0  # insights left out to keep the prompt small


def load_user_facts(user_id: str, engine: Any = None) -> UserFacts:
    """Active preferences, insights and working hours of a user, read from one snapshot (on
    the read path: no table classes)."""
    from agentcal.insights.user_insights import UserInsightsService
    from agentcal.planning.preferences import CalendarPreferencesService
    from agentcal.reader import reading

    with reading(engine) as r:
        prefs = CalendarPreferencesService(engine).list_preferences(
            user_id, active_only=True, session=r
        )
        insights = UserInsightsService(engine).get_user_insights(user_id, session=r)
    hours = None
    shown_by_preference = {p.source_insight_id for p in prefs}
    rest = []
    for insight in insights:
        if (insight.category, insight.key) == WORKING_HOURS_KEY:
            hours = working_hours_from_value(insight.value)
            if hours is not None:
                continue
        if insight.id in shown_by_preference:
            continue
        rest.append(insight)
    # What the user said outright first, then the most confident guesses.
    rest.sort(key=lambda i: (i.source != "explicit", -i.confidence, i.category, i.key))
    return UserFacts(
        preferences=prefs[:MAX_PROMPT_PREFERENCES],
        insights=rest[:MAX_PROMPT_INSIGHTS],
        working_hours=hours,
        more_insights=max(0, len(rest) - MAX_PROMPT_INSIGHTS),
    )


def load_working_hours(user_id: str, engine: Any = None) -> WorkingHours:
    """The user's working hours, or DEFAULT_WORKING_HOURS (known=False) when never stated."""
    from agentcal.errors import NotFoundError
    from agentcal.insights.user_insights import UserInsightsService

    try:
        insight = UserInsightsService(engine).get_insight(user_id, "/".join(WORKING_HOURS_KEY))
    except NotFoundError:
        return DEFAULT_WORKING_HOURS
    return working_hours_from_value(insight.value) or DEFAULT_WORKING_HOURS
