"""The system prompt, built for every turn from the store: today's date and weekday, the user's
zone and working hours, their active calendar blocks (preferences), what they told agentcal
(insights), and the rules of the house.

`build_system_prompt` is a pure function of the moment, the user's zone and the store's facts
(`agentcal.agent.facts.load_user_facts`), so the zone can come from a per-user profile as
easily as from the settings. The row of every turn keeps the prompt the model saw
(`agentcal logs show ID --prompt`).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.agent.facts import DEFAULT_WORKING_HOURS, UserFacts
from agentcal.validation import format_schedule
from agentcal.vocab import INSIGHT_ENDED

TEMPLATE = """You are agentcal, a calendar assistant in the user's terminal.
Now: {now}, {weekday}. The user's time zone: {tz}.
Working hours: {hours}.

The user's recurring blocks (agentcal keeps them on the calendar):
{preferences}

What the user told you:
{insights}

Rules:
- Read and change the calendar only with the tools. Never invent an event or an event id:
  list or search first, and use the id the tool returned.
- Pass times to the tools as ISO 8601 local times, e.g. {example}.
- Read "tomorrow", "next Friday" and the like from now.
- When a request is ambiguous (which event, which day, what time), ask one short question
  instead of guessing.
- Confirm with the user before deleting more than one event, and before deleting or moving
  anything in the past.
- When the user states a lasting habit, preference, goal or constraint, call
  record_user_insight and tell them what its result says will appear on the calendar.
- When the user says they stopped or no longer want a habit or recurring block, call
  stop_habit (never record_user_insight); list_habits shows their habits with ids.
- Say what the tools did, and pass on any note a tool result carries. Keep answers short."""


def _preference_line(p: Any) -> str:
    kind = "fixed time" if not p.is_flexible else "flexible"
    state = "" if p.auto_schedule else ", a suggestion only (not on the calendar)"
    return (
        f"- {p.title} ({p.preference_type}): "
        f"{format_schedule(p.day_of_week, p.interval_weeks, p.anchor_date)} at {p.start_time} "
        f"for {p.duration_minutes} min, {kind}{state}"
    )


def _insight_line(i: Any) -> str:
    if isinstance(i.value, dict) and i.value.get(INSIGHT_ENDED):
        return (
            f"- {i.category}/{i.key} ({i.insight_type}): the user stopped this on "
            f"{i.value[INSIGHT_ENDED]} and no longer does it"
        )
    value = json.dumps(i.value, ensure_ascii=False, sort_keys=True)
    said = "the user said so" if i.source == "explicit" else f"confidence {i.confidence:.2f}"
    return f"- {i.category}/{i.key} ({i.insight_type}, {said}): {value}"


def build_system_prompt(now: datetime, timezone: str, facts: UserFacts | None = None) -> str:
    """The prompt for one turn at `now` for a user in `timezone` with these facts."""
    local = now.astimezone(ZoneInfo(timezone))
    facts = facts or UserFacts(preferences=[], insights=[], working_hours=None)
    hours = facts.working_hours
    hours_text = (
        hours.describe()
        if hours is not None
        else f"not known; schedule within {DEFAULT_WORKING_HOURS.describe()} unless told"
    )
    insights = [_insight_line(i) for i in facts.insights]
    if facts.more_insights:
        insights.append(f"- … and {facts.more_insights} more (agentcal insights list)")
    return TEMPLATE.format(
        now=local.strftime("%Y-%m-%d %H:%M"),
        weekday=local.strftime("%A"),
        tz=timezone,
        hours=hours_text,
        example=local.replace(hour=14, minute=30).strftime("%Y-%m-%dT%H:%M"),
        preferences="\n".join(_preference_line(p) for p in facts.preferences) or "- none yet",
        insights="\n".join(insights) or "- nothing yet",
    )
