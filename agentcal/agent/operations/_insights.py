"""Recording what the agent learned about the user: the seed's insight body, validated and
queued as an `update_insight` job, and whether (and which) calendar events it becomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.agent.context import AgentContext
from agentcal.errors import ValidationError


def record_user_insight(
    ctx: AgentContext,
    insight_type: str,
    category: str,
    key: str,
    value: Any,
    confidence: float,
    preference_type: str | None = None,
) -> dict[str, Any]:
    """Validate the seed's insight body and queue the `update_insight` job (returns at once).

    `preference_type` (a calendar block type, or "none") is stored in the value, so the
    emitter does not guess the block from the key; the result says whether and which events
    the insight becomes."""
    from agentcal import validation as v
    from agentcal.insights.user_insights import InsightBody
    from agentcal.queue.jobs import JobQueue
    from agentcal.vocab import PREFERENCE_TYPES

    if preference_type is not None:
        v.one_of(preference_type, (*PREFERENCE_TYPES, "none"), "preference_type")
        if not isinstance(value, dict):
            raise ValidationError("value must be an object when preference_type is given")
        value = {**value, "preference_type": preference_type}
    if isinstance(value, dict) and value.get("interval_weeks") not in (None, 1):
        value = _with_anchor(value, ctx.timezone)
    body = InsightBody.parse(
        {
            "insight_type": insight_type,
            "category": category,
            "key": key,
            "value": value,
            "confidence": confidence,
        }
    )
    kept = _kept_instead(ctx, body)
    run = ctx.agent_run_id or "norun"
    job = JobQueue(ctx.engine).enqueue(
        "update_insight",
        {
            **body.as_dict(),
            "user_id": ctx.user_id,
            "agent_run_id": ctx.agent_run_id,
            "source_request_id": ctx.source_request_id,
        },
        unique_key=f"update_insight:{ctx.user_id}:{body.category}:{body.key}:{run}",
        user_id=ctx.user_id,
    )
    queued = {"job_id": job.id, "category": body.category, "key": body.key}
    if kept is not None:
        return {"queued": queued, "kept": kept, "calendar": {"becomes_events": False, "why": (
            f"the user said otherwise before ({body.category}/{body.key}: {kept}); a guess "
            "does not overwrite it"
        )}}  # fmt: skip
    return {"queued": queued, "calendar": calendar_outcome(body)}


def _kept_instead(ctx: AgentContext, body: Any) -> Any:
    """What the store already holds for this insight when the job will keep it instead of
    this body (a guess over what the user said: see `user_insights`), else None. The answer
    can then say so, rather than describe a block that will not be made."""
    from agentcal.errors import NotFoundError
    from agentcal.insights.user_insights import UserInsightsService

    service = UserInsightsService(ctx.engine)
    try:
        existing = service.get_insight(ctx.user_id, f"{body.category}/{body.key}")
    except NotFoundError:
        return None
    return existing.value if service.decide(existing, body, "agent") == "kept" else None


def _with_anchor(value: dict[str, Any], timezone: str) -> dict[str, Any]:
    """A repetition every N weeks starts on its next day from the user's today unless the
    value says when; the insight keeps that date, so later syncs count the same weeks."""
    from agentcal import validation as v
    from agentcal.planning.recurrence import next_day_on

    v.interval_weeks(value["interval_weeks"])
    if value.get("anchor_date") is not None:
        v.a_date(value["anchor_date"])
        return value
    today = datetime.now(UTC).astimezone(ZoneInfo(timezone)).date()
    first = next_day_on(v.days(value.get("days")), today)
    return {**value, "anchor_date": first.isoformat()}


def calendar_outcome(body: Any) -> dict[str, Any]:
    """Whether an insight body will become calendar events, and which."""
    from types import SimpleNamespace

    from agentcal import validation as v
    from agentcal.planning.from_insights import spec_from_insight
    from agentcal.settings import get_settings

    threshold = get_settings().auto_schedule_threshold
    insight = SimpleNamespace(
        key=body.key, category=body.category, value=body.value, confidence=body.confidence
    )
    spec, why = spec_from_insight(insight, threshold)
    if spec is None:
        return {"becomes_events": False, "why": why}
    block = {
        "title": spec.title,
        "days": v.format_schedule(spec.day_of_week, spec.interval_weeks, spec.anchor_date),
        "time": spec.start_time,
        "duration_minutes": spec.duration_minutes,
    }
    if not spec.auto_schedule:
        return {
            "becomes_events": False,
            "why": f"confidence {body.confidence:.2f} is below the auto-schedule threshold "
            f"{threshold:.2f}: kept as a suggested preference, off until the user turns it on "
            "(agentcal prefs)",
            "suggested": block,
        }
    return {"becomes_events": True, **block}
