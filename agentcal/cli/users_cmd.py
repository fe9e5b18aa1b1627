"""`agentcal users`: the people on this installation, each with their own zone, calendar and
budget. `--user` elsewhere chooses whose data a command acts on; it is not access control
(docs/calendars.md, "Several people")."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from agentcal.cli._common import JsonOption, console, escape, print_json
from agentcal.vocab import CALENDAR_BACKENDS

app = typer.Typer(
    help="The people using this installation: list, show, add, edit, remove.",
    no_args_is_help=True,
)

UserArg = Annotated[str, typer.Argument(help="User id (what --user takes), 1 to 128 characters.")]
NameOpt = Annotated[str | None, typer.Option("--name", help="Display name.")]
ZoneOpt = Annotated[
    str | None,
    typer.Option("--timezone", "--tz", help="IANA time zone, e.g. Europe/Paris."),
]
CalendarOpt = Annotated[
    str | None,
    typer.Option("--calendar", help=f"Calendar backend: {', '.join(CALENDAR_BACKENDS)}."),
]
GoogleIdOpt = Annotated[
    str | None,
    typer.Option("--google-calendar-id", help="Google calendar to write to (default: primary)."),
]
CaldavUrlOpt = Annotated[
    str | None, typer.Option("--caldav-url", help="CalDAV server or calendar URL.")
]
CaldavUserOpt = Annotated[str | None, typer.Option("--caldav-username", help="CalDAV user name.")]
CaldavCalOpt = Annotated[
    str | None, typer.Option("--caldav-calendar", help="CalDAV calendar name (default: the first).")
]
PasswordFileOpt = Annotated[
    Path | None,
    typer.Option(
        "--caldav-password-file",
        help="File holding the CalDAV password (mode 0600); copied to the user's own 0600 file "
        "in the data dir.",
    ),
]
PasswordPromptOpt = Annotated[
    bool,
    typer.Option("--caldav-password-prompt", help="Ask for the CalDAV password (not echoed)."),
]
BudgetOpt = Annotated[
    float | None,
    typer.Option("--budget", help="Daily chat budget in USD (default: AGENTCAL_DAILY_BUDGET_USD)."),
]


def _password(path: Path | None, prompt: bool) -> str | None:
    from agentcal.errors import ValidationError
    from agentcal.user_files import read_private_file

    if path is not None and prompt:
        raise ValidationError("use --caldav-password-file or --caldav-password-prompt, not both")
    if path is not None:
        return read_private_file(path, "CalDAV password file")
    if prompt:
        try:
            return str(typer.prompt("CalDAV password", hide_input=True))
        except typer.Abort:  # end of input or Ctrl-C: click would print a bare "Aborted!"
            raise ValidationError("no CalDAV password was given; nothing was changed") from None
    return None


def _profile_json(p: Any, *, details: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {
        "user_id": p.user_id,
        "display_name": p.display_name,
        "timezone": p.timezone,
        "calendar": p.calendar,
        "google_calendar_id": p.google_calendar_id if p.calendar == "google" else None,
        "caldav_url": p.caldav_url,
        "caldav_username": p.caldav_username,
        "caldav_calendar": p.caldav_calendar,
        "daily_budget_usd": p.daily_budget_usd,
        "source": p.source,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
    }
    if out["caldav_url"]:
        from agentcal.masking import mask

        out["caldav_url"] = mask(out["caldav_url"])
    return {**out, **(details or {})}


@app.command(name="list")
def users_list(as_json: JsonOption = False) -> None:
    """List the people: those with a profile, the configured user, anyone else with data."""
    from agentcal.users.profiles import user_profiles_service

    rows = user_profiles_service.list_profiles()
    if as_json:
        print_json([_profile_json(p) for p in rows])
        return
    from agentcal.cli import render

    listing = render.Listing()
    listing.column("user", "title")
    listing.column("name", "text", optional=2)
    listing.column("time zone", "tag")
    listing.column("calendar", "tag")
    listing.column("budget", "number")
    listing.column("settings from", "tag", optional=1)
    for p in rows:
        budget = "-" if p.daily_budget_usd is None else f"${p.daily_budget_usd:g}"
        listing.row(
            escape(p.user_id), escape(p.display_name or "-"), p.timezone, p.calendar, budget,
            p.source,
        )  # fmt: skip
    listing.print(console())


@app.command(name="show")
def users_show(user: UserArg, as_json: JsonOption = False) -> None:
    """Show one person's settings, their files in the data dir and what data they have."""
    from agentcal.users.profiles import user_profiles_service

    details = user_profiles_service.describe(user)
    p = details.profile
    extra = {"files": details.files, "data": details.counts}
    if as_json:
        print_json(_profile_json(p, details=extra))
        return
    out = console()
    shown = _profile_json(p)
    for key in (
        "user_id",
        "display_name",
        "timezone",
        "calendar",
        "google_calendar_id",
        "caldav_url",
        "caldav_username",
        "caldav_calendar",
        "daily_budget_usd",
        "source",
    ):
        if shown[key] is not None:
            out.print(f"{key}: {escape(shown[key])}")  # fmt: skip
    for name, info in details.files.items():
        out.print(f"{name}: {escape(info)}")
    held = ", ".join(f"{n} {k}" for k, n in details.counts.items() if n) or "none"
    out.print(f"data: {held}")


@app.command(name="add")
def users_add(
    user: UserArg,
    name: NameOpt = None,
    timezone: ZoneOpt = None,
    calendar: CalendarOpt = None,
    google_calendar_id: GoogleIdOpt = None,
    caldav_url: CaldavUrlOpt = None,
    caldav_username: CaldavUserOpt = None,
    caldav_calendar: CaldavCalOpt = None,
    caldav_password_file: PasswordFileOpt = None,
    caldav_password_prompt: PasswordPromptOpt = False,
    budget: BudgetOpt = None,
) -> None:
    """Add a person (time zone and calendar default to the installation's)."""
    from agentcal.users.profiles import user_profiles_service

    password = _password(caldav_password_file, caldav_password_prompt)
    p = user_profiles_service.add(
        user, display_name=name, timezone=timezone, calendar=calendar,
        google_calendar_id=google_calendar_id, caldav_url=caldav_url,
        caldav_username=caldav_username, caldav_calendar=caldav_calendar,
        daily_budget_usd=budget, caldav_password=password,
    )  # fmt: skip
    _said(f"added {p.user_id}", p)


@app.command(name="edit")
def users_edit(
    user: UserArg,
    name: NameOpt = None,
    timezone: ZoneOpt = None,
    calendar: CalendarOpt = None,
    google_calendar_id: GoogleIdOpt = None,
    caldav_url: CaldavUrlOpt = None,
    caldav_username: CaldavUserOpt = None,
    caldav_calendar: CaldavCalOpt = None,
    caldav_password_file: PasswordFileOpt = None,
    caldav_password_prompt: PasswordPromptOpt = False,
    budget: BudgetOpt = None,
    clear: Annotated[
        list[str] | None,
        typer.Option(
            "--clear",
            help="Empty a field (name, google-calendar-id, caldav-url, caldav-username, "
            "caldav-calendar, budget, caldav-password); repeatable.",
        ),
    ] = None,
) -> None:
    """Change a person's settings (someone without a profile gets one)."""
    from agentcal.errors import ValidationError
    from agentcal.users.profiles import user_profiles_service

    password = _password(caldav_password_file, caldav_password_prompt)
    values: dict[str, Any] = dict(
        display_name=name, timezone=timezone, calendar=calendar,
        google_calendar_id=google_calendar_id, caldav_url=caldav_url,
        caldav_username=caldav_username, caldav_calendar=caldav_calendar, daily_budget_usd=budget,
    )  # fmt: skip
    fields = [_CLEAR_NAMES.get(c, "") for c in clear or []]
    if "" in fields:
        bad = next(c for c in clear or [] if c not in _CLEAR_NAMES)
        raise ValidationError(f"--clear takes {', '.join(_CLEAR_NAMES)} (got {bad!r})")
    if password is None and not fields and all(v is None for v in values.values()):
        raise ValidationError("nothing to change: give at least one option (see --help)")
    result = user_profiles_service.edit(user, clear=fields, caldav_password=password, **values)
    _said(f"updated {result.profile.user_id}", result.profile)
    if result.requeued:
        console().print(
            f"{result.requeued} future event(s) will be synced to the new "
            f"{result.profile.calendar} calendar; copies already in the old one stay there"
        )


_CLEAR_NAMES = {
    "name": "display_name",
    "google-calendar-id": "google_calendar_id",
    "caldav-url": "caldav_url",
    "caldav-username": "caldav_username",
    "caldav-calendar": "caldav_calendar",
    "budget": "daily_budget_usd",
    "caldav-password": "caldav_password",
}


def _said(what: str, p: Any) -> None:
    out = console()
    out.print(f"{escape(what)}: {p.timezone}, calendar {p.calendar}")
    if p.calendar == "google":
        out.print(f"sign {escape(p.user_id)} in: agentcal auth google --user {escape(p.user_id)}")


@app.command(name="remove")
def users_remove(
    user: UserArg,
    purge: Annotated[
        bool,
        typer.Option(
            "--purge",
            help="Also delete all of the user's data (insights, preferences, events, jobs, "
            "agent calls, chat sessions) and their token, password and ICS files.",
        ),
    ] = False,
) -> None:
    """Remove a person; refused while they have data, unless --purge."""
    from agentcal.users.profiles import user_profiles_service

    result = user_profiles_service.remove(user, purge=purge)
    out = console()
    rows = ", ".join(f"{n} {k}" for k, n in result.deleted.items()) or "nothing in the store"
    out.print(f"removed {escape(result.user_id)}: deleted {rows}")
    for path in result.files:
        out.print(f"deleted {escape(path)}")
    if purge and result.calendar in ("google", "caldav"):
        out.print(
            f"Events already in their {result.calendar} calendar were left there"
            + ("; revoke the sign-in at https://myaccount.google.com/permissions"
               if result.calendar == "google" else "")
        )  # fmt: skip
