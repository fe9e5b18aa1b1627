"""`agentcal auth`: sign in to Google Calendar, check the sign-in, sign out."""

from __future__ import annotations

from typing import Annotated

import typer

from agentcal.cli._common import JsonOption, console, print_json

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
) -> None:
    """Let agentcal write events to your Google Calendar (scope: calendar.events)."""
    from agentcal.calendars.google_auth import sign_in
    from agentcal.settings import get_settings

    settings = get_settings()
    sign_in(settings, open_browser=not no_browser, port=port)
    console().print(f"signed in; token saved to {settings.google_token_path} (mode 0600)")
    if settings.calendar != "google":
        console().print("set AGENTCAL_CALENDAR=google to sync events to Google Calendar")


@app.command(name="status")
def auth_status(as_json: JsonOption = False) -> None:
    """Show whether agentcal is signed in to Google, with which scopes, until when."""
    from agentcal.calendars.google_auth import token_status
    from agentcal.settings import get_settings

    status = token_status(get_settings())
    if as_json:
        print_json(status)
        return
    out = console()
    if not status["signed_in"]:
        out.print("not signed in to Google Calendar (run: agentcal auth google)")
        return
    out.print(f"signed in to Google Calendar; token file {status['token_file']}")
    out.print(f"scopes: {', '.join(status['scopes']) or 'unknown'}")
    valid = "valid" if status["access_token_valid"] else "expired (refreshed on next use)"
    out.print(f"access token: {valid}, expires {status['expires_at'] or 'unknown'}")
    out.print(f"refresh token: {'present' if status['has_refresh_token'] else 'missing'}")


@app.command(name="logout")
def auth_logout() -> None:
    """Delete the saved Google token (revoke access at myaccount.google.com/permissions)."""
    from agentcal.calendars.google_auth import sign_out
    from agentcal.settings import get_settings

    if sign_out(get_settings()):
        console().print("signed out: the Google token was deleted")
    else:
        console().print("not signed in: nothing to delete")
