"""What no command accepts, checked once for all of them (and for any command added later):

- an argument that is not valid text: a lone surrogate (Python's stand-in for bytes that are
  not UTF-8), a control character other than tab and newline, more than 64 Ki characters;
- a whole number outside 32 bits (the store's integer columns, ids included, are 32-bit on
  PostgreSQL; no count, limit or duration here comes near), a number that is not finite or
  beyond 10^15 (no quantity here is that large).

Both are usage errors (exit 2) raised before the command runs, so nothing is written.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

MAX_ARGUMENT_CHARS = 65_536
INT32 = 2**31
MAX_NUMBER = 1e15


def _bad(message: str) -> Exception:
    from typer._click.exceptions import UsageError

    return UsageError(message)


def check_arguments(args: Sequence[str]) -> None:
    """Raise a usage error for the first argument no command accepts."""
    for n, arg in enumerate(args, 1):
        if not isinstance(arg, str):
            continue
        shown = ascii(arg[:40]) + ("..." if len(arg) > 40 else "")
        if len(arg) > MAX_ARGUMENT_CHARS:
            raise _bad(f"argument {n} is longer than {MAX_ARGUMENT_CHARS:,} characters")
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad(f"argument {n} ({shown}) is not valid text (not UTF-8)") from None
        if any(c not in "\t\n\r" and (ord(c) < 32 or 127 <= ord(c) < 160) for c in arg):
            raise _bad(f"argument {n} ({shown}) holds a control character")


def guard_numbers(group: Any) -> None:
    """Wrap every command's callback below `group` so its numbers are checked first."""
    for command in getattr(group, "commands", {}).values():
        if getattr(command, "commands", None):
            guard_numbers(command)
        elif command.callback is not None and not getattr(command.callback, "_guarded", False):
            command.callback = _checked(command.callback)


def _checked(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(**params: Any) -> Any:
        for name, value in params.items():
            for item in value if isinstance(value, list | tuple) else (value,):
                _check_number(name, item)
        return callback(**params)

    run._guarded = True  # type: ignore[attr-defined]
    return run


def _check_number(name: str, value: Any) -> None:
    option = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return
    if isinstance(value, int) and not -INT32 <= value < INT32:
        digits = str(value)
        shown = digits if len(digits) <= 24 else f"{digits[:12]}...({len(digits)} digits)"
        raise _bad(f"{option}: {shown} is out of range (at most 32 bits: 2147483647)")
    if isinstance(value, float) and not (math.isfinite(value) and abs(value) <= MAX_NUMBER):
        raise _bad(f"{option}: {value} is not a usable number")
