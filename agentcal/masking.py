"""The one masking function for everything that leaves agentcal as text.

`mask(text)` is applied to log records (installed by `install_log_masking`), job errors,
alerts, `config show` (text and JSON) and every error message the CLI prints. It hides:

- the values of the configured secrets: the OpenAI key, the CalDAV password (from the
  environment or its file), the passwords in AGENTCAL_DATABASE_URL, AGENTCAL_CALDAV_URL and
  OPENAI_BASE_URL, the alert webhook's path and query, the alert command's arguments;
- credentials in any URL (`https://user:secret@host/` -> `https://user:****@host/`);
- secret-looking query parameters (`?token=`, `key`, `sig`, `password`, ...);
- webhook paths (`https://hooks.slack.com/services/T/B/x` -> `https://hooks.slack.com/****`);
- `Authorization:` headers and `Bearer`/`Basic` credentials;
- `password=...`, `api_key: ...` and similar pairs.

Configured values shorter than MIN_SECRET_CHARS are not replaced wherever they occur (a
password "abc" would garble every word holding those letters); the structural rules above
still hide them where credentials usually appear.
"""

from __future__ import annotations

import logging
import os
import re
import shlex
import traceback
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MASK = "****"
MIN_SECRET_CHARS = 6

# Names whose value is a secret: in `name=value` / `"name": "value"` pairs and `--name value`
# options. The query-string rule adds short names only seen in URLs (`?key=`, `?sig=`).
_PAIR_WORDS = (
    r"api[_-]?key|apikey|access[_-]?token|refresh[_-]?token|id[_-]?token|auth[_-]?token|token|"
    r"client[_-]?secret|secret|password|passwd|pwd"
)
_QUERY_WORDS = _PAIR_WORDS + r"|signature|sig|key|code|auth|credentials?"
# scheme://userinfo@ : everything after the first ':' of the userinfo is a password; a
# userinfo without ':' is often a token by itself (https://TOKEN@github.com/...), except in a
# database URL, where it is the role name (postgresql://postgres@host/db).
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<info>[^/\s@?#'\"]+)@")
_QUERY_PARAM = re.compile(
    rf"(?P<pre>[?&;](?:{_QUERY_WORDS})=)(?P<value>[^&#\s'\"]+)", re.IGNORECASE
)
_WEBHOOK_URL = re.compile(r"(?P<base>\bhttps?://[^/\s'\"]*)(?P<path>/[^\s'\"]*)")
_AUTH_HEADER = re.compile(
    r"(?P<pre>\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)(?P<value>[^\"'\r\n,}]+)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(?P<pre>Bearer|Basic)\s+(?P<value>[A-Za-z0-9._~+/=-]{8,})")
# password=x, password = "x", "password": "x", 'token': 'x' (a bare "password: word" in prose
# is left alone).
_PAIR = re.compile(
    rf"(?P<pre>\b(?:{_PAIR_WORDS})\b(?:[\"']?\s*:\s*[\"']|\s*=\s*[\"']?))"
    r"(?P<value>[^\s\"',;&}]+)",
    re.IGNORECASE,
)
_OPTION = re.compile(rf"(?P<pre>--(?:{_PAIR_WORDS})[= ])(?P<value>[^\s\"']+)", re.IGNORECASE)
# Text holding none of these (lower-cased) cannot match any rule above and is returned as it
# is: most log lines and job results, checked with a few substring tests instead of seven
# regular-expression passes.
_TRIGGERS = ("://", "authoriz", "bearer", "basic", "token", "secret", "passw", "pwd", "key")


_DATABASE_SCHEMES = ("postgres", "mysql", "mariadb", "sqlite", "oracle", "mssql", "cockroachdb")


def _is_database_scheme(scheme: str) -> bool:
    return scheme.lower().split("+", 1)[0].rstrip(":/").startswith(_DATABASE_SCHEMES)


def _is_webhook(base: str, path: str) -> bool:
    lowered = (base + path).lower()
    return "hook" in lowered


def _mask_userinfo(match: re.Match[str]) -> str:
    info = match.group("info")
    user, sep, _password = info.partition(":")
    scheme = match.group("scheme")
    if sep:
        return f"{scheme}{user}:{MASK}@"
    return match.group(0) if _is_database_scheme(scheme) else f"{scheme}{MASK}@"


def _mask_webhook(match: re.Match[str]) -> str:
    base, path = match.group("base"), match.group("path")
    if _is_webhook(base, path) and path.strip("/"):
        return f"{base}/{MASK}"
    return match.group(0)


def _keep_prefix(match: re.Match[str]) -> str:
    value = match.group("value")
    if value == MASK or value.startswith(MASK):
        return match.group(0)
    return f"{match.group('pre')}{MASK}"


def mask(text: Any, extra: Iterable[str | None] = ()) -> str:
    """`text` with every secret agentcal knows of, and every credential-shaped part, hidden."""
    out = text if isinstance(text, str) else str(text)
    if not out:
        return out
    values = secret_values()
    if extra:
        values = _by_length((*values, *extra))
    for value in values:
        if value in out:
            out = out.replace(value, MASK)
    lowered = out.lower()
    if not any(t in lowered for t in _TRIGGERS):
        return out
    out = _URL_USERINFO.sub(_mask_userinfo, out)
    out = _QUERY_PARAM.sub(_keep_prefix, out)
    out = _WEBHOOK_URL.sub(_mask_webhook, out)
    out = _AUTH_HEADER.sub(_keep_prefix, out)
    out = _BEARER.sub(_keep_prefix, out)
    out = _OPTION.sub(_keep_prefix, out)
    return _PAIR.sub(_keep_prefix, out)


# -- the configured secrets -----------------------------------------------------------------

# Environment variables whose whole value is a secret, read directly when the settings cannot
# be loaded (the error about them must not print them either).
_SECRET_ENV = ("OPENAI_API_KEY", "AGENTCAL_OPENAI_API_KEY", "AGENTCAL_CALDAV_PASSWORD")
_URL_ENV = (
    "AGENTCAL_DATABASE_URL",
    "AGENTCAL_CALDAV_URL",
    "OPENAI_BASE_URL",
    "AGENTCAL_OPENAI_BASE_URL",
    "AGENTCAL_ALERT_WEBHOOK",
)
_file_cache: dict[tuple[str, int, int], str] = {}


def url_secrets(url: str | None, *, webhook: bool = False) -> list[str]:
    """The secret parts of a URL: its password (or lone userinfo), secret-looking query values,
    and, for a webhook, its whole path and query (they are its credentials)."""
    if not url:
        return []
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return [url]
    out = []
    if "@" in parts.netloc:
        info = parts.netloc.rsplit("@", 1)[0]
        _user, sep, password = info.partition(":")
        if sep:
            out.append(password)
        elif not _is_database_scheme(parts.scheme):
            out.append(info)
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if webhook or re.fullmatch(_QUERY_WORDS, name, re.IGNORECASE):
            out.append(value)
    if webhook:
        out += [p for p in (parts.path.strip("/"), parts.query) if p]
    return out


def command_secrets(command: str | None) -> list[str]:
    """The secret parts of the alert command: the whole line, values of `--token`-like
    options and `NAME=value` words with a secret name, and the secrets of URLs in it."""
    if not command:
        return []
    try:
        words = shlex.split(command)
    except ValueError:
        return [command]
    out = [command]
    for previous, word in zip(["", *words], words, strict=False):
        name, sep, value = word.lstrip("-").partition("=")
        if sep and re.fullmatch(_PAIR_WORDS, name, re.IGNORECASE):
            out.append(value)
        if previous.startswith("-") and re.fullmatch(_PAIR_WORDS, previous.lstrip("-"), re.I):
            out.append(word)
        if "://" in word:
            out += url_secrets(word, webhook=True)
    return out


def mask_json(value: Any) -> Any:
    """A JSON value with `mask` applied to every string value in it."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {k: mask_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_json(v) for v in value]
    return value


# (the settings object, the data dir's mtime, its secrets)
_cached: tuple[Any, int, tuple[str, ...]] | None = None


def secret_values() -> tuple[str, ...]:
    """Every configured secret value (empty when none is set), computed once per settings."""
    global _cached
    try:
        from agentcal.settings import get_settings

        settings = get_settings()
    except Exception:  # unusable settings: read the raw environment instead
        return _by_length(_env_secret_values())
    # The data dir's change time too: `users edit` may add a person's password file meanwhile.
    # The settings object itself, not its id(): a new one after reset_settings() may reuse the
    # freed one's id, and would then be given the old settings' secrets.
    mtime = _mtime(settings.data_dir)
    if _cached is None or _cached[0] is not settings or _cached[1] != mtime:
        _cached = (settings, mtime, _by_length(_settings_secret_values(settings)))
    return _cached[2]


def _mtime(path: Any) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def _by_length(values: Iterable[str | None]) -> tuple[str, ...]:
    """The values worth replacing, longest first (a secret containing another one goes first)."""
    kept = {v for v in values if v and len(v) >= MIN_SECRET_CHARS}
    return tuple(sorted(kept, key=len, reverse=True))


def _settings_secret_values(settings: Any) -> list[str]:
    out: list[str] = []
    for secret in (settings.openai_api_key, settings.caldav_password):
        if secret is not None:
            out.append(secret.get_secret_value())
    out += _password_file(settings.caldav_password_file)
    for path in _user_password_files(settings):  # every person's, not only the configured one's
        out += _password_file(path)
    out += url_secrets(settings.database_url)
    out += url_secrets(settings.caldav_url)
    out += url_secrets(settings.openai_base_url)
    out += url_secrets(settings.alert_webhook, webhook=True)
    out += command_secrets(settings.alert_command)
    return out


def _user_password_files(settings: Any) -> list[Any]:
    from agentcal.user_files import all_caldav_password_files

    try:
        return all_caldav_password_files(settings)
    except OSError:
        return []


def _env_secret_values() -> list[str]:
    out = [os.environ[name] for name in _SECRET_ENV if os.environ.get(name)]
    for name in _URL_ENV:
        out += url_secrets(os.environ.get(name), webhook=name == "AGENTCAL_ALERT_WEBHOOK")
    out += command_secrets(os.environ.get("AGENTCAL_ALERT_COMMAND"))
    return out


def _password_file(path: Any) -> list[str]:
    if path is None:
        return []
    try:
        st = os.stat(os.path.expanduser(str(path)))
        key = (str(path), st.st_mtime_ns, st.st_size)
        if key not in _file_cache:
            with open(os.path.expanduser(str(path)), encoding="utf-8") as fh:
                _file_cache[key] = fh.read(4096).strip("\r\n")
        return [_file_cache[key]]
    except (OSError, UnicodeDecodeError, RuntimeError):
        return []


# -- settings shown to the user -------------------------------------------------------------


def mask_setting(name: str, value: Any) -> Any:
    """A setting's value as `config show` prints it."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if hasattr(value, "get_secret_value"):
        return MASK if value.get_secret_value() else None
    if name == "alert_command":
        program = str(value).split(maxsplit=1)
        return program[0] + (f" {MASK}" if len(program) > 1 else "")
    if name == "alert_webhook":
        parts = urlsplit(str(value))
        return f"{parts.scheme}://{parts.hostname or ''}/{MASK}" if parts.scheme else MASK
    if isinstance(value, dict):
        return {k: mask_setting(k, v) for k, v in value.items()}
    return mask(str(value))


def public_settings(settings: Any) -> dict[str, Any]:
    """Every setting with its secrets masked, for `agentcal config show`."""
    from pathlib import Path

    out: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            value = mask_secret(value.get_secret_value())
        elif isinstance(value, Path):
            value = mask(str(value))
        else:
            value = mask_setting(name, value)
        out[name] = value
    out["database_url"] = mask_url(settings.db_url)
    out["data_dir"] = mask(str(settings.data_dir))
    return out


def mask_secret(secret: str | None) -> str | None:
    """Show that a secret is set without showing it (the last 4 characters of a long one)."""
    if not secret:
        return None
    return MASK + (secret[-4:] if len(secret) >= 12 else "")


def mask_url(url: str) -> str:
    """A URL with its credentials hidden."""
    return mask(url)


# -- logging --------------------------------------------------------------------------------

_installed = False


def install_log_masking() -> None:
    """Mask every log record when it is created, whatever handler or format prints it later:
    its message (arguments merged in) and its traceback text."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's error path
            return record
        record.msg, record.args = mask(message), None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = mask(text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
