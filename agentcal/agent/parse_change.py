"""Changing or cancelling an event: which event ("my doctor appointment", "the 2pm", "it")
and what changes (a new day or time, a shift, a length, a title, a place)."""

from __future__ import annotations

import re
from datetime import date, datetime

from agentcal.agent import when
from agentcal.agent.intents import (
    NOT_UNDERSTOOD,
    Change,
    Intent,
    Target,
    ask,
    blank,
    cap,
    tidy_title,
)
from agentcal.agent.when import PARTS_OF_DAY, Span
from agentcal.planning.matching import GENERIC

# How a cancellation, a change and a follow-up ("actually ...") begin; SEPARATE splits a
# compound change ("rename standup to Daily sync and move it to 9:45") into clauses.
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
SEPARATE = (
    r"\s*(?:,\s*(?:and\s+|then\s+)?|\s+and\s+(?:then\s+|also\s+)?|\s+then\s+|;\s*)"
    r"(?=(?:move|make|rename|push|shift|change|extend|shorten|set|postpone|delay|bring|"
    r"retitle|lengthen|call)\b)"
)


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
    rest = blank(t, spans)
    at, tspan = when.find_time(rest, t)
    if at is None:
        m = re.search(
            r"\b(\d{1,2})(?::(\d{2}))?\b(?!:\d|\s*(?:min|hour|h\b|day|week|st|nd|rd|th))", rest
        )
        if m and re.search(r"\b(?:my|the|at)\s+$", rest[: m.start()]):
            at, tspan = when.bare_hour(int(m[1]), int(m[2] or 0), t), m.span()
    spans.append(tspan)
    rest = blank(t, spans)
    part = re.search(r"\b(morning|afternoon|evening|tonight)\b", rest)
    window = None
    if part is not None:
        window = PARTS_OF_DAY[part[1]][:2]
        rest = blank(rest, [part.span()])
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


def cancel_intent(raw: str, t: str, today: date) -> Intent:
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
            return ask(f"{cap(hit.error)}; nothing was changed.")
        change.day = hit.day
        t = blank(t, [hit.span])
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


def edit_intent(raw: str, t: str, now: datetime) -> Intent:
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
            return cancel_intent(raw, t, today)
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
