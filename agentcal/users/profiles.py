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

import math
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from agentcal import validation as v
from agentcal.errors import ConflictError, NotFoundError, ValidationError
from agentcal.service import Service
from agentcal.vocab import CALENDAR_BACKENDS

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.calendars.base import CalendarBackend
    from agentcal.models import UserProfile
    from agentcal.settings import Settings

_CHUNK = 500


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


def resolve(user_id: str, row: UserProfile | None, settings: Settings) -> Profile:
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


def user_settings(profile: Profile, settings: Settings) -> Settings:
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
    return settings.model_copy(update=update)


# -- validation -------------------------------------------------------------------------------


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


@dataclass
class RemoveResult:
    user_id: str
    calendar: str  # where their events went: what a purge cannot reach
    deleted: dict[str, int] = field(default_factory=dict)  # kind -> rows
    files: list[str] = field(default_factory=list)  # files deleted from the data dir


# Rows a user owns, by kind (what `users remove` counts and `--purge` deletes), in delete order.
DATA_KINDS = (
    ("jobs", "jobs"),
    ("calendar events", "calendar_events"),
    ("preferences", "calendar_preferences"),
    ("insights", "user_insights"),
    ("chat sessions", "chat_sessions"),
    ("agent calls", "agent_observability"),
)


class UserProfilesService(Service):
    """Profiles in the store, resolved against the installation settings."""

    # -- reading ------------------------------------------------------------------------------

    def get_row(self, user_id: str, session: Session | None = None) -> UserProfile | None:
        from agentcal.models import UserProfile

        with self.transaction(session) as s:
            return s.get(UserProfile, user_id)

    def profile_for(self, user_id: str, session: Session | None = None) -> Profile:
        """The user's effective profile (see the module docstring)."""
        from agentcal.settings import get_settings

        return resolve(user_id, self.get_row(user_id, session), get_settings())

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

    def backend_for(self, user_id: str) -> CalendarBackend:
        """The user's own calendar backend, with the user's own credentials."""
        from agentcal.calendars import get_backend

        return get_backend(self.settings_for(user_id))

    def list_profiles(self) -> list[Profile]:
        """Users with a profile, the configured user, and users who have data but no profile."""
        from sqlalchemy import select, table, union

        from agentcal.settings import get_settings

        names = ["user_profiles", *(name for _, name in DATA_KINDS if name != "jobs")]
        stmt = union(*(select(table(n, _user_column()).c.user_id) for n in names))
        with self.transaction() as s:
            ids = {str(u) for u in s.execute(stmt).scalars()}
            ids.add(get_settings().user)
            return sorted(self.profiles_for(ids, s).values(), key=lambda p: p.user_id)

    def data_counts(self, user_id: str, session: Session | None = None) -> dict[str, int]:
        """How many rows of each kind the user owns."""
        from sqlalchemy import func, select, table

        out: dict[str, int] = {}
        with self.transaction(session) as s:
            for kind, name in DATA_KINDS:
                t = table(name, _user_column())
                out[kind] = s.execute(
                    select(func.count()).select_from(t).where(t.c.user_id == user_id)
                ).scalar_one()
        return out

    # -- writing ------------------------------------------------------------------------------

    def add(self, user_id: str, *, caldav_password: str | None = None, **values: Any) -> Profile:
        """Create a profile. Time zone and calendar default to the installation's for the
        configured user, to AGENTCAL_TIMEZONE and `local` for anyone else. A CalDAV password
        goes to the user's own 0600 file, never to the store."""
        from agentcal.models import UserProfile
        from agentcal.settings import get_settings

        user = v.user_id(user_id)
        settings = get_settings()
        clean = _checked(values)
        _check_password(caldav_password)
        base = resolve(user, None, settings)
        clean.setdefault("timezone", base.timezone)
        clean.setdefault("calendar", base.calendar)
        with self.transaction() as s:
            if s.get(UserProfile, user) is not None:
                raise ConflictError(f"user {user!r} already has a profile: use `users edit`")
            row = UserProfile(user_id=user, **clean)
            _check_complete(resolve(user, row, settings))
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
        clean = _checked(values)
        cleared = list(dict.fromkeys(clear))
        for name in cleared:
            if name not in CLEARABLE:
                raise ValidationError(f"{name} cannot be cleared")
            if name in clean or (name == "caldav_password" and caldav_password is not None):
                raise ValidationError(f"{name} cannot be set and cleared at once")
        _check_password(caldav_password)
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
            _check_complete(profile)
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

    def remove(self, user_id: str, *, purge: bool = False) -> RemoveResult:
        """Delete a profile; with `purge`, also every row and secret file of the user.

        Without `purge` a user who still has data is refused (nothing is deleted)."""
        from sqlalchemy import delete, table

        from agentcal import user_files
        from agentcal.models import UserProfile
        from agentcal.settings import get_settings

        user = v.user_id(user_id)
        settings = get_settings()
        with self.transaction() as s:
            row = s.get(UserProfile, user)
            result = RemoveResult(user, resolve(user, row, settings).calendar)
            counts = self.data_counts(user, s)
            files = [*user_files.secret_files(settings, user)]
            ics = user_files.ics_path(settings, user)
            if ics.exists():
                files.append(ics)
            if row is None and not any(counts.values()) and not files:
                raise NotFoundError(f"no user {user!r}")
            if any(counts.values()) and not purge:
                held = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
                raise ConflictError(
                    f"user {user!r} still has data ({held}): "
                    f"`agentcal users remove {shlex.quote(user)} --purge` deletes it"
                )
            threads = _chat_threads(s, user) if purge else []
            for kind, name in DATA_KINDS:
                if counts[kind]:
                    t = table(name, _user_column())
                    s.execute(delete(t).where(t.c.user_id == user))
                    result.deleted[kind] = counts[kind]
            health = table("user_sync_health", _user_column())
            s.execute(delete(health).where(health.c.user_id == user))
            if row is not None:
                s.delete(row)
                result.deleted["profile"] = 1
        # After the commit: a file removed before a failed commit would be lost for nothing.
        for path in files:
            path.unlink(missing_ok=True)
            result.files.append(str(path))
        if threads:
            _forget_chat_threads(settings, threads)
        return result


def _user_column() -> Any:
    from sqlalchemy import column

    return column("user_id")


def _chat_threads(s: Session, user_id: str) -> list[str]:
    from sqlmodel import select

    from agentcal.models import ChatSession

    return [
        str(t) for t in s.exec(select(ChatSession.thread_id).where(ChatSession.user_id == user_id))
    ]


def _forget_chat_threads(settings: Settings, threads: list[str]) -> None:
    """Delete the chat checkpoints (the conversations) of the given threads."""
    import sqlite3

    path = settings.checkpoint_path
    if not path.exists():
        return
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        with conn:
            for name in ("checkpoints", "writes"):
                if name in tables:
                    conn.executemany(
                        f"DELETE FROM {name} WHERE thread_id = ?", [(t,) for t in threads]
                    )
    finally:
        conn.close()


def _check_password(password: str | None) -> None:
    if password is not None and (not password or "\n" in password or "\x00" in password):
        raise ValidationError("the CalDAV password must be one non-empty line")


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
    from agentcal.planning.emitter import sync_job
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


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        if name not in _CHECKS:
            raise ValidationError(f"unknown profile field {name!r}")
        out[name] = _CHECKS[name](value)
    return out


def _check_complete(profile: Profile) -> None:
    """Refuse a calendar the profile cannot reach (before anything is written)."""
    if profile.calendar == "caldav" and not profile.caldav_url:
        raise ValidationError(
            f"{profile.user_id}'s calendar is caldav but no CalDAV URL is set: add --caldav-url"
        )


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
