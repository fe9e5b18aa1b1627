"""Habits, constraints and recurring events -> the seed's insight body.

"I swim on Mondays and Thursdays at 7am" is a habit (a gym block); "team standup every weekday
at 9:30" is a recurring event (preference type `event`, with its title); "no meetings before
10" is a constraint. Repetition is on fixed days of the week, every week or every N weeks
("every other Wednesday", "book club every second Thursday", "fortnightly"; counted from its
next occurrence); anything else ("every first Thursday", "monthly", "every other day") is
refused with an explanation, never stored as something else.
"""

from __future__ import annotations

import re
from datetime import date, time
from typing import Any

from agentcal.agent import when
from agentcal.validation import MAX_INTERVAL_WEEKS

# (words, preference type, category, default minutes, default time, title or None)
ACTIVITIES: list[tuple[tuple[str, ...], str, str, int, str, str | None]] = [
    (("deep work", "focus"), "focus", "work", 120, "09:00", None),
    (("meditat", "mindfulness"), "meditation", "health", 20, "07:00", None),
    (("yoga",), "meditation", "health", 45, "07:00", "Yoga"),
    (("stretch",), "meditation", "health", 15, "07:00", "Stretching"),
    (("sleep", "go to bed", "bedtime", "in bed", "to bed"), "sleep", "health", 480, "23:00", None),
    (("breakfast",), "meal", "personal", 30, "08:00", None),
    (("brunch",), "meal", "personal", 60, "11:00", None),
    (("lunch",), "meal", "personal", 60, "12:30", None),
    (("dinner", "supper"), "meal", "personal", 60, "19:30", None),
    (("swim",), "gym", "health", 60, "07:00", "Swim"),
    (("cycle", "cycling", "bike", "biking"), "gym", "health", 60, "07:00", "Cycling"),
    (("jog", "run ", "runs ", "running", "a run"), "gym", "health", 60, "07:00", "Run"),
    (("tennis",), "gym", "health", 60, "18:00", "Tennis"),
    (("football", "soccer"), "gym", "health", 90, "18:00", "Football"),
    (("lift", "weights"), "gym", "health", 60, "07:00", "Weights"),
    (("climb",), "gym", "health", 90, "18:00", "Climbing"),
    (("gym", "work out", "workout", "exercise", "training"), "gym", "health", 60, "07:00", None),
    (("walk",), "break", "health", 20, "12:30", "Walk"),
    (("break",), "break", "health", 15, "15:00", None),
]  # fmt: skip

_NTH = r"(?:first|second|third|fourth|last|1st|2nd|3rd|4th)"
UNSUPPORTED_REPEAT = (
    r"\b" + _NTH + r"\s+\w+\s+(?:of|in)\s+(?:the|each|every|a)\s+month\b|"
    r"\bof\s+(?:the|each|every)\s+month\b|"
    r"\bevery\s+(?:other|second|third|2nd|3rd|\d+|two|three|few)\s+days?\b|"
    r"\bevery\s+(?:first|last|1st|few)\b|"
    r"\b(?:bi-?monthly|monthly|every month|once a month|twice a month|every year|yearly|"
    r"annually|every quarter|quarterly|(?:\d+|two|three|four|five|six) times (?:a|per) week)\b"
)
REPEATS = (
    r"\b(every|each|daily|nightly|weekly|weekdays?|weekends?|weeknights?|workdays?|mornings|"
    r"evenings|nights|mondays|tuesdays|wednesdays|thursdays|fridays|saturdays|sundays|"
    r"usually|always|normally|typically|recurring|bi-?weekly|fortnightly|fortnight)\b"
)
GUESSED = 0.6  # below the default AGENTCAL_AUTO_SCHEDULE_THRESHOLD (0.7)
STATEMENT = r"^(?:i|i'm|i am|i've|i'd|my|we|our)\b"


def unsupported_repeat(t: str) -> str | None:
    """The one-line refusal for a repetition the calendar cannot keep, or None."""
    m = re.search(UNSUPPORTED_REPEAT, t)
    if m:
        return (
            f"I can repeat things every week or every few weeks on fixed days, not “{m[0]}”; "
            "nothing was saved. Say for example “every other Wednesday at 6pm”."
        )
    every, span = when.find_interval(t)
    if span is not None and not 1 <= every <= MAX_INTERVAL_WEEKS:
        return (
            f"I can repeat things every 1 to {MAX_INTERVAL_WEEKS} weeks, not “{t[span[0] : span[1]]}”; "
            "nothing was saved."
        )
    if every > 1 and when.find_days(t)[0] is None:
        return (
            f"On which day of the week, every {every} weeks? Say for example “every other "
            "Friday at 3pm”; nothing was saved."
        )
    return None


def constraint(t: str) -> dict[str, Any] | None:
    """'no meetings before 10', "I don't take meetings after 5pm"."""
    m = re.search(
        r"\b(no|don'?t|do not|never|avoid|without)\b.*\bmeetings?\b.*\b(before|after|until)\b", t
    )
    if not m:
        return None
    rest = t[m.end(2) :]
    at, _ = when.find_time(rest)
    if at is None:
        clock = re.match(r"\s*(\d{1,2})(?::(\d{2}))?\b", rest)
        if clock is None:
            return None
        hour = int(clock[1])
        at = time(hour if hour >= 7 or m[2] != "after" else hour + 12, int(clock[2] or 0))
    direction = "after" if m[2] == "after" else "before"
    return {
        "insight_type": "constraint", "category": "meetings",
        "key": f"no_meetings_{direction}", "value": {"time": at.strftime("%H:%M")},
        "confidence": 0.9, "preference_type": "none",
    }  # fmt: skip


# "after lunch", "before work", "after I wake up": when something happens, not what it is.
ANCHOR = (
    r"\b(?:right\s+|just\s+)?(?:after|before|during|following)\s+"
    r"(?:(?!(?:at|on|every|each|for|from|and|around|about|in|until|till)\b)[a-z']+\s*){1,4}"
)


def without_anchors(text: str) -> str:
    """The text with its time anchors blanked (same length): "a walk after lunch" is a walk."""
    return re.sub(ANCHOR, lambda m: " " * len(m[0]), text, flags=re.I)


def find_activity(t: str) -> tuple[tuple[str, ...], str, str, int, str, str | None] | None:
    """The activity the sentence is about; an activity named only as an anchor does not count."""
    padded = f" {without_anchors(t)} "
    for entry in ACTIVITIES:
        if any(re.search(r"\b" + re.escape(k), padded) for k in entry[0]):
            return entry
    return None


def _slug(text: str) -> str:
    """A key the insight tool accepts: snake_case starting with a letter."""
    slug = "_".join(re.findall(r"[a-z0-9]+", text.lower()))[:60]
    return slug if slug[:1].isalpha() else f"event_{slug}".rstrip("_")


def is_statement(t: str) -> bool:
    """A sentence about the user's routine rather than a request for one event."""
    if re.search(r"\b(today|tonight|tomorrow|tmrw|next week|this week)\b", t):
        return False
    if re.search(r"\b(move|reschedule|cancel|delete|push|postpone|rename|shift|instead)\b", t):
        return False  # a change to an event, not a routine
    if re.search(STATEMENT, t):
        return bool(re.search(REPEATS, t) or find_activity(t)) and not re.search(
            r"^i (?:need|have to|must|want to (?:add|book|schedule))\b", t
        )
    if re.search(r"^(?:lunch|dinner|breakfast|bedtime|brunch)\s+(?:is|'s)\b", t):
        return True
    return bool(re.search(REPEATS, t)) and not re.search(r"\b(what|when|am i|show)\b", t)


def habit(raw: str, today: date) -> dict[str, Any] | None:
    """A habit or a recurring event -> the insight body; None if it names no time or kind.
    `today` (the user's) is where a repetition every N weeks starts counting."""
    t = when.lower(raw)
    activity = find_activity(t)
    start, duration = _time_and_length(t, activity)
    days, _ = when.find_days(t)
    repeat = _repeat(t, days, today)
    hedged = bool(re.search(r"\b(usually|mostly|often|try|sometimes|normally|typically)\b", t))
    named = _title_words(raw)
    if activity is not None and (re.search(STATEMENT, t) or not _beyond(named, activity[0])):
        _words, ptype, category, default_minutes, default_time, title = activity
        part = re.search(r"\b(morning|afternoon|evening)s?\b", t)
        guessed = start is None and part is None
        if start is None:
            start = (
                when.PARTS_OF_DAY[part[1]][2]
                if part and ptype in ("gym", "focus", "meditation", "break")
                else time.fromisoformat(default_time)
            )
            if part and ptype == "focus" and part[1] == "morning":
                start = time(9)
        value: dict[str, Any] = {
            "time": start.strftime("%H:%M"),
            "duration_minutes": duration or default_minutes,
        }
        if days:
            value["days"] = days
        value.update(repeat)
        key = f"{_slug(title)}_time" if title else _key_for(ptype, t)
        if title:
            value["title"] = title
        wants = re.search(r"\b(want|would like|need|plan|try to|trying to|aim|goal)\b", t)
        prefers = re.search(r"\b(prefer|like to|rather)\b", t)
        return {
            "insight_type": "goal" if wants else "preference" if prefers else "habit",
            "category": category, "key": key, "value": value,
            # A time we chose is a suggestion (below the auto-schedule threshold), not a block.
            "confidence": GUESSED if guessed else 0.7 if hedged else 0.9,
            "preference_type": ptype,
        }  # fmt: skip
    title = named
    if start is None or not title:
        return None
    value = {"time": start.strftime("%H:%M"), "duration_minutes": duration or 60, "title": title}
    if days:
        value["days"] = days
    value.update(repeat)
    if activity is not None:  # "team lunch every friday": a meal with its own title
        ptype, category = activity[1], activity[2]
    else:
        ptype, category = "event", "schedule"
    return {
        "insight_type": "habit", "category": category, "key": f"{_slug(title)}_{ptype}",
        "value": value, "confidence": 0.7 if hedged else 0.9, "preference_type": ptype,
    }  # fmt: skip


def _repeat(t: str, days: list[int] | None, today: date) -> dict[str, Any]:
    """{} every week; else the interval and its first day (the next of its days from today)."""
    every, _span = when.find_interval(t)
    if every <= 1:
        return {}
    from agentcal.planning.recurrence import next_day_on

    return {"interval_weeks": every, "anchor_date": next_day_on(days, today).isoformat()}


def _beyond(title: str, keywords: tuple[str, ...]) -> bool:
    """Does a title say more than the activity's own words ('Team lunch' vs 'Lunch')?"""
    rest = when.lower(title)
    for k in keywords:
        rest = re.sub(r"\b" + re.escape(k.strip()) + r"\w*", " ", rest)
    rest = re.sub(r"\b(session|sessions|class|classes|time|the|my|a|go|to|do|have)\b", " ", rest)
    return bool(rest.split())


def _key_for(ptype: str, t: str) -> str:
    if ptype == "meal":
        for word in ("breakfast", "brunch", "lunch", "dinner"):
            if word in t:
                return f"{word}_time"
        return "dinner_time" if "supper" in t else "meal_time"
    return {"gym": "gym_time", "sleep": "sleep_time", "focus": "focus_time",
            "meditation": "meditation_time", "break": "break_time"}[ptype]  # fmt: skip


def _time_and_length(t: str, activity: tuple[Any, ...] | None) -> tuple[time | None, int | None]:
    context = t + (" bed" if activity and activity[1] == "sleep" else "")
    duration, dspan = when.find_duration(t)
    rest = _blank(t, [dspan]) if dspan else t
    found = when.find_range(rest, context)
    if found:
        start, end, _ = found
        return start, duration or when.minutes_between(start, end)
    at, _ = when.find_time(rest, context)
    return at, duration


def _blank(t: str, spans: list[tuple[int, int] | None]) -> str:
    for span in spans:
        if span:
            a, b = span
            t = t[:a] + " " * (b - a) + t[b:]
    return t


_NOISE = (
    r"\b(?:every|each|daily|nightly|on|at|around|about|from|to|for|until|in the|the|"
    r"usually|always|normally|typically|recurring|a|an|"
    r"weekdays?|weekends?|weeknights?|workdays?|mornings?|evenings?|afternoons?|nights?|"
    r"and|long|it takes|takes|is|are|at)\b"
)
# A possessive that opens a title says nothing ("my piano lesson": the calendar is yours);
# inside one it does ("1:1 with my manager", "call my mum") and stays.
_LEAD_NOISE = r"(?:" + _NOISE + r"|\b(?:my|our)\b)"
# How a sentence about a routine opens: "I usually have", "we go to", "add" ("book club" is
# a name, not "book" a club).
_LEAD_VERB = re.compile(
    r"^\s*(?:(?:i|we)\s+(?:usually\s+|always\s+|normally\s+)?(?:have|do|go to|go|attend|take|"
    r"practice|practise|play)\s+|(?:i|we)\s+|(?:add|create|schedule|set up|put|book)\s+"
    r"(?!(?:club|group)\b))",
    re.I,
)


def _title_words(raw: str) -> str:
    """What a recurring event is called, once its days, time and length are cut."""
    t = when.lower(raw)
    spans: list[tuple[int, int] | None] = []
    _duration, dspan = when.find_duration(t)
    spans += [dspan, when.find_interval(t)[1]]
    rest = _blank(t, spans)
    found = when.find_range(rest)
    if found:
        spans.append(found[2])
    else:
        spans.append(when.find_time(rest)[1])
    text = without_anchors(_blank(raw, spans))
    text = re.sub(r"\b(?:" + "|".join(when.WEEKDAYS) + r")(?:s|'s)?\b", " ", text, flags=re.I)
    text = re.sub(
        r"\b(?:every|each)\s+(?:single\s+)?(?:day|night|morning|evening|afternoon|week)\b",
        " ", text, flags=re.I,
    )  # fmt: skip
    words = text.split()
    while words:  # what opens the sentence, in any order ("every other weekend I go ...")
        joined = " ".join(words)
        if _LEAD_VERB.match(joined):
            words = _LEAD_VERB.sub("", joined, count=1).split()
        elif re.fullmatch(_LEAD_NOISE, words[0].lower().strip(",.")):
            words.pop(0)
        else:
            break
    kept = (
        [w for w in words if not re.fullmatch(_NOISE, w.lower().strip(",."))]
        if len(words) > 4
        else words
    )
    while kept and re.fullmatch(_NOISE, kept[-1].lower().strip(",.")):
        kept.pop()
    title = " ".join(kept).strip(" ,.;:-")
    title = re.sub(r"\s+(?:and|,)\s*(?=$)", "", title)
    title = re.sub(r"\s*,\s*$", "", title)
    return title[:1].upper() + title[1:] if title else ""
