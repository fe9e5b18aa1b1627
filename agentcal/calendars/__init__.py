"""Calendar backends: one small interface (base.py), three implementations.

`get_backend(settings)` builds the configured one; each backend module is imported only when
it is chosen, so the Google and CalDAV libraries are never loaded for the local calendar.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from agentcal.errors import ConfigError

if TYPE_CHECKING:
    from agentcal.calendars.base import CalendarBackend
    from agentcal.settings import Settings

# name -> (module, class). A class may offer `from_settings(settings)`; else `cls(settings)`.
BACKENDS: dict[str, tuple[str, str]] = {
    "local": ("agentcal.calendars.local", "LocalCalendar"),
    "google": ("agentcal.calendars.google", "GoogleCalendar"),
    "caldav": ("agentcal.calendars.caldav", "CalDAVCalendar"),
}


def get_backend(settings: Settings | None = None) -> CalendarBackend:
    """The calendar backend named by AGENTCAL_CALENDAR (default: local)."""
    if settings is None:
        from agentcal.settings import get_settings

        settings = get_settings()
    name = settings.calendar
    if name not in BACKENDS:
        raise ConfigError(f"unknown calendar backend {name!r}: use {', '.join(BACKENDS)}")
    module_name, class_name = BACKENDS[name]
    try:
        cls = getattr(import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"the {name} calendar backend is not available: {exc}") from None
    factory = getattr(cls, "from_settings", None)
    backend: CalendarBackend = factory(settings) if factory is not None else cls(settings)
    return backend
