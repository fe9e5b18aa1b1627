"""EventData snapshots for the calendar backend tests: the seed's gym week in New York."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agentcal.calendars.base import EventData

T0 = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # 06:00 in New York


def make_event(n: int = 1, **changes) -> EventData:  # type: ignore[no-untyped-def]
    """Event n of the week (a day apart), with any field changed."""
    fields = dict(
        id=n,
        uid=f"{n:032x}@agentcal",
        user_id="alice",
        title=f"Morning Gym {n}",
        start=T0 + timedelta(days=n - 1),
        end=T0 + timedelta(days=n - 1, hours=1),
        timezone="America/New_York",
        revision=1,
    )
    fields.update(changes)
    return EventData(**fields)  # type: ignore[arg-type]
