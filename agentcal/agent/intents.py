"""What the offline model understood a request to mean: an `Intent`, and the text helpers the
request parsers share (blanking what a phrase used, tidying a title).

An intent is one of: create, list, next, free, search, schedule (book free time), edit, cancel,
insight (a routine or a rule), stop (a habit the user ended), habits (what agentcal knows about
the user), help, or ask (a one-line answer that says what was understood;
nothing is written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from agentcal.agent.when import Span

MAX_CHARS = 500
EXAMPLES = "e.g. “lunch with Ana tomorrow at 1pm”, “what's on Friday?”, “move the dentist to 4pm”"
NOT_UNDERSTOOD = f"Sorry, I didn't understand that; try {EXAMPLES}, or type “help”."


@dataclass
class Target:
    """Which existing event a request is about."""

    words: str | None = None  # what it is called ("doctor", "call with priya")
    event_id: int | None = None
    day: date | None = None
    at: time | None = None
    part: tuple[time, time] | None = None  # a window of its day (morning...)
    pronoun: bool = False  # "it", "that": the conversation's last single event
    text: str = ""  # as the user said it, for answers

    @property
    def empty(self) -> bool:
        return not (self.words or self.event_id or self.day or self.at or self.part or self.pronoun)


@dataclass
class Change:
    """What to change on an event; `None` keeps the event's own value."""

    day: date | None = None
    at: time | None = None
    shift: timedelta | None = None
    duration: int | None = None
    delta: int | None = None  # minutes longer (+) or shorter (-)
    title: str | None = None
    location: str | None = None

    @property
    def empty(self) -> bool:
        return all(v is None for v in vars(self).values())

    def merge(self, other: Change) -> None:
        for name, value in vars(other).items():
            if value is not None:
                setattr(self, name, value)


@dataclass
class Intent:
    kind: str  # create list next free search edit cancel schedule insight stop habits help ask
    title: str | None = None
    location: str | None = None
    day: date | None = None
    at: time | None = None
    duration: int | None = None
    end_at: time | None = None
    range_start: datetime | None = None
    range_end: datetime | None = None
    target: Target | None = None
    change: Change | None = None
    insight: dict[str, Any] = field(default_factory=dict)
    message: str | None = None  # the answer of an `ask`

    def span(self, tz: Any) -> tuple[datetime, datetime]:
        """Start and end of a `create` intent in `tz` (an end before the start is the next day)."""
        from agentcal.errors import ValidationError
        from agentcal.planning.events import MAX_EVENT_MINUTES

        assert self.day is not None and self.at is not None
        start = datetime.combine(self.day, self.at, tzinfo=tz)
        if self.end_at is not None:
            end = datetime.combine(self.day, self.end_at, tzinfo=tz)
            return start, end if end > start else end + timedelta(days=1)
        if (self.duration or 0) > MAX_EVENT_MINUTES:  # before the date arithmetic overflows
            raise ValidationError(f"an event may last at most 7 days, not {self.duration} minutes")
        return start, start + timedelta(minutes=self.duration or DEFAULT_MINUTES)


DEFAULT_MINUTES = 60
WORKDAY = (time(8), time(18))  # the hours "when am I free" and booking look at


def ask(message: str) -> Intent:
    return Intent("ask", message=message)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def blank(t: str, spans: list[Span | None]) -> str:
    """Replace spans with NUL characters (a boundary no phrase crosses), keeping the length."""
    for span in spans:
        if span:
            a, b = span
            t = t[:a] + "\0" * (b - a) + t[b:]
    return t


def midnight(day: date, tz: Any) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


_TITLE_LEAD = (
    r"^(?:(?:an?|the|my|some|me|for|called|named|titled|event|entry|appointment for|to|"
    r"on|at|in|from)\s+)+"
)


def tidy_title(words: str) -> str:
    words = re.sub(r"\s+", " ", words).strip(" ,;:-–'\"@")
    words = re.sub(r"[?!.,;:]+$", "", words).strip()
    words = re.sub(_TITLE_LEAD, "", words, flags=re.I)
    for _ in range(3):
        words = re.sub(
            r"\s+(?:on|at|for|from|in|this|next|the|of|by|to|and|until|till|between|around|"
            r"about|lasting|starting|every|each)$",
            "", words.strip(), flags=re.I,
        )  # fmt: skip
    words = re.sub(r"\s+(?:on|at|for|in)\s+(?=\s|$)", " ", words, flags=re.I)
    words = re.sub(r"\s{2,}", " ", words).strip(" ,-–'\"")
    return cap(words[:200])
