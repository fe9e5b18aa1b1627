"""Calendar backends: one small interface (base.py), three implementations.

`get_backend()` picks one from `AGENTCAL_CALENDAR`; each implementation is imported only
when chosen, so the Google and CalDAV client libraries load only for their users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcal.calendars.base import CalendarBackend, EventData, Interval, SyncResult

if TYPE_CHECKING:
    from agentcal.settings import Settings

__all__ = ["CalendarBackend", "EventData", "Interval", "SyncResult", "get_backend"]


def get_backend(settings: Settings | None = None) -> CalendarBackend:
    """The configured calendar backend (local, google or caldav)."""
    if settings is None:
        from agentcal.settings import get_settings

        settings = get_settings()
    if settings.calendar == "google":
        from agentcal.calendars.google import GoogleCalendar

        return GoogleCalendar(settings)
    if settings.calendar == "caldav":
        from agentcal.calendars.caldav import CalDAVCalendar

        return CalDAVCalendar(settings)
    from agentcal.calendars.local import LocalCalendar

    return LocalCalendar(settings)
