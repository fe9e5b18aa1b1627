"""The people on one installation: each one's time zone, calendar and budget.

Everything done for a user goes through `profile_for(user)` (or `settings_for(user)`, the
settings as they apply to that user): the emitter's days and DST, the calendar a sync writes
to and with whose credentials, the busy time placement avoids, the chat's date and zone, the
budget check.

Who gets what:

* a user with a profile row gets the profile. Fields the profile leaves empty fall back to the
  environment for the configured user (AGENTCAL_USER) and to built-in defaults for anyone else
  (never to the configured user's calendar account);
* the configured user without a profile gets the environment settings, exactly as a
  single-person installation always did;
* anyone else without a profile gets the local ICS calendar (`calendar.<user>.ics`).

The time zone and the daily budget are installation defaults: a user whose profile does not set
them (or who has no profile) gets AGENTCAL_TIMEZONE and AGENTCAL_DAILY_BUDGET_USD.

`--user` only says whose data a command acts on; it is not access control (docs/calendars.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcal import validation as v
from agentcal.errors import ConflictError, NotFoundError, ValidationError
from agentcal.users.checks import (
    CLEARABLE,
    DESTINATION,
    check_complete,
    check_password,
    checked,
)
from agentcal.users.profile import Profile, resolve, user_settings
from agentcal.users.removal import DATA_KINDS, UserData, user_column

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.calendars.base import CalendarBackend
    from agentcal.models import UserProfile
    from agentcal.quick_settings import AnySettings
    from agentcal.settings import Settings

_CHUNK = 500


@dataclass
class EditResult:
    profile: Profile
    requeued: int = 0  # future events queued for the new calendar


@dataclass
class UserDetails:
    """What `users show` prints: the profile, the user's files, and how much data they have."""

    profile: Profile
    files: dict[str, str]
    counts: dict[str, int]


class UserProfilesService(UserData):
    """Profiles in the store, resolved against the installation settings."""

    # -- reading ------------------------------------------------------------------------------

    def get_row(self, user_id: str, session: Session | None = None) -> UserProfile | None:
        from agentcal.models import UserProfile

        with self.transaction(session) as s:
            return s.get(UserProfile, user_id)

    def profile_for(self, user_id: str, session: Session | None = None) -> Profile:
        """The user's effective profile (see the module docstring). Read on the read path: a
        chat turn or a list needs no table classes for it."""
        from agentcal.quick_settings import quick_settings
        from agentcal.reader import columns
        from agentcal.records import ProfileRow

        sql = f"SELECT {columns(ProfileRow)} FROM user_profiles WHERE user_id = :user"
        with self.reading(session) as r:
            rows = r.records(ProfileRow, sql, {"user": user_id})
        return resolve(user_id, rows[0] if rows else None, quick_settings())

    def profiles_for(
        self, user_ids: Iterable[str], session: Session | None = None
    ) -> dict[str, Profile]:
        """Effective profiles of many users, read a few hundred rows per query."""
        from sqlmodel import col, select

        from agentcal.models import UserProfile
        from agentcal.settings import get_settings

        settings = get_settings()
        ids = list(dict.fromkeys(user_ids))
        rows: dict[str, UserProfile] = {}
        with self.transaction(session) as s:
            for i in range(0, len(ids), _CHUNK):
                chunk = ids[i : i + _CHUNK]
                stmt = select(UserProfile).where(col(UserProfile.user_id).in_(chunk))
                rows.update((r.user_id, r) for r in s.exec(stmt))
        return {u: resolve(u, rows.get(u), settings) for u in ids}

    def settings_for(self, user_id: str) -> Settings:
        """The settings as they apply to `user_id` (zone, calendar, budget, secret files)."""
        from agentcal.settings import get_settings

        return user_settings(self.profile_for(user_id), get_settings())

    def quick_settings_for(self, user_id: str) -> AnySettings:
        """`settings_for` without pydantic-settings on an ordinary installation (a chat turn:
        agentcal.quick_settings)."""
        from agentcal.quick_settings import quick_settings

        return user_settings(self.profile_for(user_id), quick_settings())

    def backend_for(self, user_id: str) -> CalendarBackend:
        """The user's own calendar backend, with the user's own credentials."""
        from agentcal.calendars import get_backend

        return get_backend(self.settings_for(user_id))

    def list_profiles(self) -> list[Profile]:
        """Users with a profile, the configured user, and users who have data but no profile."""
        from sqlalchemy import select, table, union

        from agentcal.settings import get_settings

        names = ["user_profiles", *(name for _, name in DATA_KINDS if name != "jobs")]
        stmt = union(*(select(table(n, user_column()).c.user_id) for n in names))
        with self.transaction() as s:
            ids = {str(u) for u in s.execute(stmt).scalars()}
            ids.add(get_settings().user)
            return sorted(self.profiles_for(ids, s).values(), key=lambda p: p.user_id)

    # -- writing ------------------------------------------------------------------------------

    def add(self, user_id: str, *, caldav_password: str | None = None, **values: Any) -> Profile:
        """Create a profile. Time zone and calendar default to the installation's for the
        configured user, to AGENTCAL_TIMEZONE and `local` for anyone else. A CalDAV password
        goes to the user's own 0600 file, never to the store."""
        from agentcal.models import UserProfile
        from agentcal.settings import get_settings

        user = v.user_id(user_id)
        settings = get_settings()
        clean = checked(values)
        check_password(caldav_password)
        base = resolve(user, None, settings)
        clean.setdefault("timezone", base.timezone)
        clean.setdefault("calendar", base.calendar)
        with self.transaction() as s:
            if s.get(UserProfile, user) is not None:
                raise ConflictError(f"user {user!r} already has a profile: use `users edit`")
            row = UserProfile(user_id=user, **clean)
            check_complete(resolve(user, row, settings))
            s.add(row)
            s.flush()
            if caldav_password is not None:
                _write_password(settings, user, caldav_password)
            return resolve(user, row, settings)

    def edit(
        self, user_id: str, *, clear: Iterable[str] = (), caldav_password: str | None = None,
        now: datetime | None = None, **values: Any,
    ) -> EditResult:  # fmt: skip
        """Change a profile (a user without one gets one, from their current settings).

        `clear` empties optional fields (`caldav_password` deletes the password file);
        `caldav_password` is written to the user's own 0600 file in the data dir, never to the
        store. When the calendar the events go to changes, the user's future events are queued
        for the new one."""
        from agentcal import user_files
        from agentcal.models import UserProfile, utcnow
        from agentcal.settings import get_settings

        user = v.user_id(user_id)
        settings = get_settings()
        clean = checked(values)
        cleared = list(dict.fromkeys(clear))
        for name in cleared:
            if name not in CLEARABLE:
                raise ValidationError(f"{name} cannot be cleared")
            if name in clean or (name == "caldav_password" and caldav_password is not None):
                raise ValidationError(f"{name} cannot be set and cleared at once")
        check_password(caldav_password)
        with self.transaction() as s:
            row = s.get(UserProfile, user)
            before = resolve(user, row, settings)
            if row is None:
                row = UserProfile(user_id=user, timezone=before.timezone, calendar=before.calendar)
            for name, value in clean.items():
                setattr(row, name, value)
            for name in cleared:
                if name != "caldav_password":
                    setattr(row, name, None)
            row.updated_at = utcnow()
            profile = resolve(user, row, settings)
            check_complete(profile)
            s.add(row)
            s.flush()
            moved = any(getattr(before, f) != getattr(profile, f) for f in DESTINATION)
            requeued = _resync_future(s, user, now or utcnow()) if moved else 0
            if caldav_password is not None:
                _write_password(settings, user, caldav_password)
            elif "caldav_password" in cleared:
                user_files.caldav_password_path(settings, user).unlink(missing_ok=True)
            return EditResult(profile, requeued)

    def require(self, user_id: str) -> Profile:
        """The profile of a user who exists: the configured user, or anyone with a profile."""
        user = v.user_id(user_id)
        profile = self.profile_for(user)
        if not (profile.stored or profile.configured):
            raise NotFoundError(
                f"no user {user!r}: add them first with `agentcal users add {user}`"
            )
        return profile

    def retry_dead_syncs(self, user_id: str) -> int:
        """Queue again the user's calendar syncs that died (e.g. before they signed in)."""
        from agentcal.queue.jobs import job_queue

        return len(job_queue.retry_dead("calendar_sync", user_id=v.user_id(user_id)))

    def describe(self, user_id: str) -> UserDetails:
        """A user's profile, files and data counts; NotFoundError for someone unknown."""
        from agentcal import user_files
        from agentcal.settings import get_settings

        user = v.user_id(user_id)
        settings = get_settings()
        with self.transaction() as s:
            profile = self.profile_for(user, s)
            counts = self.data_counts(user, s)
        if not (profile.stored or profile.configured or any(counts.values())):
            raise NotFoundError(f"no user {user!r}")
        own = user_settings(profile, settings)
        files: dict[str, str] = {}
        if profile.calendar == "local":
            files["calendar file"] = str(own.ics_file)
        token = own.google_token_path
        files["google token"] = f"{token} ({'present' if token.exists() else 'not signed in'})"
        password = user_files.caldav_password_path(settings, user)
        if password.exists():
            files["caldav password"] = f"{password} (set)"
        elif profile.configured and (settings.caldav_password or settings.caldav_password_file):
            files["caldav password"] = "from the environment"
        else:
            files["caldav password"] = "not set"
        return UserDetails(profile, files, counts)


def _write_password(settings: Settings, user_id: str, password: str) -> None:
    from agentcal import user_files
    from agentcal.files import write_file

    settings.ensure_data_dir()
    write_file(
        user_files.caldav_password_path(settings, user_id),
        password.encode("utf-8"),
        mode=0o600,
        what="a CalDAV password file agentcal wrote",
        fix="move it away and set the password again",
    )


def _resync_future(s: Session, user_id: str, now: datetime) -> int:
    """Mark the user's future events unsynced and queue their syncs (to the new calendar)."""
    from sqlalchemy import select, update

    from agentcal.models import CalendarEvent
    from agentcal.queue.calendar_sync import sync_job
    from agentcal.queue.jobs import job_queue

    e = CalendarEvent.__table__  # type: ignore[attr-defined]
    future = (
        (e.c.user_id == user_id) & (e.c.start_at > now) & e.c.status.in_(("planned", "confirmed"))
    )
    rows = s.execute(select(e.c.id, e.c.revision).where(future)).all()
    if not rows:
        return 0
    s.execute(
        update(e).where(future).values(synced_revision=None, backend_event_id=None, backend=None)
    )
    job_queue.enqueue_many([sync_job(i, rev, user_id) for i, rev in rows], session=s)
    return len(rows)


def user_timezone(user_id: str) -> str:
    """The user's IANA time zone (for the chat prompt, reports, parsing times): their profile's,
    else AGENTCAL_TIMEZONE, as `resolve` gives it. Read on the read path with `basics`, so a
    list or a report pays neither SQLAlchemy nor pydantic-settings for it."""
    from agentcal.basics import get_basics

    with user_profiles_service.reading() as r:
        zone = r.scalar(
            "SELECT timezone FROM user_profiles WHERE user_id = :user", {"user": v.user_id(user_id)}
        )
    return str(zone) if zone else get_basics().timezone


def profile_for(user_id: str) -> Profile:
    """The user's effective profile (zone, calendar, budget)."""
    return user_profiles_service.profile_for(user_id)


def settings_for(user_id: str) -> Settings:
    """The settings as they apply to `user_id`."""
    return user_profiles_service.settings_for(user_id)


user_profiles_service = UserProfilesService()
