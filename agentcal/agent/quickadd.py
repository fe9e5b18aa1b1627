"""The offline model's understanding of a request: one message -> an `Intent`.

Deliberately deterministic, in the spirit of Google Calendar's quick-add. Dates, times and
durations come from `agent.when`, routines from `agent.habits`; this module decides what the
user wants (create, list, check free time, book free time, change or cancel an event named by
description or by "it", remember a habit) and what the event is called and where it is.
Whatever it cannot read with confidence becomes an `ask` intent: a one-line answer that says
what was understood, and nothing is written.

The user's zone is an input (`now` is aware, in the user's zone); nothing here reads settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.agent import habits, when
from agentcal.agent.when import PARTS_OF_DAY, Span
from agentcal.services.matching import GENERIC

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
    kind: str  # create list next free search edit cancel schedule insight help ask
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
        assert self.day is not None and self.at is not None
        start = datetime.combine(self.day, self.at, tzinfo=tz)
        if self.end_at is not None:
            end = datetime.combine(self.day, self.end_at, tzinfo=tz)
            return start, end if end > start else end + timedelta(days=1)
        return start, start + timedelta(minutes=self.duration or DEFAULT_MINUTES)


DEFAULT_MINUTES = 60


def quick_event(text: str, now: datetime, *, month_first: bool = False) -> Intent:
    """The `create` intent of a one-line quick add, or ValidationError saying why not."""
    from agentcal.errors import ValidationError

    intent = parse(text, now, month_first=month_first)
    if intent.kind == "create":
        return intent
    if intent.kind in ("ask", "help"):
        raise ValidationError(intent.message or f"say what to add and when, {EXAMPLES}")
    what = {
        "insight": "a routine (use `agentcal chat -m` to save it)",
        "edit": "a change to an event", "cancel": "a cancellation",
        "schedule": "a request for free time", "list": "a question about your calendar",
        "next": "a question about your calendar", "free": "a question about free time",
        "search": "a search",
    }.get(intent.kind, "not an event")  # fmt: skip
    raise ValidationError(f"that reads as {what}; `events add` only adds one event ({EXAMPLES})")


def ask(message: str) -> Intent:
    return Intent("ask", message=message)


def local_now(tz: str, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(tz))


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _blank(t: str, spans: list[Span | None]) -> str:
    """Replace spans with NUL characters (a boundary no phrase crosses), keeping the length."""
    for span in spans:
        if span:
            a, b = span
            t = t[:a] + "\0" * (b - a) + t[b:]
    return t


# ------------------------------------------------------------------------------------------
# What kind of request
# ------------------------------------------------------------------------------------------
LEAD = (
    r"^(?:(?:please|pls|hey|ok|okay|so|oops|ah|oh|um|uh|well|right|can you|could you|"
    r"would you|will you|can we|could we)[\s,!.]+|"
    r"(?:i'?d like to|i would like to|i want to|i need to|let'?s|lets)\s+(?=(?:move|reschedule|"
    r"cancel|delete|push|postpone|rename|shift|change|add|book|schedule|create|drop|remove)\b))*"
)
HELP = r"^(?:help|what can you do|what do you (?:do|understand)|how do(?:es)? (?:this|it|you) work|commands|usage)\W*$"
GREETING = (
    r"^(?:hi|hello|hey|hiya|yo|good (?:morning|afternoon|evening)|thanks|thank you|ok|okay)\W*$"
)
FREE = (
    r"\b(?:am i|are we|i'?m|is (?:my|the) \w+)\s+(?:free|available|busy|open)\b|"
    r"\bwhen (?:am i|are we) (?:free|available)\b|"
    r"\b(?:do|have) i (?:have|got) (?:any )?(?:free|spare|open) (?:time|slots?)\b|"
    r"\bwhen (?:do|can) i (?:have|find) (?:some |any )?free time\b|\bfree time\b|\bfree slots?\b|"
    r"^is\b.*\b(?:free|available)\W*$|\bany (?:free|spare) (?:time|slots?)\b"
)
SCHEDULE = (
    r"^(?:block(?: out| off)?|find|carve out|make time|set aside|reserve|hold|fit in|squeeze in|"
    r"get me|i need|i want|i'd like)\b"
)
NEXT = (
    r"^(?:what'?s|whats|what is|when'?s|when is)\s+(?:my\s+)?(?:next|coming up|up next)\b|"
    r"^next(?:\s+(?:event|meeting|appointment|thing))?\W*$|^(?:what'?s|whats) coming up\b"
)
LIST = (
    r"^(?:what'?s|whats|what is|what do i have|what have i got|what'?ve i got|what does|"
    r"what am i doing|how does|how'?s|show|list|agenda|calendar|schedule for|anything|"
    r"do i have|have i got|any (?:events|meetings|plans)|my (?:day|week|schedule|agenda|calendar)|"
    r"next \d+|next (?:few|two|three|four|five|six|seven|couple)|the next|events|plans)\b"
)
CANCEL = r"^(?:cancel|delete|remove|drop|clear|scrap|kill|get rid of|nix|bin|trash|call off)\b"
EDIT = (
    r"^(?:move|reschedule|resched|push|shift|postpone|delay|bring|change|rename|retitle|"
    r"extend|shorten|lengthen|cut|set|update|make (?=it\b|that\b|this\b|the\b|my\b|\w+ \w* ?(?:"
    + when.NUM
    + r")\s*(?:min|hour|h\b)))"
)
FOLLOW = (
    r"^(?:(?:actually|nope|sorry|wait|oh|oops|hmm|instead|rather|better|no(?!\s+meetings?\b))"
    r"\b[\s,!.]*)+"
)
SEARCH = r"^(?:search(?: for)?|look up|find (?:events?|my|the)|where is|where'?s|when is|when'?s)\b"
CREATE = (
    r"^(?:add|create|schedule|book|put|plan|set up|new (?:event|appointment|meeting)|"
    r"remind me (?:to|about)|pencil in|pop|i have|i've got|i got)\b"
)
SEPARATE = (
    r"\s*(?:,\s*(?:and\s+|then\s+)?|\s+and\s+(?:then\s+|also\s+)?|\s+then\s+|;\s*)"
    r"(?=(?:move|make|rename|push|shift|change|extend|shorten|set|postpone|delay|bring|"
    r"retitle|lengthen|call)\b)"
)


def parse(text: str, now: datetime, *, month_first: bool = False) -> Intent:
    """One user message -> what the user wants; `now` is aware, in the user's zone."""
    raw = " ".join(text.split())
    if not raw:
        return ask(f"Say what you'd like to do; {EXAMPLES}.")
    if len(raw) > MAX_CHARS:
        return ask(
            f"That message is {len(raw):,} characters long; I read one request of up to "
            f"{MAX_CHARS} characters, {EXAMPLES}."
        )
    raw = re.sub(LEAD, "", raw, flags=re.I) or raw
    t = when.lower(raw)
    if re.search(HELP, t):
        return Intent("help")
    if re.search(GREETING, t):
        return ask(f"Hello! I'm agentcal's offline model; try {EXAMPLES}, or type “help”.")
    if not re.search(r"[a-z]{2}", t):
        return ask(NOT_UNDERSTOOD)
    today = now.date()

    rule = habits.constraint(t)
    if rule is not None:
        return Intent("insight", insight=rule)
    m = re.search(r"^(?:when'?s|when is|what'?s|what is)\s+(?:my|the)\s+next\s+(.+?)\W*$", t)
    if m and m[1] not in ("event", "thing", "one", "appointment", "meeting"):
        return Intent("next", title=m[1], range_start=now, range_end=now + timedelta(days=366))
    if re.search(NEXT, t):
        return Intent("next", range_start=now, range_end=now + timedelta(days=60))
    if re.search(
        r"\b(?:no|don'?t (?:take|have|do|book|schedule)|never (?:take|have)) meetings\b", t
    ):
        return ask(
            "I can keep meeting-free times as “no meetings before 10” or “no meetings after "
            "5pm”; nothing was saved."
        )
    unprefixed = re.sub(FOLLOW, "", t, count=1)
    if re.search(
        r"[,;.]\s*(?:so\s+|please\s+)?(?:cancel|delete|move|reschedule|remove|drop)\b", unprefixed
    ):
        return ask(
            "Please ask for one change in one sentence, naming the event, e.g. “cancel the swim "
            "on Friday”; nothing was changed."
        )
    if re.search(FREE, t) and not re.search(SCHEDULE, t):
        return _free_intent(t, now)
    routine = re.search(habits.STATEMENT, t) and re.search(habits.REPEATS, t)
    if (
        re.search(SCHEDULE, t)
        and not routine
        and (when.find_duration(t)[0] or re.search(r"\b(slot|time for)\b", t))
    ):
        return _schedule_intent(raw, t, now)
    if re.search(LIST, t) and not re.search(CANCEL + "|" + EDIT, t):
        return _list_intent(t, now)
    if re.search(CANCEL, t):
        return _cancel_intent(raw, t, today)
    if re.search(FOLLOW, t) or re.search(EDIT, t):
        return _edit_intent(raw, t, now)
    refusal = habits.unsupported_repeat(t)
    if refusal:
        return ask(refusal)
    if habits.is_statement(t):
        body = habits.habit(raw)
        if body is not None:
            return Intent("insight", insight=body)
        return ask(
            "I understood something you do regularly, but not when; say for example "
            "“I go to the gym on weekdays at 7am”. Nothing was saved."
        )
    if re.search(SEARCH, t):
        query = re.sub(SEARCH, "", t, count=1)
        query = re.sub(
            r"\b(for|events?|about|with|my|the|me|calendar|matching|anything)\b", " ", query
        )
        query = " ".join(re.sub(r"[?!.]", " ", query).split())
        if query:
            return Intent("search", title=query)
    return _create_intent(raw, t, now, month_first)


# ------------------------------------------------------------------------------------------
# Creating an event
# ------------------------------------------------------------------------------------------
_LOCATION = (
    r"(?:^|\s)(?:at|@)\s+(?!\d)([^\0,;]+?)\s*(?=\0|,|;|$)|"
    r"(?:^|\s)in\s+((?:room|office|building|the\s+[A-Z]|(?:the\s+)?(?:[\w-]+\s+)?"
    r"(?:room|office|building|hall|studio|lab|library|kitchen|lobby)\b)[^\0,;]*?)\s*(?=\0|,|;|$)"
)


def _when_spans(
    raw: str, t: str, now: datetime, month_first: bool = False
) -> tuple[dict[str, Any], list[Span | None]] | Intent:
    """Date, time, range, duration, offset and day part of a request, and what they cover."""
    today = now.date()
    found: dict[str, Any] = {}
    spans: list[Span | None] = []
    offset, ospan = when.find_offset(t)
    if offset is not None:
        moment = (now + offset).replace(second=0, microsecond=0)
        found["day"], found["at"] = moment.date(), moment.time().replace(tzinfo=None)
        spans.append(ospan)
    hit = when.find_date(_blank(t, spans), today, month_first)
    if hit is not None:
        if hit.error:
            return ask(f"{_cap(hit.error)}; nothing was added. Which day did you mean?")
        found.setdefault("day", hit.day)
        spans.append(hit.span)
    rest = _blank(t, spans)
    duration, uspan = when.find_duration(rest)
    if duration is not None:
        found["duration"] = duration
        spans.append(uspan)
        rest = _blank(t, spans)
    part = _day_part(t, explicit=bool(when.find_range(rest, t) or when.find_time(rest, t)[0]))
    rng = when.find_range(rest, t)
    if rng is not None and "at" not in found:
        found["at"], found["end_at"] = rng[0], rng[1]
        spans.append(rng[2])
    elif "at" not in found:
        at, tspan = when.find_time(rest, t)
        if at is not None:
            found["at"] = at
            spans.append(tspan)
    if part is not None:
        found["part"] = part[1]
        spans.append(part.span())
        if "at" not in found:
            found["at"] = PARTS_OF_DAY[part[1]][2]
        if part[1] == "tonight":
            found.setdefault("day", today)
    return found, spans


_PART_LEAD = r"(?:in the|this|tomorrow|tmrw|today|tonight|on|" + "|".join(when.WEEKDAYS) + r")\s+$"


def _day_part(t: str, explicit: bool) -> re.Match[str] | None:
    """'tomorrow morning', 'in the evening', 'tonight'; not the 'night' of 'date night'."""
    for m in re.finditer(r"\b(?:in the\s+|this\s+)?(morning|afternoon|evening|tonight|night)\b", t):
        if (
            m[1] == "tonight"
            or re.search(_PART_LEAD, t[: m.start()])
            or m[0].startswith(("in the", "this"))
        ):
            return m
        if not explicit and m[1] != "night" and not re.search(r"\w\s+$", t[: m.start()]):
            return m
    return None


def _create_intent(raw: str, t: str, now: datetime, month_first: bool) -> Intent:
    verb = re.match(CREATE, t)
    got = _when_spans(raw, t, now, month_first)
    if isinstance(got, Intent):
        return got
    found, spans = got
    if not verb and not found.get("day") and not found.get("at"):
        return ask(NOT_UNDERSTOOD)
    quoted = re.search(r"[\"“]([^\"”]{1,200})[\"”]", raw)
    rest = _blank(raw, [*spans, (0, verb.end()) if verb else None])
    location = None
    if quoted:
        title = quoted[1].strip()
        rest = rest.replace(quoted[0], "\0")
    loc = re.search(_LOCATION, rest)
    if loc:
        location = (loc[1] or loc[2]).strip(" \0")
        location = re.sub(r"\s+(?:on|at|for|from|in|by|this|next)$", "", location)
        rest = rest[: loc.start()] + "\0" + rest[loc.end() :]
    if not quoted:
        title = tidy_title(rest.replace("\0", " "))
        if re.search(
            r"\b(?:and|then)\s+(?:move|rename|make|push|change|cancel|delete)\s+(?:it|that)\b|"
            r"\binstead\b|\brather than\b",
            title,
            re.I,
        ):
            return ask(NOT_UNDERSTOOD)
    if not title or not re.search(r"\w", title):
        if verb and not found:
            return ask(f"What should I add, and when? {_cap(EXAMPLES)}.")
        title = "Event" if found.get("at") else ""
    if not title:
        return ask(NOT_UNDERSTOOD)
    day = found.get("day") or now.date()
    if (
        found.get("at") is None
        and found.get("duration")
        and verb
        and re.match(r"(schedule|book|plan|block)", verb[0])
    ):
        return _schedule_intent(raw, t, now)  # "schedule 1 hour for gym tomorrow": find the time
    if found.get("at") is None:
        return ask(
            f"At what time should I put “{title}” on {day:%a %d %b}? "
            f"For example: “{title} {day:%a} at 10am”."
        )
    return Intent(
        "create", title=title, location=location or None, day=day, at=found["at"],
        duration=found.get("duration"), end_at=found.get("end_at"),
    )  # fmt: skip


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
    return _cap(words[:200])


# ------------------------------------------------------------------------------------------
# Reading the calendar
# ------------------------------------------------------------------------------------------
def _midnight(day: date, tz: Any) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _list_intent(t: str, now: datetime) -> Intent:
    tz, today = now.tzinfo, now.date()
    m = re.search(r"\bnext (" + when.NUM + r"|few|couple(?: of)?) (days?|weeks?)\b", t)
    if m:
        n = {"few": 3, "couple": 2, "couple of": 2}.get(m[1]) or int(when.num(m[1]))
        days = n * (7 if m[2].startswith("w") else 1)
        return _list(_midnight(today, tz), days)
    if re.search(r"\bweekend\b", t):
        saturday = today + timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:
            saturday = today - timedelta(days=1)
        start = max(_midnight(saturday, tz), _midnight(today, tz))
        return Intent(
            "list", range_start=start, range_end=_midnight(saturday + timedelta(days=2), tz)
        )
    if re.search(r"\bnext week\b", t):
        monday = today + timedelta(days=7 - today.weekday())
        return _list(_midnight(monday, tz), 7)
    if re.search(r"\b(this week|my week|the week|rest of the week|week)\b", t):
        return _list(_midnight(today, tz), 7 - today.weekday())
    if re.search(r"\b(this month|the month)\b", t):
        first = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
        return _list(_midnight(today, tz), (first - today).days)
    hit = when.find_date(t, today)
    if hit is not None and hit.error:
        return ask(f"{_cap(hit.error)}. Which day did you mean?")
    day = hit.day if hit is not None and hit.day else today
    return _list(_midnight(day, tz), 1)


def _list(start: datetime, days: int) -> Intent:
    end = _midnight(start.date() + timedelta(days=days), start.tzinfo)
    return Intent("list", range_start=start, range_end=end)


WORKDAY = (time(8), time(18))


def _free_intent(t: str, now: datetime) -> Intent:
    """'am I free tuesday afternoon?' -> the window to look at; 'when am I free' -> a day."""
    tz, today = now.tzinfo, now.date()
    hit = when.find_date(t, today)
    if hit is not None and hit.error:
        return ask(f"{_cap(hit.error)}. Which day did you mean?")
    day = hit.day if hit is not None and hit.day else today
    rest = _blank(t, [hit.span] if hit else [])
    duration, _ = when.find_duration(rest)
    rng = when.find_range(rest)
    at, _ = when.find_time(rest)
    part = re.search(r"\b(morning|afternoon|evening|tonight|night)\b", t)
    if rng is not None:
        lo, hi = rng[0], rng[1]
    elif at is not None:
        lo = at
        hi = (datetime.combine(day, at) + timedelta(minutes=duration or 60)).time()
        if hi <= lo:
            hi = time(23, 59)
    elif part is not None:
        lo, hi, _usual = PARTS_OF_DAY[part[1]]
    else:  # the whole day: list it all, answer with the free time of the working day
        return Intent(
            "free", day=day, range_start=_midnight(day, tz),
            range_end=_midnight(day + timedelta(days=1), tz), duration=duration,
        )  # fmt: skip
    return Intent(
        "free", day=day, at=lo, end_at=hi, duration=duration,
        range_start=datetime.combine(day, lo, tzinfo=tz),
        range_end=datetime.combine(day, hi, tzinfo=tz),
    )  # fmt: skip


# ------------------------------------------------------------------------------------------
# Booking free time
# ------------------------------------------------------------------------------------------
def _schedule_intent(raw: str, t: str, now: datetime) -> Intent:
    tz, today = now.tzinfo, now.date()
    duration, uspan = when.find_duration(t)
    hit = when.find_date(t, today)
    if hit is not None and hit.error:
        return ask(f"{_cap(hit.error)}; nothing was booked.")
    day = hit.day if hit is not None else None
    rest = _blank(t, [uspan, hit.span if hit else None])
    rng = when.find_range(rest)
    part = re.search(
        r"\b(?:in the\s+|this\s+|on\s+\w+\s+)?(morning|afternoon|evening|tonight)\b", t
    )
    if rng is not None:
        lo, hi = rng[0], rng[1]
    elif part is not None:
        lo, hi, _usual = PARTS_OF_DAY[part[1]]
        if part[1] == "tonight":
            day = day or today
    else:
        lo, hi = time(9), WORKDAY[1]
    if re.search(r"\b(this (?:morning|afternoon|evening)|today|tonight)\b", t):
        day = today
    if day is None:
        day = today if now.time() < hi else today + timedelta(days=1)
    window_start = max(datetime.combine(day, lo, tzinfo=tz), now.replace(second=0, microsecond=0))
    window_end = datetime.combine(day, hi, tzinfo=tz)
    if window_end <= window_start:
        return ask(f"That time has already passed ({day:%a %d %b}); nothing was booked.")
    cut = _blank(
        raw,
        [uspan, hit.span if hit else None, rng[2] if rng else None, part.span() if part else None],
    )
    cut = re.sub(SCHEDULE, " ", cut.replace("\0", " "), count=1, flags=re.I)
    cut = re.sub(r"\b(?:me|some|free|spare|a|an|slot|time|of)\b", " ", cut, flags=re.I)
    m = re.search(r"\b(?:for|to)\s+(\S.*)", cut, flags=re.I)
    who = re.search(r"\bwith\s+(\S.*)", cut, flags=re.I)
    if m:
        title = tidy_title(m[1])
    elif who:
        title = "Meeting with " + tidy_title(who[1])
    else:
        title = tidy_title(cut.replace("\0", " "))
    return Intent(
        "schedule", title=title or "Busy", duration=duration or 30, day=day,
        range_start=window_start, range_end=window_end,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------
# Changing or cancelling an event
# ------------------------------------------------------------------------------------------
_TARGET_STOP = {"my", "the", "our", "a", "an", "on", "at", "in", "for", "of", "to", "from", "one"}
PRONOUNS = {"it", "that", "this", "one", "this one", "that one", "the event", "that event", "them"}


def target_of(text: str, today: date) -> Target:
    """An event described by title words, a day, a time or 'it'."""
    t = when.lower(" ".join(text.split())).strip(" ,.?!")
    m = re.search(r"(?:#|\bevent\s+#?\s*|\bid\s+)(\d+)\b", t)
    if m:
        return Target(event_id=int(m[1]), text=text)
    spans: list[Span | None] = []
    hit = when.find_date(t, today)
    day = hit.day if hit is not None else None
    if hit is not None:
        spans.append(hit.span)
    rest = _blank(t, spans)
    at, tspan = when.find_time(rest, t)
    if at is None:
        m = re.search(
            r"\b(\d{1,2})(?::(\d{2}))?\b(?!:\d|\s*(?:min|hour|h\b|day|week|st|nd|rd|th))", rest
        )
        if m and re.search(r"\b(?:my|the|at)\s+$", rest[: m.start()]):
            at, tspan = when.bare_hour(int(m[1]), int(m[2] or 0), t), m.span()
    spans.append(tspan)
    rest = _blank(t, spans)
    part = re.search(r"\b(morning|afternoon|evening|tonight)\b", rest)
    window = None
    if part is not None:
        window = PARTS_OF_DAY[part[1]][:2]
        rest = _blank(rest, [part.span()])
    rest = re.sub(r"'s\b|\b(?:back|forward|ahead|later|earlier)\b", " ", rest.replace("\0", " "))
    words = " ".join(re.sub(r"[^\w\s:'&/-]", " ", rest).split())
    words = re.sub(r"^(?:(?:my|the|our|a|an|all|on|at|in|for)\s+)+", "", words)
    words = re.sub(r"\s+(?:on|at|in|for|from|today|tomorrow)$", "", words)
    if words and all(w in _TARGET_STOP for w in words.split()):
        words = ""
    if words and (day or at or window) and all(w in GENERIC | _TARGET_STOP for w in words.split()):
        words = ""  # "my appointment on wednesday morning": the day and time say which
    if words in PRONOUNS or (not words and not (day or at or window)):
        return Target(pronoun=words in PRONOUNS, day=day, at=at, part=window, text=text)
    return Target(words=words or None, day=day, at=at, part=window, text=text)


def _cancel_intent(raw: str, t: str, today: date) -> Intent:
    rest = re.sub(CANCEL, "", t, count=1).strip()
    if re.fullmatch(r"(?:all|everything|every event|all (?:my )?events|the lot)\W*", rest):
        return ask("I cancel one event at a time; name it (for example “cancel the dentist”).")
    target = target_of(rest, today)
    if target.empty:
        return ask("Which event should I cancel? Give its title, its day or time, or its id.")
    return Intent("cancel", target=target)


def _when_change(text: str, context: str, today: date) -> Change | Intent:
    """'to tuesday at 9', '5pm', 'the 4th at 2pm', 'noon' -> a new day and/or time."""
    t = text.strip(" ,.?!")
    change = Change()
    hit = when.find_date(t, today)
    if hit is not None:
        if hit.error:
            return ask(f"{_cap(hit.error)}; nothing was changed.")
        change.day = hit.day
        t = _blank(t, [hit.span])
    clock = when.parse_clock(t.replace("\0", " ").strip(), context)
    if clock is None:
        rng = when.find_range(t, context)
        if rng is not None:
            clock, change.duration = rng[0], when.minutes_between(rng[0], rng[1])
        else:
            clock, _ = when.find_time(t, context)
    if clock is None:
        part = re.search(r"\b(morning|afternoon|evening|tonight)\b", t)
        if part is not None:
            clock = PARTS_OF_DAY[part[1]][2]
    change.at = clock
    return change


def _edit_intent(raw: str, t: str, now: datetime) -> Intent:
    today = now.date()
    lead = re.match(FOLLOW, t)
    if lead:
        raw, t = raw[lead.end() :], t[lead.end() :]
        if not re.search(EDIT, t) and not re.search(CANCEL, t):
            if re.fullmatch(r"(?:it'?s|make it|at|on)?\s*", t):
                return ask(NOT_UNDERSTOOD)
            change = _when_change(re.sub(r"^(?:it'?s|at|on|to)\s+", "", t), t, today)
            if isinstance(change, Intent):
                return change
            if change.empty:
                return ask(NOT_UNDERSTOOD)
            return Intent("edit", target=Target(pronoun=True, text="it"), change=change)
        if re.search(CANCEL, t):
            return _cancel_intent(raw, t, today)
    bounds = [0]
    for m in re.finditer(SEPARATE, t):
        bounds += [m.start(), m.end()]
    bounds.append(len(t))
    target: Target | None = None
    change = Change()
    for i in range(0, len(bounds), 2):
        clause_raw, clause = raw[bounds[i] : bounds[i + 1]], t[bounds[i] : bounds[i + 1]]
        got = _edit_clause(clause_raw.strip(), clause.strip(), today)
        if isinstance(got, Intent):
            return got
        clause_target, clause_change = got
        if target is None or (
            target.pronoun and not clause_target.pronoun and not clause_target.empty
        ):
            target = clause_target
        change.merge(clause_change)
    assert target is not None
    if target.empty:
        target.pronoun = True
    if change.empty:
        what = f"“{target.text}”" if target.text and not target.pronoun else "it"
        return ask(
            f"What should I change about {what}? For example “move it to 4pm”, "
            "“make it 30 minutes longer” or “rename it to …”. Nothing was changed."
        )
    return Intent("edit", target=target, change=change)


def _edit_clause(raw: str, t: str, today: date) -> tuple[Target, Change] | Intent:
    verb_m = re.match(r"(\w+)(?:\s+(?:forward|back|out|up))?\s*", t)
    assert verb_m is not None
    verb = verb_m[1]
    rest_raw, rest = raw[verb_m.end() :], t[verb_m.end() :]
    change = Change()
    if verb in ("rename", "retitle", "call") or re.match(r"(?:the\s+)?(?:title|name) of\b", rest):
        rest_t = re.sub(r"^(?:the\s+)?(?:title|name) of\s+", "", rest)
        offset = len(rest) - len(rest_t)
        m = re.search(r"^(.*?)\s+(?:to|as|into)\s+(.+)$", rest_t)
        if not m:
            return ask("What should the new title be? Say “rename … to …”. Nothing was changed.")
        change.title = tidy_title(rest_raw[offset + m.start(2) : offset + m.end(2)])
        return target_of(m[1], today), change
    m = re.search(
        r"^(.*?)\s*(?:'s\s+)?\b(?:location|place|venue|address)\s+(?:of\s+(.*?)\s+)?to\s+(.+)$",
        rest,
    )
    if m and verb in ("change", "set", "update", "move"):
        change.location = rest_raw[m.start(3) : m.end(3)].strip(" .")
        return target_of(m[2] or m[1], today), change
    if verb in ("make", "extend", "shorten", "lengthen", "cut", "set", "change"):
        duration, dspan = when.find_duration(rest)
        if duration is not None:
            before = rest[: dspan[0]] if dspan else rest
            after = rest[dspan[1] :] if dspan else ""
            longer = re.search(r"\b(longer|more)\b", after) or (
                verb in ("extend", "lengthen") and re.search(r"\bby\s*$", before)
            )
            shorter = re.search(r"\b(shorter|less)\b", after) or (
                verb in ("shorten", "cut") and re.search(r"\bby\s*$", before)
            )
            if longer:
                change.delta = duration
            elif shorter:
                change.delta = -duration
            else:
                change.duration = duration
            target_text = re.sub(
                r"\b(?:to|by|be|last|for|long|longer|shorter)\s*$", "", before.strip()
            )
            target_text = re.sub(r",\s*$", "", re.sub(r"\s+(?:shorter|longer)\b", "", target_text))
            return target_of(target_text, today), change
        if re.search(r"\b(longer|shorter)\b", rest):
            return ask(
                "How much longer or shorter? For example “make it 30 minutes longer”. Nothing was changed."
            )
        m = re.match(r"^(it|that|this|this one|that one)\s+(.+)$", rest)
        if verb == "make" and m:
            got = _when_change(m[2], rest, today)
            if isinstance(got, Intent):
                return got
            return Target(pronoun=True, text="it"), got
    m = re.match(r"(?:the\s+)?(?:time|date|day|start|start time|timing) of\s+", rest)
    if m:
        rest, rest_raw = rest[m.end() :], rest_raw[m.end() :]
    shift, sspan = when.find_shift(rest)
    if shift is not None and sspan is not None:
        change.shift = shift
        target_text = rest[: sspan[0]] + " " + rest[sspan[1] :]
        return target_of(target_text, today), change
    padded = " " + rest + " "
    seps = list(re.finditer(r"\s(?:to|until|till)\s", padded)) or list(
        re.finditer(r"\s(?:for|at|on)\s", padded)
    )
    for m in seps:
        a = max(0, m.start() - 1)
        right = rest[m.end() - 1 :] if m.end() - 1 <= len(rest) else ""
        if not right.strip():
            continue
        got = _when_change(right, rest, today)
        if isinstance(got, Intent):
            return got
        if got.day is not None or got.at is not None:
            return target_of(rest[:a], today), got
    got = _when_change(rest, rest, today)
    if isinstance(got, Intent):
        return got
    return target_of(rest, today), Change()
