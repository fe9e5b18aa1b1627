"""Calendar backends: one small interface (base.py), three implementations and `none`.

`get_backend(settings)` builds the one the settings name. The settings are a user's own
(`agentcal.users.profiles.settings_for(user)`: their calendar, zone and secret files);
without an argument, the configured user's. Each implementation is imported only when chosen,
so the Google and CalDAV client libraries load only for their users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcal.calendars.base import CalendarBackend, EventData, Interval, SyncResult

if TYPE_CHECKING:
    from agentcal.settings import Settings

__all__ = ["CalendarBackend", "EventData", "Interval", "SyncResult", "get_backend"]


def get_backend(settings: Settings | None = None) -> CalendarBackend:
    """The calendar backend the settings name (local, google, caldav or none)."""
    if settings is None:
        from agentcal.settings import get_settings

        settings = get_settings()
    if settings.calendar == "google":
        from agentcal.calendars.google import GoogleCalendar

        return GoogleCalendar(settings)
    if settings.calendar == "caldav":
        from agentcal.calendars.caldav import CalDAVCalendar

        return CalDAVCalendar(settings)
    if settings.calendar == "none":
        from agentcal.calendars.none import NoCalendar

        return NoCalendar()
    from agentcal.calendars.local import LocalCalendar

    return LocalCalendar(settings)
