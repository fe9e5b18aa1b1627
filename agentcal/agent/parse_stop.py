"""Habits the user ends or asks about: "I don't go to the gym anymore", "I stopped swimming",
"no more gym", "stop the gym habit", "cancel my gym routine" become a `stop` intent (turn the
habit off, never record it); "what do you know about me?", "show my habits" a `habits` one.

A negated routine is never a habit to record. One that names a day or a time ("I don't swim
on Fridays anymore") asks instead: stopping only some days is not something chat can do.
"""

from __future__ import annotations

import re
from datetime import date

from agentcal.agent import habits, when
from agentcal.agent.intents import Intent, ask
from agentcal.agent.parse_change import CANCEL

# A routine the user says is over.
ENDED = (
    r"\b(?:any ?more|no longer|not any ?more)\b|"
    r"^(?:i|we)(?:'ve|\s+have)?\s+(?:just\s+|finally\s+|already\s+)?"
    r"(?:stopped|quit|gave up|given up|dropped|ditched)\b|"
    r"^(?:i'?m|i am|we'?re|we are)\s+(?:done with|finished with|through with|quitting|"
    r"giving up|stopping|dropping)\b|"
    r"^no more\b(?!\s+than\b)"
)
# A request to stop a habit: "stop", "pause" ... or a cancellation that says it is the habit.
STOP_VERB = r"^(?:stop|pause|end|quit|turn off|switch off|disable|unschedule)\b"
HABIT_WORDS = (
    r"\b(?:habits?|routines?|recurring|regular|series|every\s+(?:day|morning|evening|night|"
    r"week|weekday)s?|(?:every|each|all)\s+(?:(?:my|the|of my|of the)\s+)?\w+\s+sessions?)\b"
)
KNOWN = (
    r"\bwhat (?:do|did) you (?:know|remember|learn(?:ed|t)?|have) (?:about|on) me\b|"
    r"\bwhat (?:have|did) (?:you|i) (?:learn(?:ed|t)?|told you)\b|"
    r"^(?:show|list|see|view|display)\s+(?:me\s+)?(?:all\s+)?(?:my|the)\s+(?:habits|routines|"
    r"recurring (?:blocks|events)|preferences|insights)\b|"
    r"^(?:what|which) (?:are )?(?:my )?(?:habits|routines)\b|"
    r"^(?:what|which) (?:habits|routines) (?:do i have|have i got|are there)\b|"
    r"^(?:my )?(?:habits|routines)\W*$"
)
# What opens a sentence about a routine, before the activity ("I don't go to the", "no more").
_LEAD = (
    r"^(?:(?:i|we|i'?m|i am|we'?re|we are|i'?ve|we'?ve|i have|we have)\s+)?"
    r"(?:(?:don'?t|do not|no longer|not|never|just|finally|have|had|ve|really|actually)\s+)*"
    r"(?:(?:stopped|quit|gave up|given up|dropped|ditched|done with|finished with|through with|"
    r"quitting|giving up|stopping|dropping|stop|pause|end|turn off|switch off|disable|"
    r"unschedule|cancel|delete|remove|drop|clear|scrap|no more|go(?:ing)? to|go(?:ing)?|"
    r"do(?:ing)?|have|having|take|taking|attend(?:ing)?|play(?:ing)?|want|need)\s+)*"
)
_NOISE = (
    r"\b(?:any ?more|no longer|not|my|the|our|a|an|in|on|at|please|for now|from now on|at all|"
    r"scheduling|booking|adding|putting|planning|those|these|that|this|them|it)\b"
)


def is_listing(t: str) -> bool:
    """ "what do you know about me?", "show my habits"."""
    return bool(re.search(KNOWN, t)) and not re.search(STOP_VERB + "|" + CANCEL, t)


def _what(t: str) -> str:
    """The habit a sentence names, in its own words ("morning gym", "book club"); an activity
    said alone by its name ("I no longer meditate") as the habit's title or type."""
    rest = re.sub(_LEAD, "", t, count=1)
    rest = re.sub(
        r"\b(?:habits?|routines?|recurring|regular|series|sessions?|every|each|all)\b", " ", rest
    )
    own = re.sub(_NOISE, " ", rest)
    own = " ".join(re.sub(r"[?!.,;:]", " ", own).split())
    found = habits.find_activity(t)
    if found is None:
        return own
    keywords, ptype, _category, _minutes, _time, title = found
    beyond = own
    for k in keywords:
        beyond = re.sub(r"\b" + re.escape(k.strip()[:5]) + r"\w*(?:\s+out)?", " ", beyond)
    if own and beyond.split():
        return own
    if title:
        return title.lower()
    if ptype == "meal":
        return next((k for k in keywords if k in t), ptype)
    return ptype


def stop_intent(t: str, today: date) -> Intent | None:
    """A stop intent (or the question it needs) if the message ends a habit, else None."""
    ended = re.search(ENDED, t)
    verb = re.search(STOP_VERB, t)
    cancel_habit = re.search(CANCEL, t) and re.search(HABIT_WORDS, t)
    if not (ended or verb or cancel_habit):
        return None
    day = when.find_date(t, today)
    days, _ = when.find_days(t)
    at, _ = when.find_time(t)
    if day is not None or at is not None:
        if ended and not (verb or re.search(CANCEL, t)):
            return ask(
                "I can only stop a whole habit in chat, not one day or time of it: say for "
                "example “stop the gym habit”, or change its days with `agentcal prefs edit`. "
                "Nothing was changed."
            )
        return None  # "stop the 3pm meeting", "cancel every meeting tomorrow": one event
    if days is not None and ended:
        return ask(
            "I can only stop a whole habit in chat, not some of its days: say for example "
            "“stop the gym habit”, or change its days with `agentcal prefs edit`. Nothing was "
            "changed."
        )
    what = _what(t)
    if not what or what in ("it", "that", "this"):
        return ask(
            "Which habit should I stop? Say for example “stop the gym habit”, or “show my "
            "habits” to see them. Nothing was changed."
        )
    return Intent("stop", title=what)
