"""`_fastparams.fast_value` answers only where Typer's own coercion gives the same value."""

import pytest
import typer.main
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer.core import _TyperParameter

from agentcal.cli._fastparams import fast_value
from agentcal.cli.main import app

SAMPLES = [
    None, "", "0", "1", "7", "30", "366", "367", "1000", "-1", "+5", "05", "00", " 5", "5 ", "5\n",
    "abc", "1e3", "1.0", "1_000", "٣", "９", "99999999999999999999", "999999999999999999",
    0, 1, 7, 30, 366, -1, 2**40, 1.5, True, False, "true", "no", "health/gym", "é 日本", "--x",
]  # fmt: skip


def _params():
    """(command path, parameter, its command) for every Typer parameter of the app."""

    def walk(cmd, path):
        for p in cmd.params:
            if isinstance(p, _TyperParameter):
                yield path, p, cmd
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


def _typer_coerce(param, cmd, value):
    """What Typer's process_value would make of `value`, before the required check."""
    if param.type_descriptor.annotation is bool and isinstance(value, bool):
        return value
    return param.get_runtime_param().coerce(value, param=param, ctx=Context(cmd))


def test_fast_values_are_the_ones_typer_gives():
    answered = declined = 0
    for path, param, cmd in _params():
        for value in [*SAMPLES, param.default]:
            known, out = fast_value(param, value)
            if not known:
                declined += 1
                continue
            answered += 1
            try:
                expected = _typer_coerce(param, cmd, value)
            except BadParameter as exc:  # pragma: no cover - the failure this test looks for
                pytest.fail(f"{path} {param.name}={value!r}: fast {out!r}, Typer refuses: {exc}")
            assert (out, type(out)) == (expected, type(expected)), (path, param.name, value)
    # Both kinds occur: the app has str, int (with and without ranges) and bool parameters.
    assert answered > 500 and declined > 500


def test_values_it_declines_still_get_typers_errors(cli):
    result = cli("events", "list", "--days", "abc")
    assert result.exit_code == 2 and "--days" in result.stderr
    result = cli("costs", "--limit", "-1")
    assert result.exit_code == 2 and "--limit" in result.stderr
