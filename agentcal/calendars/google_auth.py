"""Google OAuth for the installed-app flow: sign in, keep the token (mode 0600), sign out.

One scope: `calendar.events`. It lets agentcal create, change and delete events and list the
events of the calendar it writes to, which is also how it finds busy time (the events that are
not agentcal's own). `freebusy.query` is not used: it needs another scope (`calendar.freebusy`
or a read scope) and cannot tell agentcal's own events from the user's.
"""

from __future__ import annotations

import errno
import json
import stat
from typing import TYPE_CHECKING, Any

from agentcal.errors import ConfigError, ExternalServiceError

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

    from agentcal.settings import Settings

SCOPES = ("https://www.googleapis.com/auth/calendar.events",)
DEFAULT_TUNNEL_PORT = 8765
SIGN_IN_TIMEOUT_SECONDS = 600


def load_credentials(settings: Settings) -> Credentials:
    """The saved token, or a ConfigError telling the user to sign in."""
    from google.oauth2.credentials import Credentials

    from agentcal.files import link_or_special, tighten_own_file

    path = settings.google_token_path
    reason = link_or_special(path)
    if reason is not None:
        raise ConfigError(
            f"cannot use the Google token {path}: {reason}; remove it and run "
            "`agentcal auth google` again"
        )
    if not path.exists():
        raise ConfigError(f"not signed in to Google Calendar: run `{sign_in_command(settings)}`")
    tighten_own_file(path)  # our own secret file: keep it private
    try:
        return Credentials.from_authorized_user_file(str(path), scopes=list(SCOPES))  # type: ignore[no-untyped-call]
    except (ValueError, KeyError, json.JSONDecodeError):
        raise ConfigError(
            f"the Google token in {path} is unreadable: run `agentcal auth google` again"
        ) from None


def sign_in_command(settings: Settings) -> str:
    """The command that signs this settings' user in (another user's token file: --user)."""
    who = "" if settings.google_token_file is None else f" --user {settings.user}"
    return f"agentcal auth google{who}"


def save_credentials(settings: Settings, creds: Credentials) -> None:
    """Write the token (access + refresh token) atomically with mode 0600."""
    from agentcal.files import is_json_object, write_file

    settings.ensure_data_dir()
    write_file(
        settings.google_token_path,
        creds.to_json().encode(),  # type: ignore[no-untyped-call]
        may_replace=is_json_object,
        what="a Google token file",
        fix="move it away and sign in again",
    )


def sign_in(
    settings: Settings, *, open_browser: bool = True, port: int | None = None
) -> Credentials:
    """Run the installed-app flow on a loopback port and save the token."""
    secrets = settings.google_client_secrets
    if secrets is None:
        raise ConfigError(
            "set AGENTCAL_GOOGLE_CLIENT_SECRETS to the OAuth client JSON (type: Desktop app) "
            "downloaded from the Google Cloud console"
        )
    if not secrets.expanduser().is_file():
        raise ConfigError(f"the Google client secrets file {secrets} does not exist")
    from google_auth_oauthlib.flow import InstalledAppFlow

    if open_browser and not _have_browser():
        open_browser = False  # say so, print the URL, and wait as with --no-browser
        print("No web browser found on this machine: open the URL below in any browser.")
    if port is None:
        port = 0 if open_browser else DEFAULT_TUNNEL_PORT
    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(secrets.expanduser()), scopes=SCOPES)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{secrets} is not an OAuth client secrets file: {exc}") from None
    prompt = (
        "Open this URL in a browser to let agentcal use your calendar:\n\n{url}\n"
        if open_browser
        else (
            "Open this URL in a browser on any machine:\n\n{url}\n\n"
            f"On a remote machine, forward the callback port first, from your own computer:\n"
            f"  ssh -L {port}:localhost:{port} <this-host>\n"
            "then open the URL there; Google redirects to localhost, which reaches this process.\n"
        )
    )
    try:
        creds = flow.run_local_server(
            host="localhost",
            port=port,
            open_browser=open_browser,
            authorization_prompt_message=prompt,
            success_message="agentcal is signed in to Google Calendar. You can close this tab.",
            access_type="offline",
            prompt="consent",
            timeout_seconds=SIGN_IN_TIMEOUT_SECONDS,
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} is already in use on this machine: pass --port with a free one "
                "(and forward that port instead)"
            ) from None
        raise ExternalServiceError(f"the Google sign-in did not complete: {exc}") from None
    except Exception as exc:  # oauthlib's errors (access denied, bad state), the timeout...
        raise ExternalServiceError(_sign_in_problem(exc)) from None
    save_credentials(settings, creds)  # type: ignore[arg-type]
    return creds  # type: ignore[return-value]


def _have_browser() -> bool:
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        return False
    return True


def _sign_in_problem(exc: Exception) -> str:
    name = type(exc).__name__
    if name == "WSGITimeoutError":
        minutes = SIGN_IN_TIMEOUT_SECONDS // 60
        return (
            f"no answer from the browser within {minutes} minutes: run `agentcal auth google` again"
        )
    if name == "AccessDeniedError":
        return "access was not granted in the browser: nothing was saved"
    detail = " ".join(str(exc).split()) or name
    return f"the Google sign-in did not complete ({detail}): run `agentcal auth google` again"


def token_status(settings: Settings) -> dict[str, Any]:
    """What `agentcal auth status` shows; never the token itself."""
    path = settings.google_token_path
    out: dict[str, Any] = {
        "backend": settings.calendar,
        "token_file": str(path),
        "signed_in": False,
        "scopes": [],
        "expires_at": None,
        "access_token_valid": False,
        "has_refresh_token": False,
        "file_mode": None,
    }
    if not path.exists() and not path.is_symlink():
        return out
    creds = load_credentials(settings)  # also tightens a loosened file mode
    out["file_mode"] = oct(stat.S_IMODE(path.lstat().st_mode))
    out.update(
        signed_in=True,
        scopes=sorted(creds.scopes or []),
        expires_at=creds.expiry.isoformat() + "Z" if creds.expiry else None,
        access_token_valid=bool(creds.valid),
        has_refresh_token=bool(creds.refresh_token),
    )
    return out


def sign_out(settings: Settings) -> bool:
    """Delete the saved token; False if there was none."""
    path = settings.google_token_path
    if not path.exists():
        return False
    path.unlink()
    return True
