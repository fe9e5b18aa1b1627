"""The system prompt: who the agent is, today's date and time, and what it knows about the user."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

TEMPLATE = """You are agentcal, a calendar assistant in the user's terminal.
Now: {now} ({weekday}), time zone {tz}. Interpret relative dates ("tomorrow", "next Friday")
from this moment, and pass times to tools as ISO 8601 local times (e.g. {example}).

Use the tools to read and change the user's calendar; never invent events or ids: list or
search first when you need an event id. Keep answers short.
When the user states a durable habit, preference, goal or constraint ("I go to the gym every
weekday at 6am", "I sleep at 23:00"), call record_user_insight with a value like
{{"time": "06:00", "duration_minutes": 60, "days": [1, 2, 3, 4, 5]}} (days: 1=Mon..7=Sun,
omit for every day); agentcal then keeps it on the calendar.

What you already know about this user:
{insights}"""


def build_system_prompt(now: datetime, timezone: str, insights: Iterable[Any] = ()) -> str:
    """The prompt for one turn; `insights` are UserInsight rows (or objects with the same fields)."""
    local = now.astimezone(ZoneInfo(timezone))
    lines = [
        f"- {i.category}/{i.key} ({i.insight_type}, confidence {i.confidence:.2f}): "
        f"{json.dumps(i.value, ensure_ascii=False)}"
        for i in insights
    ]
    return TEMPLATE.format(
        now=local.strftime("%Y-%m-%d %H:%M"),
        weekday=local.strftime("%A"),
        tz=timezone,
        example=local.replace(hour=14, minute=30).strftime("%Y-%m-%dT%H:%M"),
        insights="\n".join(lines) or "- nothing yet",
    )
