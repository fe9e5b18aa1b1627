"""`agentcal auth`: sign in to Google Calendar, check the sign-in, sign out; for yourself or,
with --user, for another person on this installation (their token goes to their own file)."""

from __future__ import annotations

from typing import Annotated

import typer

from agentcal.cli._common import JsonOption, UserOption, console, escape, print_json, resolve_user

app = typer.Typer(
    help="Sign in to Google Calendar (OAuth), show status, sign out.", no_args_is_help=True
)


@app.command(name="google")
def auth_google(
    no_browser: Annotated[
        bool,
        typer.Option(
            "--no-browser", help="Print the URL instead of opening a browser (headless/SSH)."
        ),
    ] = False,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=0,
            max=65535,
            help="Local port for Google's redirect (default: any free port; 8765 with --no-browser).",
        ),
    ] = None,
    user: UserOption = None,
) -> None:
    """Let agentcal write events to your Google Calendar (scope: calendar.events)."""
    from agentcal.calendars.google_auth import sign_in
    from agentcal.users.profiles import user_profiles_service

    profile = user_profiles_service.require(resolve_user(user))  # an unknown user: one line
    settings = user_profiles_service.settings_for(profile.user_id)
    sign_in(settings, open_browser=not no_browser, port=port)
    out = console()
    who = escape(profile.user_id)
    out.print(f"{who} is signed in; token saved to {settings.google_token_path} (mode 0600)")
    retried = user_profiles_service.retry_dead_syncs(profile.user_id)
    if retried:
        out.print(f"{retried} calendar sync(s) that had failed for {who} are queued again")
    if profile.calendar != "google":
        hint = (
            "set AGENTCAL_CALENDAR=google"
            if profile.configured and not profile.stored
            else f"run `agentcal users edit {who} --calendar google`"
        )
        out.print(f"{hint} to sync {who}'s events to Google Calendar")


@app.command(name="status")
def auth_status(user: UserOption = None, as_json: JsonOption = False) -> None:
    """Show whether agentcal is signed in to Google, with which scopes, until when."""
    from agentcal.calendars.google_auth import token_status
    from agentcal.users.profiles import user_profiles_service

    profile = user_profiles_service.require(resolve_user(user))
    status = {
        "user": profile.user_id,
        **token_status(user_profiles_service.settings_for(profile.user_id)),
    }
    if as_json:
        print_json(status)
        return
    out = console()
    if not status["signed_in"]:
        flag = "" if profile.configured else f" --user {escape(profile.user_id)}"
        out.print(f"not signed in to Google Calendar (run: agentcal auth google{flag})")
        return
    out.print(
        f"{escape(profile.user_id)} is signed in to Google Calendar; "
        f"token file {escape(status['token_file'])}"
    )
    out.print(f"scopes: {', '.join(status['scopes']) or 'unknown'}")
    valid = "valid" if status["access_token_valid"] else "expired (refreshed on next use)"
    out.print(f"access token: {valid}, expires {status['expires_at'] or 'unknown'}")
    out.print(f"refresh token: {'present' if status['has_refresh_token'] else 'missing'}")


@app.command(name="logout")
def auth_logout(user: UserOption = None) -> None:
    """Delete the saved Google token (revoke access at myaccount.google.com/permissions)."""
    from agentcal.calendars.google_auth import sign_out
    from agentcal.users.profiles import user_profiles_service

    profile = user_profiles_service.require(resolve_user(user))
    if sign_out(user_profiles_service.settings_for(profile.user_id)):
        console().print("signed out: the Google token was deleted")
    else:
        console().print("not signed in: nothing to delete")
