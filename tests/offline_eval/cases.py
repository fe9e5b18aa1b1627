"""Request sets for the offline model (issue 14): the file format and its parser.

One request per line, with what should happen, in a block that fixes the user's zone, "now"
and the events already on the calendar:

    # comment
    @zone Europe/Paris                  starts a block: forgets the block's events
    @now 2026-11-26 10:00               local time in the block's zone
    @event Doctor | 2026-11-27 10:00 | 30 [| location]
    @habit health/gym_time | gym | Morning Gym | 06:00 | 60 | 1-5     an insight and its habit
    ## edits                            the category of the cases that follow
    > add dentist tomorrow at 3pm       an earlier turn of the same conversation (next case only)
    move my doctor appointment to 11 => update | Doctor | start=2026-11-27 11:00

`<empty>` and `<long>` stand for the empty message and 10,000 characters. Expectations (all
times local; " / " separates accepted alternatives; `*` accepts anything):

    create | TITLE | START | MINUTES | [LOCATION]     START may be a window: 2026-11-27 06:00~12:00
    update | EVENT | start=... | dur=N | title=... | location=...   only these change
    delete | EVENT
    schedule | TITLE | MINUTES | LO | HI             booked inside [LO, HI], over nothing
    list | START | END                               list_events over exactly that range
    next | TITLE                                     the answer names the next event
    free | LO | HI | yes / slots / busy: TITLE       a listing covering [LO, HI] and its verdict
    pref | TYPE | HH:MM[~HH:MM] | MINUTES | DAYS | [TITLE] | [every=N] | [first=DATE]
                                                     the preference the insight makes: every N
                                                     weeks (default 1), first happening on DATE
    insight | CATEGORY | KEY | field=value           an insight with that value
    stop | TITLE                                     that habit turned off, nothing else written
    habits | TITLE, TITLE                            nothing written; the answer names each
    ask                                              nothing written
    ask1                                             nothing written, a one-line answer

DAYS: `*` (every day), `1-5`, `1,4`, `1-4,7` (1 = Monday).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
DEV = HERE / "dev.txt"
HELDOUT = HERE / "heldout.txt"
LONG_MESSAGE = ("lorem ipsum dolor sit amet " * 400)[:10_000]


@dataclass(frozen=True)
class SeedEvent:
    title: str
    start: datetime
    minutes: int
    location: str | None = None


@dataclass(frozen=True)
class SeedHabit:
    """A habit the user already has: its insight (category/key) and the preference it made."""

    ref: str
    preference_type: str
    title: str
    at: str
    minutes: int
    days: list[int] | None


@dataclass
class Case:
    category: str
    text: str
    expect: str
    zone: str
    now: datetime
    events: tuple[SeedEvent, ...]
    priors: list[str] = field(default_factory=list)
    line: int = 0
    habits: tuple[SeedHabit, ...] = ()

    @property
    def action(self) -> str:
        return self.expect.split("|")[0].strip()

    @property
    def fields(self) -> list[str]:
        return [f.strip() for f in self.expect.split("|")[1:]]

    def local(self, text: str) -> datetime:
        """'2026-11-27 10:00' in the case's zone."""
        return datetime.fromisoformat(text.strip()).replace(tzinfo=ZoneInfo(self.zone))


def alternatives(text: str) -> list[str]:
    return [a.strip() for a in text.split(" / ")]


def parse_days(text: str) -> list[int] | None:
    """'1-5' -> [1..5]; '1,4' -> [1, 4]; '*' -> None (every day)."""
    if text.strip() == "*":
        return None
    days: set[int] = set()
    for part in text.split(","):
        a, _, b = part.strip().partition("-")
        days.update(range(int(a), int(b or a) + 1))
    return sorted(days)


def _message(text: str) -> str:
    return {"<empty>": "", "<long>": LONG_MESSAGE}.get(text, text)


def load(path: Path) -> list[Case]:
    """Every case of a request file, in order."""
    cases: list[Case] = []
    zone, now = "UTC", datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
    events: list[SeedEvent] = []
    habits: list[SeedHabit] = []
    category, priors = "misc", []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or (line.startswith("#") and not line.startswith("##")):
            continue
        if line.startswith("@zone "):
            zone, events, habits = line[6:].strip(), [], []
        elif line.startswith("@now "):
            now = datetime.fromisoformat(line[5:].strip()).replace(tzinfo=ZoneInfo(zone))
        elif line.startswith("@event "):
            parts = [p.strip() for p in line[7:].split("|")]
            start = datetime.fromisoformat(parts[1]).replace(tzinfo=ZoneInfo(zone))
            location = parts[3] if len(parts) > 3 else None
            events.append(SeedEvent(parts[0], start, int(parts[2]), location))
        elif line.startswith("@habit "):
            ref, ptype, title, at, minutes, days = [p.strip() for p in line[7:].split("|")]
            habits.append(SeedHabit(ref, ptype, title, at, int(minutes), parse_days(days)))
        elif line.startswith("## "):
            category = line[3:].strip()
        elif line.startswith("> "):
            priors.append(_message(line[2:].strip()))
        elif "=>" in line:
            text, _, expect = line.rpartition("=>")
            cases.append(
                Case(
                    category, _message(text.strip()), expect.strip(), zone, now,
                    tuple(events), priors, number, tuple(habits),
                )
            )  # fmt: skip
            priors = []
        else:
            raise ValueError(f"{path.name}:{number}: cannot read {line!r}")
    return cases
