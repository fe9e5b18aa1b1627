"""Checking a profile's fields before anything is written: `users add` and `users edit`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from agentcal import validation as v
from agentcal.errors import ValidationError
from agentcal.vocab import CALENDAR_BACKENDS

if TYPE_CHECKING:
    from agentcal.users.profile import Profile


def check_timezone(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("time zone must be an IANA name such as Europe/Paris")
    name = value.strip()
    if name not in _iana_names():
        raise ValidationError(f"unknown time zone {name!r}: use an IANA name such as Europe/Paris")
    return name


def _iana_names() -> set[str]:
    """The tz database's zone names, without the host-dependent `localtime` and the `posix/`,
    `right/` copies that calendar servers refuse."""
    from zoneinfo import available_timezones

    return {
        n
        for n in available_timezones()
        if n not in ("localtime", "posixrules", "Factory")
        and not n.startswith(("posix/", "right/"))
    }


def check_calendar(value: Any) -> str:
    return v.one_of(value, CALENDAR_BACKENDS, "calendar")


def check_budget(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(f"budget must be a number of US dollars (got {value!r})")
    if value < 0:
        raise ValidationError(f"budget must not be negative (got {value})")
    return float(value)


def check_url(value: Any) -> str:
    from urllib.parse import urlsplit

    from agentcal.masking import mask

    text = v.non_empty(value, "CalDAV URL", 2048)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError(f"CalDAV URL must be an http(s) URL (got {mask(text)!r})")
    if parts.password is not None:  # it would be stored: secrets live in 0600 files only
        raise ValidationError(
            "the CalDAV URL holds a password: give the URL without it and the password with "
            "--caldav-password-file or --caldav-password-prompt"
        )
    return text


_CHECKS = {
    "display_name": lambda x: v.non_empty(x, "display name", 200),
    "timezone": check_timezone,
    "calendar": check_calendar,
    "google_calendar_id": lambda x: v.non_empty(x, "Google calendar id", 1024),
    "caldav_url": check_url,
    "caldav_username": lambda x: v.non_empty(x, "CalDAV user name", 200),
    "caldav_calendar": lambda x: v.non_empty(x, "CalDAV calendar", 200),
    "daily_budget_usd": check_budget,
}
CLEARABLE = ("display_name", "google_calendar_id", "caldav_username", "caldav_calendar",
             "daily_budget_usd", "caldav_url", "caldav_password")  # fmt: skip
# What decides where a user's events go: a change sends their future events to the new place.
DESTINATION = ("calendar", "google_calendar_id", "caldav_url", "caldav_username",
               "caldav_calendar")  # fmt: skip


def check_password(password: str | None) -> None:
    if password is not None and (not password or "\n" in password or "\x00" in password):
        raise ValidationError("the CalDAV password must be one non-empty line")


def checked(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in _CHECKS:
            raise ValidationError(f"unknown profile field {name!r}")
        out[name] = _CHECKS[name](value)
    return out


def check_complete(profile: Profile) -> None:
    """Refuse a calendar the profile cannot reach (before anything is written)."""
    if profile.calendar == "caldav" and not profile.caldav_url:
        raise ValidationError(
            f"{profile.user_id}'s calendar is caldav but no CalDAV URL is set: add --caldav-url"
        )
