"""After a turn that recorded insights: they reach the calendar, and the answer says so truly.

The insight tool only queues an `update_insight` job (the seed's asynchronous update). Then:

* a job worker runs (a fresh heartbeat, a live process): the note says the insight is queued
  for it, and what will appear on the calendar once it runs;
* none does: the chat runs the job itself, now, with the worker's own handler on the same
  queue row (marked done), then the `emit_preference_events` job that handler queues, so
  `/insights` and the calendar show it at once; the note says what is on the calendar now,
  read back from the store.
"""

from __future__ import annotations

import os
import socket
from typing import Any


def settle_recorded_insights(
    recorded: list[dict[str, Any]], user_id: str, timezone: str, engine: Any = None
) -> list[str]:
    """One note per insight job the turn queued (`recorded`: the insight tool's results)."""
    from agentcal.health.monitoring import MonitoringService

    if not recorded:
        return []
    if MonitoringService(engine).job_workers_alive():
        return [_queued_note(r) for r in recorded]
    return _apply_now(recorded, user_id, timezone, engine)


def _queued_note(result: dict[str, Any]) -> str:
    q, cal = result["queued"], result.get("calendar") or {}
    head = f"Queued for the agentcal worker (job #{q['job_id']}): {q['category']}/{q['key']}"
    if cal.get("becomes_events"):
        return (
            f"{head}; “{cal['title']}” {cal['days']} at {cal['time']} for "
            f"{cal['duration_minutes']} min will be on your calendar once it runs."
        )
    return f"{head}; it adds nothing to your calendar ({cal.get('why', 'not a time block')})."


def _apply_now(
    recorded: list[dict[str, Any]], user_id: str, timezone: str, engine: Any
) -> list[str]:
    from agentcal.queue.jobs import JobQueue
    from agentcal.workers.runner import JobWorker

    queue = JobQueue(engine)
    worker = JobWorker("chat", worker_id=f"chat@{socket.gethostname()}:{os.getpid()}", queue=queue)
    job_ids = [r["queued"]["job_id"] for r in recorded]
    done = set(worker.run_jobs(job_ids))
    if done:  # the handler queued the user's emitter run: do it now too
        emit = queue.active_id(f"emit:{user_id}")
        if emit is not None:
            worker.run_jobs([emit])
    notes = []
    for result in recorded:
        job_id = result["queued"]["job_id"]
        if job_id not in done:
            job = queue.get(job_id)
            notes.append(
                f"Could not save {result['queued']['category']}/{result['queued']['key']} now "
                f"(job #{job_id} {job.state}: {job.last_error}); a worker will retry it."
            )
            continue
        notes.append(_applied_note(queue.get(job_id).result or {}, result, timezone, engine))
    return notes


def _applied_note(
    job_result: dict[str, Any], recorded: dict[str, Any], timezone: str, engine: Any
) -> str:
    """What the applied insight put on the calendar, read from the store."""
    from zoneinfo import ZoneInfo

    from sqlmodel import col, select

    from agentcal.db import session_scope
    from agentcal.models import CalendarEvent, CalendarPreference, utcnow
    from agentcal.validation import format_days

    name = f"{recorded['queued']['category']}/{recorded['queued']['key']}"
    insight_id = job_result.get("insight_id")
    if job_result.get("outcome") == "kept":
        return f"Kept what you said before about {name}: a guess does not overwrite it."
    with session_scope(engine) as s:
        pref = s.exec(
            select(CalendarPreference).where(CalendarPreference.source_insight_id == insight_id)
        ).first()
        events = []
        if pref is not None:
            events = list(
                s.exec(
                    select(CalendarEvent)
                    .where(
                        CalendarEvent.preference_id == pref.id,
                        col(CalendarEvent.status).in_(("planned", "confirmed")),
                        col(CalendarEvent.end_at) > utcnow(),
                    )
                    .order_by(col(CalendarEvent.start_at))
                )
            )
    if pref is None:
        why = (recorded.get("calendar") or {}).get("why", "it is not a time block")
        return f"Saved {name}; nothing goes on your calendar ({why})."
    block = f"“{pref.title}” {format_days(pref.day_of_week)} at {pref.start_time}"
    if not pref.is_active:
        return (
            f"Saved {name}: {block} is turned off; `agentcal prefs enable {pref.id}` puts it "
            "back on your calendar."
        )
    if not pref.auto_schedule:
        return f"Saved {name} as a suggestion: {block} is not on your calendar until you turn it on (agentcal prefs)."
    if not events:
        return f"Saved {name}: {block} is a calendar block, but none falls in the days agentcal plans ahead."
    start = events[0].start_at
    assert start is not None  # planned events have a time
    first = start.astimezone(ZoneInfo(timezone))
    return (
        f"On your calendar now: {block} for {pref.duration_minutes} min, {len(events)} event(s) "
        f"planned, the first {first:%a %d %b at %H:%M}."
    )
