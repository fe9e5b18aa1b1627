"""The `calendar_sync` job of one event revision: queued by planning for new and changed events,
and by a person's profile when their calendar changes (their future events go to the new one)."""

from __future__ import annotations

from typing import Any

SYNC_PRIORITY = 50


def sync_job(event_id: int, revision: int, user_id: str) -> dict[str, Any]:
    """The `calendar_sync` job of one event revision, for `JobQueue.enqueue_many`."""
    return {
        "kind": "calendar_sync",
        "payload": {"event_id": event_id, "revision": revision},
        "unique_key": f"calendar_sync:{event_id}:{revision}",
        "user_id": user_id,
        "priority": SYNC_PRIORITY,
    }
