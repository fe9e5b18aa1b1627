"""The user's habits (recurring blocks, the `calendar_preferences`): listing them with what the
user told agentcal, and stopping one the user no longer does.

Stopping is `agentcal prefs disable` (the same service: its events that have not started are
cancelled at once) on the preference a description names, plus its insight marked as ended,
so the system prompt stops telling a model the user does it. A description that names no
habit, or several equally well, changes nothing: the result says which habits there are.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.agent.context import AgentContext
from agentcal.errors import ValidationError

# Words that say "a habit" without naming one ("stop my gym routine").
HABIT_WORDS = (
    r"\b(?:habits?|routines?|blocks?|recurring|regular|regularly|repeating|series|every|each|"
    r"daily|weekly|schedule|anymore|any more|all|sessions?)\b"
)


def _habit(p: Any, insight: Any = None) -> dict[str, Any]:
    from agentcal.validation import format_schedule

    out = {
        "id": p.id,
        "title": p.title,
        "preference_type": p.preference_type,
        "days": format_schedule(p.day_of_week, p.interval_weeks, p.anchor_date),
        "time": p.start_time,
        "duration_minutes": p.duration_minutes,
        "on_calendar": bool(p.is_active and p.auto_schedule),
        "is_active": p.is_active,
    }
    if insight is not None:
        out["insight"] = f"{insight.category}/{insight.key}"
    return out


def _insight(i: Any) -> dict[str, Any]:
    return {
        "insight": f"{i.category}/{i.key}",
        "insight_type": i.insight_type,
        "value": i.value,
        "confidence": i.confidence,
    }


def list_habits(ctx: AgentContext) -> dict[str, Any]:
    """The user's habits (on or off, by priority) and the insights no habit shows."""
    from agentcal.insights.user_insights import UserInsightsService
    from agentcal.planning.preferences import CalendarPreferencesService
    from agentcal.reader import reading

    with reading(ctx.engine) as r:
        prefs = CalendarPreferencesService(ctx.engine).list_preferences(ctx.user_id, session=r)
        insights = UserInsightsService(ctx.engine).get_user_insights(ctx.user_id, session=r)
    by_id: dict[int | None, Any] = {i.id: i for i in insights}
    shown = {p.source_insight_id for p in prefs}
    return {
        "habits": [_habit(p, by_id.get(p.source_insight_id)) for p in prefs],
        "insights": [_insight(i) for i in insights if i.id not in shown],
    }


def _part_of_day(hhmm: str) -> str:
    hour = int(hhmm[:2])
    return (
        "morning" if 4 <= hour < 12
        else "afternoon" if hour < 17
        else "evening" if hour < 22
        else "night"
    )  # fmt: skip


def match_habits(what: str, prefs: list[Any], insights: dict[Any, Any]) -> list[Any]:
    """The preferences a description names best: by title first; when no title matches, by
    type, insight key and the part of the day ("morning gym" is a gym block at 06:00)."""
    from agentcal.planning.matching import score

    query = " ".join(re.sub(HABIT_WORDS, " ", what.lower()).split())
    if not query:
        return []

    def about(p: Any) -> str:
        i = insights.get(p.source_insight_id)
        key = f"{i.category} {i.key.replace('_', ' ')}" if i is not None else ""
        return f"{p.preference_type} {key} {_part_of_day(p.start_time)}"

    for text_of in (lambda p: p.title, about):
        scored = [(score(query, text_of(p)), p) for p in prefs]
        scored = [(s, p) for s, p in scored if s > 0]
        if scored:
            best = max(s for s, _ in scored)
            return [p for s, p in scored if s >= best - 1e-9]
    return []


def stop_habit(
    ctx: AgentContext, what: str | None = None, preference_id: int | None = None
) -> dict[str, Any]:
    """Turn off the habit `what` describes (or `preference_id` names): its future events are
    cancelled and its insight marked as ended. None or several matches: nothing changes."""
    from agentcal.errors import NotFoundError
    from agentcal.insights.user_insights import UserInsightsService
    from agentcal.planning.preferences import CalendarPreferencesService

    if preference_id is None and not (isinstance(what, str) and what.strip()):
        raise ValidationError("say which habit to stop: what (e.g. gym) or preference_id")
    prefs_service = CalendarPreferencesService(ctx.engine)
    insights_service = UserInsightsService(ctx.engine)
    with prefs_service.transaction() as s:
        prefs = prefs_service.list_preferences(ctx.user_id, session=s)
        rows = insights_service.get_user_insights(ctx.user_id, session=s)
        insights: dict[int | None, Any] = {i.id: i for i in rows}
        if preference_id is not None:
            found = [p for p in prefs if p.id == preference_id]
            if not found:
                raise NotFoundError(f"no habit with id {preference_id}: see list_habits")
            said = f"#{preference_id}"
        else:
            assert what is not None
            said = what.strip()
            active = match_habits(said, [p for p in prefs if p.is_active], insights)
            found = active or match_habits(said, prefs, insights)
        if len(found) != 1:
            why = (
                f"several habits match “{said}”: ask the user which (then pass its id)"
                if found
                else f"no habit matches “{said}”"
            )
            return {
                "stopped": None,
                "why": why + "; nothing was changed",
                "matches": [_habit(p, insights.get(p.source_insight_id)) for p in found],
                "habits": [] if found else [_habit(p) for p in prefs if p.is_active],
            }
        (pref,) = found
        insight = insights.get(pref.source_insight_id)
        if not pref.is_active:
            return {
                "stopped": None,
                "why": f"“{pref.title}” was already off; nothing was changed",
                "habit": _habit(pref, insight),
            }
        _row, cancelled = prefs_service.disable_preference(ctx.user_id, pref.id, session=s)
        if insight is not None:
            today = datetime.now(UTC).astimezone(ZoneInfo(ctx.timezone)).date()
            insights_service.end_insight(
                ctx.user_id, insight.id, today, ctx.source_request_id, session=s
            )
        return {
            "stopped": {**_habit(pref, insight), "on_calendar": False, "is_active": False},
            "cancelled_events": len(cancelled),
            **({"insight_ended": f"{insight.category}/{insight.key}"} if insight else {}),
            "undo": f"agentcal prefs enable {pref.id}",
        }
