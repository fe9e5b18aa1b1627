"""Every command and option of the CLI, driven by hypothesis with hostile values: never a
traceback, a bad value refused with one line, the store left as it was.

The commands and their options come from the Typer app itself (`typer.main.get_command`), so a
command added later is fuzzed without anyone editing this file. Each generated case puts one
hostile value in one slot of one command (an option, an argument, or an extra argument) and
fills some of the other options with ordinary values:

- always invalid (tier A): integers beyond 64 bits, NaN and infinities, lone surrogates (what
  Python makes of bytes that are not UTF-8), control characters, strings over 64 KiB. These
  must be refused: exit 1 or 2, one line on stderr, the store unchanged.
- often invalid (tier B): impossible dates, 400-digit numbers, 300-character strings, JSON
  nested 1,000 deep, injection and markup, odd paths. Some are fine for some options (a title
  may be "2026-02-30"), so the command may succeed; if it fails, it fails the same way: one
  line, nothing written.

Everything runs in-process (typer's CliRunner) against the test's migrated store copy, with
AGENTCAL_DEBUG=1, so an unexpected exception reaches the test with its traceback. Cases:
FUZZ_CASES in all (5,000 by default, spread over the commands).
"""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import ON_POSTGRES, db_snapshot

# PostgreSQL runs a fifth of them: the same code paths, a slower store to snapshot.
TOTAL_CASES = int(os.environ.get("FUZZ_CASES", "1000" if ON_POSTGRES else "5000"))
# A failed chat turn is recorded like any turn (the seed's observability): those tables may
# change when `chat` exits 1.
TURN_LOG_TABLES = ("agent_observability", "agent_steps", "chat_sessions")


@dataclass(frozen=True)
class Param:
    name: str
    opts: tuple[str, ...]  # () for an argument
    kind: str  # int | float | bool | str
    flag: bool
    multiple: bool
    required: bool
    choices: tuple[str, ...] | None


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]
    params: tuple[Param, ...]

    @property
    def label(self) -> str:
        return " ".join(self.path)


def _kind(param: Any) -> str:
    annotation = param.type_descriptor.annotation
    args = getattr(annotation, "__args__", ())
    for candidate in (annotation, *args):
        if candidate is bool:
            return "bool"
        if candidate is int:
            return "int"
        if candidate is float:
            return "float"
        inner = getattr(candidate, "__args__", ())
        if int in inner:
            return "int"
    return "str"


def cli_commands() -> list[Command]:
    """Every leaf command of the app with its parameters, read from the Typer app."""
    import typer.main

    from agentcal.cli.main import app

    out: list[Command] = []

    def walk(cmd: Any, path: tuple[str, ...]) -> None:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in sorted(subs.items()):
                walk(sub, (*path, name))
            return
        params = []
        for p in cmd.params:
            if p.name in ("help", "version") or getattr(p, "hidden", False):
                continue
            desc = p.type_descriptor
            choices = tuple(str(c) for c in desc.choices) if desc.is_choice else None
            params.append(
                Param(
                    name=p.name,
                    opts=tuple(getattr(p, "opts", ())) if p.param_type_name == "option" else (),
                    kind=_kind(p),
                    flag=bool(getattr(p, "is_flag", False)),
                    multiple=bool(p.multiple or p.nargs == -1),
                    required=bool(p.required),
                    choices=choices,
                )
            )
        out.append(Command(path, tuple(params)))

    walk(typer.main.get_command(app), ())
    return out


COMMANDS = cli_commands()
PER_COMMAND = max(50, math.ceil(TOTAL_CASES / len(COMMANDS)))

# -- values ---------------------------------------------------------------------------------

SURROGATES = st.sampled_from(["\udcff", "gym\udcfe", "\ud800", "\udcc3\udca9t\udce9", "a\udfffb"])
CONTROLS = st.sampled_from(["\x00", "a\x00b", "\x1b[31mred", "\x07", "x\x7fy", "\x85", "\x1f"])
HUGE_TEXT = st.sampled_from(["x" * 65_537, "é" * 70_000, "[" * 70_000])
HUGE_INTS = st.sampled_from(
    [2**63, -(2**63) - 1, 2**64, 10**30, -(10**30), int("9" * 400), int("1" + "0" * 25)]
).map(str)
NOT_FINITE = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e309", "-1e309"])

TIER_A = {
    "int": HUGE_INTS | NOT_FINITE | SURROGATES | CONTROLS,
    "float": NOT_FINITE | st.sampled_from(["1e400", "-1e400"]) | SURROGATES | CONTROLS,
    "str": SURROGATES | CONTROLS | HUGE_TEXT,
}
DATES = st.sampled_from(
    ["2026-02-30", "2026-13-01", "9999-12-31", "0001-01-01", "0000-00-00", "999999w",
     "999999d", "2026-02-30T09:00", "9999-12-31T23:59:59+14:00", "24:00", "06:0٥", "²",
     "٣", "1-٣", "1e309d", "-5d", "yesterdayish", "now", "today"]
)  # fmt: skip
ODD = st.sampled_from(
    ["", " ", "-", "--", "-1", "0", "00", "1.5", "1e3", "0x10", "9223372036854775807",
     "9223372036854775808", "9" * 400, "x" * 300, "'; DROP TABLE jobs; --", "[bold]x[/]",
     "{", '{"a":', "[" * 1000 + "]" * 1000, '{"time": "06:00", "duration": 60}',
     "null", "true", "é🙂", "‮evil", "relative/dir/out.ics", "/proc/agentcal-nope/x",
     "health/gym_time", "gym", "weekdays", "7d", "head", "bogus", "1e12", "-1e12", "1e300",
     "86400000", "x" * 1001, "%_%" * 400]
)  # fmt: skip
# Numbers at the edges of what a day count, an id or a limit can take, each as likely as any
# other kind of value (a union weighs its branches, not their members).
EDGES = st.sampled_from(
    ["0", "-1", "1e12", "-1e12", "1e300", "-1e300", "1e-300", "86400000", "99999999",
     "2147483648", "4294967296", "9223372036854775807", "-9223372036854775808", "36501"]
)  # fmt: skip
TIER_B = {
    "int": st.one_of(EDGES, ODD, DATES, st.integers(-(2**63), 2**63 - 1).map(str)),
    "float": st.one_of(
        EDGES, ODD, DATES, st.floats(allow_nan=False, allow_infinity=False).map(repr)
    ),
    "str": st.one_of(ODD, DATES, EDGES, st.text(max_size=40)),
}
# Ordinary values for the other options, so a hostile value reaches past the easy checks.
PLAIN = {
    "int": st.sampled_from(["1", "2", "7", "30"]),
    "float": st.sampled_from(["0", "0.5", "1", "7"]),
    "str": st.sampled_from(["alice", "gym", "06:00", "health", "7d", "weekdays", "1", "x"]),
}
UNSAFE_OPTIONS = {"--help", "-h"}
# Options whose usable value makes the command serve until it is stopped (`mcp --http PORT`):
# never given an ordinary value, and a generated value that happens to be usable is skipped.
SERVES_UNTIL_STOPPED = {("mcp", "--http")}


def _serves(command: Command, param: Param | None, value: str) -> bool:
    if (
        param is None
        or not param.opts
        or (command.label, param.opts[0]) not in SERVES_UNTIL_STOPPED
    ):
        return False
    try:
        return 1 <= int(value) <= 65535  # as click reads an int (it takes ' 7', '7_0', '٣')
    except ValueError:
        return False


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    hostile: str
    tier: str  # A: must be refused | B: may be accepted


@st.composite
def cases(draw: Any, command: Command) -> Case:
    """One invocation of `command` with exactly one hostile value."""
    slots = [p for p in command.params if not p.flag] + [None]  # None: an extra argument
    target = draw(st.sampled_from(slots))
    tier = draw(st.sampled_from("AB"))
    kind = "str" if target is None else target.kind
    value = draw((TIER_A if tier == "A" else TIER_B)[kind])
    assume(not _serves(command, target, value))
    argv: list[str] = list(command.path)
    positionals: list[str] = []
    for p in command.params:
        if p is target:
            if p.opts:
                argv += [p.opts[0], value]
            else:
                positionals.append(value)
        elif p.flag:
            if p.opts and p.opts[0] not in UNSAFE_OPTIONS and draw(st.booleans()):
                argv.append(p.opts[0])
        elif p.opts and (command.label, p.opts[0]) in SERVES_UNTIL_STOPPED:
            continue
        elif p.required or draw(st.integers(0, 3)) == 0:
            plain = draw(st.sampled_from(p.choices)) if p.choices else draw(PLAIN[p.kind])
            if p.opts:
                argv += [p.opts[0], plain]
            else:
                positionals.append(plain)
    if target is None:
        positionals.append(value)
    if positionals:
        argv += ["--", *positionals] if any(v.startswith("-") for v in positionals) else positionals
    return Case(tuple(argv), value, tier)


# -- the store ------------------------------------------------------------------------------


def _raw(home: Path) -> bytes:
    h = hashlib.sha256()
    for name in ("agentcal.db", "agentcal.db-wal"):
        path = home / name
        if path.exists():
            h.update(path.read_bytes())
    return h.digest()


def _tables(home: Path) -> dict[str, bytes]:
    if ON_POSTGRES:
        return {"all": db_snapshot(home)}
    conn = sqlite3.connect(home / "agentcal.db")
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: repr(conn.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall()).encode()
                for n in names}  # fmt: skip
    finally:
        conn.close()


class Store:
    """What the store holds: its raw bytes (cheap, every case) and its rows (read again only
    after the bytes changed, which a read-only or refused case never does)."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.raw = _raw(home)
        self.tables = _tables(home)

    def changed_since_last(self) -> set[str]:
        """The tables whose rows changed since the last call, and take the new state."""
        raw = _raw(self.home)
        if not ON_POSTGRES and raw == self.raw:
            return set()
        now = _tables(self.home)
        changed = {t for t in set(now) | set(self.tables) if now.get(t) != self.tables.get(t)}
        self.raw, self.tables = raw, now
        return changed


# -- the property ---------------------------------------------------------------------------


@dataclass
class Outcome:
    exit_code: int
    exception: BaseException | None
    stdout: str
    stderr: str


_CLI: list[Any] = []


def _run(case: Case) -> Outcome:
    """The case through the real command tree, as typer's CliRunner runs it, but with the tree
    built once (typer builds it from the app's signatures on every `app()`: 30 ms a case)."""
    import typer.main
    from typer.testing import CliRunner

    from agentcal.cli.main import app

    if not _CLI:
        _CLI.append(typer.main.get_command(app))
    code, exception = 0, None
    with CliRunner().isolation(input="") as (out, err, _mixed):
        try:
            _CLI[0].main(args=list(case.argv), prog_name="agentcal")
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except Exception as exc:
            code, exception = 1, exc
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        stdout, stderr = out.getvalue(), err.getvalue()
    return Outcome(
        code, exception, stdout.decode(errors="replace"), stderr.decode(errors="replace")
    )


def check(case: Case, result: Outcome, changed: set[str]) -> None:
    """The property: no traceback; exit 0, 1 or 2 (1 or 2 for a tier-A value); a failure is
    one line (or a JSON report) and changed no table (a failed chat turn is logged)."""
    shown = (case.argv[:4], case.hostile[:60], case.tier)
    assert result.exception is None, (shown, repr(result.exception))
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "internal error" not in output, (shown, output[-500:])
    assert result.exit_code in (0, 1, 2), (shown, result.exit_code)
    if case.tier == "A":
        assert result.exit_code in (1, 2), (shown, "a tier-A value was accepted", output[:300])
    if result.exit_code == 0:
        return
    err = result.stderr
    machine_report = not err and result.stdout.lstrip().startswith(("{", "["))
    assert machine_report or (err.startswith("Error: ") and err.count("\n") == 1), (shown, err)
    allowed = set(TURN_LOG_TABLES) if case.argv[0] == "chat" else set()
    assert changed <= allowed, (shown, "a failed command changed", changed)


@pytest.fixture(scope="module")
def warm() -> None:
    """Import what the commands use once, outside hypothesis' timing."""
    import agentcal.cli.main  # noqa: F401


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.label)
def test_every_command_with_hostile_values(command, agentcal_home, tmp_path, warm):
    store = Store(agentcal_home)
    ran: list[Case] = []

    @settings(
        max_examples=PER_COMMAND,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: CI is reproducible
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large],
    )  # fmt: skip
    @given(case=cases(command))
    def run(case: Case) -> None:
        ran.append(case)
        result = _run(case)
        check(case, result, store.changed_since_last())

    run()
    # Hypothesis stops early only when it has tried every case it can make.
    assert len(ran) >= PER_COMMAND, (command.label, len(ran))


def test_the_fuzzer_covers_every_command_and_enough_cases():
    labels = {c.label for c in COMMANDS}
    assert {"chat", "insights update", "jobs purge", "calendar export", "db upgrade"} <= labels
    assert PER_COMMAND * len(COMMANDS) >= TOTAL_CASES
    assert TOTAL_CASES >= 5000 or ON_POSTGRES or "FUZZ_CASES" in os.environ


# The inputs the issue found tracebacks with, as plain regression cases.
ISSUE_CASES = [
    (("insights", "show", "9223372036854775808"), 1),
    (("jobs", "list", "-n", "9223372036854775808"), 2),
    (("alerts", "ack", "99999999999999999999"), 2),
    (("prefs", "list", "--user", "\udcff"), 2),
    (("chat", "-m", "\udcff\udcfe"), 2),
    (("prefs", "add", "focus", "--at", "09:00", "--title", "a\udcc3b"), 2),
    (("logs", "list", "-q", "\udcff"), 2),
    (("costs", "--since", "999999w"), 1),
    (("logs", "list", "--until", "9999-12-31"), 1),
    (("insights", "set", "health", "k", "[" * 1000 + "]" * 1000), 1),
    (("db", "upgrade", "bogus"), 1),
    (("jobs", "purge", "--older-than", "nan"), 2),
    (("jobs", "purge", "--older-than", "inf"), 2),
    (("jobs", "purge", "--older-than", "1e309"), 2),
    (("jobs", "purge", "--older-than", "1e12"), 1),
    (("prefs", "add", "gym", "--at", "06:00", "--days", "²"), 1),
    (("prefs", "add", "gym", "--at", "06:00", "--duration", "9" * 400), 2),
    (("calendar", "export", "x" * 300 + ".ics"), 1),
    (("logs", "list", "-q", "x" * 131_072), 2),
    (("logs", "list", "-q", "x" * 2_000), 1),
    # Beyond PostgreSQL's 32-bit integer columns (the fuzzer found these there).
    (("jobs", "show", "2147483648"), 2),
    (("insights", "show", "2147483648"), 1),
]


@pytest.mark.parametrize(("argv", "code"), ISSUE_CASES, ids=lambda a: str(a)[:40])
def test_the_issues_examples(argv, code, agentcal_home):
    store = Store(agentcal_home)
    result = _run(Case(argv, argv[-1], "A"))
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert store.changed_since_last() == set()
