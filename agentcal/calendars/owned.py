"""What agentcal owns in an event it put in someone's calendar, and how it changes only that.

agentcal writes the title, the start and end, its own block in the description and its private
properties (Google's `extendedProperties.private`, CalDAV's `X-AGENTCAL-*`). Everything else
the user adds in their calendar app stays as they left it: location, attendees, reminders and
alarms, colour, their own description text above or below agentcal's block.

Two fields are shared. The description holds agentcal's block between two marker lines; the
user's text around it is kept, and a block the user deleted is not put back until agentcal has
something new to say. A location agentcal was given (the agent's `location`) is written when
it changes and never cleared; one the user typed is never overwritten by an unchanged one.
Both rules need to know what agentcal wrote last: a short fingerprint of each is kept in the
private properties.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agentcal.calendars.base import EventData

BLOCK_START = "--- agentcal ---"
BLOCK_END = "--- end agentcal ---"
_BLOCK = re.compile(
    r"(?:\r?\n|<br\s*/?>)*" + re.escape(BLOCK_START) + r".*?" + re.escape(BLOCK_END),
    re.S | re.I,
)
_HTML = re.compile(r"<(?:br|p|div|span|b|i|u|a|ul|ol|li)\b", re.I)


def block_text(description: str | None, note: str | None) -> str:
    """What agentcal has to say about an event: its own text, and why it sits where it does."""
    lines = []
    if description and description.strip():
        lines.append(description.strip())
    if note:
        lines.append(f"Why here: {note}")
    return "\n".join(lines)


def block(event: EventData) -> str:
    """agentcal's block in a shared description, between its two marker lines ("": none)."""
    text = block_text(event.description, event.note)
    return "\n".join([BLOCK_START, text, BLOCK_END]) if text else ""


def fingerprint(text: str | None) -> str:
    """A short stable digest of what agentcal wrote (empty text: empty fingerprint)."""
    if not text:
        return ""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def has_block(description: str | None) -> bool:
    return bool(description) and _BLOCK.search(description or "") is not None


def splice(existing: str | None, new_block: str) -> str:
    """`existing` with agentcal's block replaced by `new_block` (appended if it had none,
    removed if `new_block` is empty); the user's text before and after is kept as is."""
    text = existing or ""
    html = bool(_HTML.search(text))
    piece = new_block.replace("\n", "<br>") if html else new_block
    sep = "<br><br>" if html else "\n\n"
    if _BLOCK.search(text):
        before, after = _BLOCK.split(text, maxsplit=1)
        if not piece:
            return (before.rstrip() + after).strip()
        return (before.rstrip() + sep if before.strip() else "") + piece + after
    if not piece:
        return text
    return text.rstrip() + sep + piece if text.strip() else piece


def description_update(existing: str | None, event: EventData, written: str | None) -> str | None:
    """The description to write now, or None to leave it as it is.

    `written` is the fingerprint of the block agentcal wrote last time (None: unknown)."""
    new_block = block(event)
    if not has_block(existing) and written is not None and written == fingerprint(new_block):
        return None  # the user removed agentcal's block and agentcal has nothing new to say
    updated = splice(existing, new_block)
    return None if updated == (existing or "") else updated


def location_update(existing: str | None, event: EventData, written: str | None) -> str | None:
    """The location to write now, or None to leave the calendar's (perhaps the user's) alone."""
    if not event.location or fingerprint(event.location) == written:
        return None
    return None if event.location == (existing or "") else event.location
