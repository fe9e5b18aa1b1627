"""Parameter values that need no coercion skip Typer's Pydantic adapters.

Typer 0.29 coerces every parameter value it processes through a Pydantic `TypeAdapter`, which
imports Pydantic (~1.7x `import typer` on its own: most of a read command's budget) even when
the answer is known without it: an unset option (None), a string for a `str` option, an
integer default inside its range, a plain decimal for an `int` option. For those values, and
only those, the result here is the one the adapter would give (tests/cli/test_fastparams.py
checks it against Typer for every parameter of the app); anything else (a bad number, a
choice, a path, a list, a custom parser) goes through Typer as before, errors included.
"""

from __future__ import annotations

import re
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,17}")  # what int() and Pydantic read alike
_installed = False


def fast_value(param: Any, value: Any) -> tuple[bool, Any]:
    """(True, what Typer's coercion returns) when known without it, else (False, None)."""
    desc = param.type_descriptor
    info = desc.parameter_info
    if info.parser is not None or getattr(info, "click_type", None) is not None:
        return False, None
    many = param.multiple or param.nargs == -1
    if value is None:  # Typer's RuntimeParam.coerce, before any adapter
        return True, (() if many else None)
    if many or desc.file_annotation is not None:
        return False, None
    kind = desc.annotation
    if get_origin(kind) in (Union, UnionType):
        args = [a for a in get_args(kind) if a is not NoneType]
        if len(args) != 1:
            return False, None
        kind = args[0]
    if kind is bool and isinstance(value, bool):
        return True, value  # Typer itself skips coercion here
    if kind is str and type(value) is str:
        return True, value
    if kind is int and not info.clamp:
        if type(value) is str and _DECIMAL.fullmatch(value):
            value = int(value)
        low, high = info.min, info.max
        if type(value) is int and (low is None or value >= low) and (high is None or value <= high):
            return True, value
    return False, None


def install() -> None:
    """Route Typer's parameter processing through `fast_value` first (once; a Typer without
    the hook is left as it is)."""
    global _installed
    if _installed:
        return
    _installed = True
    try:
        from typer._click.exceptions import MissingParameter
        from typer.core import _TyperParameter
    except ImportError:
        return
    typer_process = _TyperParameter.process_value

    def process_value(self: Any, ctx: Any, value: Any) -> Any:
        known, out = fast_value(self, value)
        if not known:
            return typer_process(self, ctx, value)
        # The rest of Typer's process_value, unchanged.
        if self.required and self.value_is_missing(out):
            raise MissingParameter(ctx=ctx, param=self)
        if self.callback is not None:
            out = self.callback(ctx, self, out)
        return out

    _TyperParameter.process_value = process_value  # type: ignore[method-assign]
