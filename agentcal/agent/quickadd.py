"""The offline model's understanding of a request: one message -> an `Intent`.

Deliberately deterministic, in the spirit of Google Calendar's quick-add. This module decides
what kind of request a message is and hands it to the parser of that kind:

* `parse_create`: a new event (its day, time, length, title and place);
* `parse_read`: what is on the calendar, what is next, whether the user is free;
* `parse_book`: booking free time ("block 90 minutes for writing tomorrow morning");
* `parse_change`: changing or cancelling an event named by description or by "it";
* `habits`: a routine, a recurring event or a rule, remembered as an insight;
* `parse_stop`: a routine the user ended or wants stopped, and questions about their habits.

Dates, times and durations come from `when`. Whatever it cannot read with confidence becomes
an `ask` intent: a one-line answer that says what was understood, and nothing is written.

The user's zone is an input (`now` is aware, in the user's zone); nothing here reads settings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from agentcal.agent import habits, parse_stop, when
from agentcal.agent.intents import EXAMPLES, MAX_CHARS, NOT_UNDERSTOOD, Intent, ask
from agentcal.agent.parse_book import SCHEDULE, schedule_intent
from agentcal.agent.parse_change import CANCEL, EDIT, FOLLOW, cancel_intent, edit_intent
from agentcal.agent.parse_create import create_intent
from agentcal.agent.parse_read import free_intent, list_intent


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
        "search": "a search", "stop": "a request to stop a habit",
        "habits": "a question about your habits",
    }.get(intent.kind, "not an event")  # fmt: skip
    raise ValidationError(f"that reads as {what}; `events add` only adds one event ({EXAMPLES})")


def local_now(tz: str, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(ZoneInfo(tz))


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
SEARCH = r"^(?:search(?: for)?|look up|find (?:events?|my|the)|where is|where'?s|when is|when'?s)\b"


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
    if parse_stop.is_listing(t):
        return Intent("habits")
    stop = parse_stop.stop_intent(t, today)
    if stop is not None:  # a habit the user ended is never recorded as one
        return stop
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
        return free_intent(t, now)
    routine = re.search(habits.STATEMENT, t) and re.search(habits.REPEATS, t)
    if (
        re.search(SCHEDULE, t)
        and not routine
        and (when.find_duration(t)[0] or re.search(r"\b(slot|time for)\b", t))
    ):
        return schedule_intent(raw, t, now)
    if re.search(LIST, t) and not re.search(CANCEL + "|" + EDIT, t):
        return list_intent(t, now)
    if re.search(CANCEL, t):
        return cancel_intent(raw, t, today)
    if re.search(FOLLOW, t) or re.search(EDIT, t):
        return edit_intent(raw, t, now)
    refusal = habits.unsupported_repeat(t)
    if refusal:
        return ask(refusal)
    if habits.is_statement(t):
        body = habits.habit(raw, today)
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
    return create_intent(raw, t, now, month_first)
