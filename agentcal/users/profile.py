"""A user's effective profile: their row in `user_profiles` resolved against the installation's
settings (who gets what: `agentcal.users.profiles`), and the settings as they apply to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from agentcal.models import UserProfile
    from agentcal.quick_settings import AnySettings
    from agentcal.records import ProfileRow

    S = TypeVar("S", bound=AnySettings)


@dataclass(frozen=True)
class Profile:
    """A user's effective profile: their row resolved against the installation's defaults."""

    user_id: str
    timezone: str
    calendar: str  # local | google | caldav | none
    google_calendar_id: str = "primary"
    caldav_url: str | None = None
    caldav_username: str | None = None
    caldav_calendar: str | None = None
    daily_budget_usd: float | None = None
    display_name: str | None = None
    stored: bool = False  # a row exists in user_profiles
    configured: bool = False  # the configured user (AGENTCAL_USER)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def source(self) -> str:
        """Where the settings come from: profile, environment or defaults."""
        if self.stored:
            return "profile"
        return "environment" if self.configured else "defaults"


def resolve(user_id: str, row: UserProfile | ProfileRow | None, settings: AnySettings) -> Profile:
    """The effective profile of `user_id` from its row (or None) and the installation settings."""
    configured = user_id == settings.user
    if row is None:
        if configured:
            return Profile(
                user_id=user_id,
                timezone=settings.timezone,
                calendar=settings.calendar,
                google_calendar_id=settings.google_calendar_id,
                caldav_url=settings.caldav_url,
                caldav_username=settings.caldav_username,
                caldav_calendar=settings.caldav_calendar,
                daily_budget_usd=settings.daily_budget_usd,
                configured=True,
            )
        return Profile(
            user_id=user_id,
            timezone=settings.timezone,
            calendar="local",
            daily_budget_usd=settings.daily_budget_usd,
        )
    env = settings if configured else None
    return Profile(
        user_id=user_id,
        timezone=row.timezone,
        calendar=row.calendar,
        google_calendar_id=row.google_calendar_id or (env.google_calendar_id if env else "primary"),
        caldav_url=row.caldav_url or (env.caldav_url if env else None),
        caldav_username=row.caldav_username or (env.caldav_username if env else None),
        caldav_calendar=row.caldav_calendar or (env.caldav_calendar if env else None),
        daily_budget_usd=(
            row.daily_budget_usd if row.daily_budget_usd is not None else settings.daily_budget_usd
        ),
        display_name=row.display_name,
        stored=True,
        configured=configured,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def user_settings(profile: Profile, settings: S) -> S:
    """`settings` as they apply to the profile's user: their zone, calendar, budget, and only
    their own secret files (another user never sees the configured user's token or password)."""
    from agentcal import user_files

    if profile.configured and not profile.stored:
        return settings
    update: dict[str, Any] = {
        "user": profile.user_id,
        "timezone": profile.timezone,
        "calendar": profile.calendar,
        "google_calendar_id": profile.google_calendar_id,
        "caldav_url": profile.caldav_url,
        "caldav_username": profile.caldav_username,
        "caldav_calendar": profile.caldav_calendar,
        "daily_budget_usd": profile.daily_budget_usd,
    }
    password_file = user_files.caldav_password_path(settings, profile.user_id)
    if password_file.exists():
        update.update(caldav_password=None, caldav_password_file=password_file)
    elif not profile.configured:
        update.update(caldav_password=None, caldav_password_file=None)
    if not profile.configured:
        update["ics_path"] = user_files.ics_path(settings, profile.user_id)
        update["google_token_file"] = user_files.google_token_path(settings, profile.user_id)
    # Settings.model_copy and QuickSettings.model_copy both return their own class.
    return cast("S", settings.model_copy(update=update))
