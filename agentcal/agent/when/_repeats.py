"""What repeats when: the days of the week a habit or recurring event falls on, and every how
many weeks."""

from __future__ import annotations

import re

from agentcal.agent.when._words import NUM, WD, WEEKDAYS, Span, num


def find_days(t: str) -> tuple[list[int] | None, bool]:
    """Days of the week (1=Mon..7=Sun) something repeats on; (None, True) means every day."""
    if re.search(r"\b(weeknights?|school nights?)\b", t):
        return [1, 2, 3, 4, 5], True
    if re.search(
        r"\b(weekdays?|workdays?|work days|working days|mon(day)?\s*(-|to|through|thru)\s*fri(day)?)\b",
        t,
    ):
        return [1, 2, 3, 4, 5], True
    if re.search(r"\bweekends?\b", t):
        return [6, 7], True
    found = [WEEKDAYS[w] + 1 for w in re.findall(r"\b(" + WD + r")(?:s|'s)?\b", t)]
    if found:
        return sorted(set(found)), True
    if re.search(r"\b(every|each|daily|nightly|always|usually|most|a day)\b", t):
        return None, True
    return None, False


_EVERY_NTH = {"other": 2, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}


def find_interval(t: str) -> tuple[int, Span | None]:
    """Every how many weeks something repeats (1 when the text does not say), and the words that
    say it: 'every other Wednesday', 'every second Thursday', 'every 3 weeks', 'biweekly',
    'fortnightly' -> 2 or 3. Day intervals ('every other day') and months are not weeks."""
    m = re.search(r"\b(?:every|each)\s+(" + NUM + r")\s+weeks\b", t)
    if m:
        return int(num(m[1])), m.span()
    m = re.search(
        r"\b(?:every|each)\s+(other|second|2nd|third|3rd|fourth|4th)(?:\s+week\b)?"
        r"(?=\s+(?:on\s+)?(?:(?:" + WD + r")s?|weekends?|weekdays?|weeknights?|week)\b)",
        t,
    )
    if m:
        return _EVERY_NTH[m[1]], m.span()
    m = re.search(r"\b(?:bi-?weekly|fortnightly|(?:every|once a) fortnight)\b", t)
    if m:
        return 2, m.span()
    return 1, None
