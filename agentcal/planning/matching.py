"""Does a description match an event's title? By words and similarity, not only substring.

"my doctor appointment" matches "Doctor", "the call with Priya" matches "Call w/ Priya",
"the sarah 1:1" matches "1:1 w/ Sarah", "dentst" matches "Dentist"; "team lunch" does not
match "Team sync". Every content word of the description must match a word of the event
(exactly, by prefix of at least 4 letters, or with a similarity of 0.85 or more); generic
words (appointment, meeting, session...) count only when nothing else is said.

Stdlib only: word-level similarity is difflib's ratio. rapidfuzz gives the same verdicts on
single words; it is not worth a compiled dependency here (see docs/benchmarks.md).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

STOP = frozenset(
    [
        "my",
        "the",
        "a",
        "an",
        "our",
        "your",
        "this",
        "that",
        "these",
        "those",
        "it",
        "on",
        "at",
        "in",
        "for",
        "with",
        "w",
        "of",
        "to",
        "from",
        "by",
        "and",
        "or",
        "me",
        "i",
        "is",
        "are",
        "was",
        "be",
        "all",
    ]
)
GENERIC = frozenset(
    [
        "event",
        "events",
        "appointment",
        "appointments",
        "appt",
        "meeting",
        "meetings",
        "session",
        "sessions",
        "thing",
        "one",
        "slot",
        "booking",
        "call",
        "calls",
    ]
)
SIMILAR = 0.85


def words(text: str) -> list[str]:
    """Lower-case words; '1:1' and "king's" stay one word."""
    return re.findall(r"[^\W_]+(?:[:'’][^\W_]+)*", text.lower())


def query_words(query: str) -> tuple[list[str], list[str]]:
    """(required, optional) words of a description."""
    kept = [w for w in words(query) if w not in STOP]
    required = [w for w in kept if w not in GENERIC]
    return (required, []) if required else (kept, [])


def word_matches(q: str, w: str) -> bool:
    if q == w:
        return True
    if len(q) >= 4 and len(w) >= 4 and (w.startswith(q) or q.startswith(w)):
        return True
    if q.rstrip("s") == w.rstrip("s"):
        return True
    return min(len(q), len(w)) >= 4 and SequenceMatcher(None, q, w).ratio() >= SIMILAR


def score(query: str, text: str) -> float:
    """0 when `text` does not match `query`; else higher for closer matches (at most 2)."""
    low = " ".join(text.lower().split())
    needle = " ".join(query.lower().split())
    if not needle:
        return 0.0
    have = words(low)
    required, _ = query_words(needle)
    if needle in low:
        base = 1.0
    elif required and all(any(word_matches(q, w) for w in have) for q in required):
        base = 0.5
    else:
        return 0.0
    said = [w for w in words(needle) if w not in STOP]
    covered = sum(1 for w in have if w not in STOP and any(word_matches(q, w) for q in said))
    content = sum(1 for w in have if w not in STOP) or 1
    return base + covered / content  # prefer events whose title is mostly what was said


def matches(query: str, text: str) -> bool:
    return score(query, text) > 0
