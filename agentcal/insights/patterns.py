"""Pattern analysis (the seed's `pattern_analysis` insight source).

Events the user created through the agent that recur (same title, a start within
`TIME_TOLERANCE_MINUTES` of the group's median, on at least `MIN_DAYS` distinct days within the
last `LOOKBACK_DAYS`) become `habit` insights with source `pattern_analysis`. The confidence
grows with the evidence: 0.5 at 3 days, +0.05 per extra day, at most 0.9, so a pattern alone
reaches the auto-schedule threshold (0.7 by default) after 7 days seen. An insight is only
written when new or changed, so reruns do not inflate its confidence.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcal.service import Service

if TYPE_CHECKING:
    from sqlmodel import Session

LOOKBACK_DAYS = 28
MIN_DAYS = 3
TIME_TOLERANCE_MINUTES = 30
CATEGORY_BY_TYPE = {
    "gym": "health",
    "sleep": "health",
    "meditation": "health",
    "meal": "personal",
    "focus": "work",
    "break": "work",
}


@dataclass(frozen=True)
class Pattern:
    title: str
    key: str
    category: str
    value: dict[str, Any]
    confidence: float
    days_seen: int


def confidence_for(days_seen: int) -> float:
    return round(min(0.9, 0.5 + 0.05 * (days_seen - MIN_DAYS)), 2)


def _slug(title: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", title.lower()))[:150] or "event"


def find_patterns(events: list[Any], tz: Any) -> list[Pattern]:
    """Recurring (title, time of day) groups among `events` (rows with title/start_at/end_at)."""
    from agentcal.planning.from_insights import preference_type_for

    groups: dict[str, list[Any]] = {}
    for e in events:
        groups.setdefault(" ".join(e.title.lower().split()), []).append(e)
    out = []
    for items in groups.values():
        minutes = [
            e.start_at.astimezone(tz).hour * 60 + e.start_at.astimezone(tz).minute for e in items
        ]
        centre = statistics.median(minutes)
        close = [
            e for e, m in zip(items, minutes, strict=True)
            if abs(m - centre) <= TIME_TOLERANCE_MINUTES
        ]  # fmt: skip
        dates = {e.start_at.astimezone(tz).date() for e in close}
        if len(dates) < MIN_DAYS:
            continue
        start = int(
            statistics.median([m for e, m in zip(items, minutes, strict=True) if e in close])
        )
        start = 5 * round(start / 5) % 1440
        duration = int(
            statistics.median((e.end_at - e.start_at).total_seconds() // 60 for e in close)
        )
        title = close[0].title
        ptype = preference_type_for(_slug(title), "", title)
        value = {
            "time": f"{start // 60:02d}:{start % 60:02d}",
            "duration_minutes": max(1, min(duration, 1440)),
            "days": sorted({d.isoweekday() for d in dates}),
            "title": title,
        }
        out.append(
            Pattern(
                title=title,
                key=f"{_slug(title)}_time",
                category=CATEGORY_BY_TYPE.get(ptype or "", "schedule"),
                value=value,
                confidence=confidence_for(len(dates)),
                days_seen=len(dates),
            )
        )
    return out


class PatternAnalysis(Service):
    def analyse_user(
        self, user_id: str, *, now: datetime | None = None, session: Session | None = None
    ) -> list[Pattern]:
        """Find the user's recurring agent-made events and record them as habit insights."""
        from sqlmodel import col, select

        from agentcal.insights.user_insights import user_insights_service
        from agentcal.models import CalendarEvent, UserInsight, utcnow
        from agentcal.users.profiles import user_profiles_service

        now = now or utcnow()
        with self.transaction(session) as s:
            tz = user_profiles_service.profile_for(user_id, s).tz
            events = s.exec(
                select(CalendarEvent).where(
                    CalendarEvent.user_id == user_id,
                    CalendarEvent.origin == "agent",
                    col(CalendarEvent.status).in_(("planned", "confirmed")),
                    col(CalendarEvent.start_at) >= now - timedelta(days=LOOKBACK_DAYS),
                    col(CalendarEvent.start_at) <= now,
                )
            ).all()
            patterns = find_patterns(list(events), tz)
            for p in patterns:
                existing = s.exec(
                    select(UserInsight).where(
                        UserInsight.user_id == user_id,
                        UserInsight.category == p.category,
                        UserInsight.key == p.key,
                    )
                ).first()
                if existing is not None and existing.value == p.value:
                    continue  # nothing new: rerunning must not inflate the confidence
                user_insights_service.upsert_insight(
                    user_id=user_id,
                    insight_type="habit",
                    category=p.category,
                    key=p.key,
                    value=p.value,
                    confidence=p.confidence,
                    source="pattern_analysis",
                    session=s,
                )
            return patterns

    def users_with_agent_events(self, since: datetime) -> list[str]:
        from sqlalchemy import select

        from agentcal.models import CalendarEvent

        e = CalendarEvent.__table__  # type: ignore[attr-defined]
        with self.transaction() as s:
            rows = s.execute(
                select(e.c.user_id).where(e.c.origin == "agent", e.c.start_at >= since).distinct()
            ).scalars()
            return sorted(rows)


pattern_analysis = PatternAnalysis()
