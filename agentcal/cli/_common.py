"""Options and output helpers shared by the command modules (kept light: typer + stdlib)."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Annotated, Any

import typer

from agentcal.errors import ValidationError


def _default_user() -> str:
    from agentcal.basics import get_basics

    return get_basics().user


UserOption = Annotated[
    str | None,
    typer.Option(
        "--user",
        "-u",
        help="User whose data to use (default: AGENTCAL_USER, else your login name).",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print a JSON array of objects instead of a table.")
]


def resolve_user(user: str | None) -> str:
    from agentcal.validation import user_id

    return user_id(user) if user is not None else _default_user()


def zone_of(user_id: str | None) -> str:
    """The time zone a command about `user_id` counts days in: their profile's zone, else the
    installation's (AGENTCAL_TIMEZONE); the installation's for every user (None)."""
    if user_id is None:
        from agentcal.basics import get_basics

        return get_basics().timezone
    from agentcal.users.profiles import user_timezone

    return user_timezone(user_id)


def window(since: str | None, until: str | None, zone: str) -> tuple[Any, Any]:
    """`--since`/`--until` as UTC bounds, "today" and dates read in `zone`."""
    from zoneinfo import ZoneInfo

    from agentcal.timeparse import parse_window

    return parse_window(since, until, tz=ZoneInfo(zone))


def jsonable(obj: Any) -> Any:
    """Models, dataclasses, datetimes -> plain JSON values."""
    if hasattr(obj, "model_dump"):
        return {k: jsonable(v) for k, v in obj.model_dump().items()}
    if hasattr(obj, "_asdict"):  # the read path's records (named tuples)
        return {k: jsonable(v) for k, v in obj._asdict().items()}
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return jsonable(asdict(obj))
    return obj


def print_json(data: Any) -> None:
    """JSON on stdout and nothing else (no Rich markup, no wrapping)."""
    sys.stdout.write(json.dumps(jsonable(data), indent=2, ensure_ascii=False) + "\n")


def console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    # emoji=False: a ":name:" in user text stays as typed (escape() does not cover it).
    return Console(highlight=False, emoji=False)


def err_console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=True, highlight=False, emoji=False)


def parse_json_option(text: str, field: str) -> Any:
    try:
        return json.loads(text)
    except RecursionError:
        raise ValidationError(f"{field} is nested too deep") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{field} is not valid JSON: {exc.msg} at column {exc.colno}"
        ) from None


def escape(text: Any) -> str:
    """Text for a Rich table cell, shown verbatim (no markup interpretation)."""
    from rich.markup import escape as rich_escape

    return rich_escape("" if text is None else str(text))


def local_time(value: datetime | None, tz: str | None = None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    from zoneinfo import ZoneInfo

    if tz is None:
        from agentcal.basics import get_basics

        tz = get_basics().timezone
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)
