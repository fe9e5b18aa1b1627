"""A deterministic "model" for long conversations through the loopback server.

It answers only from what the request holds, as a real model must: a question is answered
from the conversation it was sent, and a summary request (agentcal.agent.memory's
SUMMARY_PROMPT) is answered with notes that fold in the earlier summary and keep what the user
asked to remember, as a competent model would. "Add ..." requests become create_event calls.
Prompt tokens are the request's size at about 4 characters a token, as a server reports them.

Used by tests/agent/test_memory.py and bench/bench_agent.py.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.openai_loopback import Reply, call, text

SUMMARY_HEAD = "Here is a summary of the conversation to date:"
MAX_NOTES = 12


def prompt_tokens(body: dict[str, Any]) -> int:
    return len(json.dumps(body.get("messages", [])) + json.dumps(body.get("tools", []))) // 4


def session_message(turn: int) -> str:
    """Turn `turn` of a long scripted session: adds, look-ups and chat, and at turn 5 a fact
    a much later turn asks about ("What is my sister's name?")."""
    if turn == 5:
        return "Please remember: my sister's name is Ada."
    if turn % 3 == 0:
        return f"Add review {turn} in {turn % 5 + 1} days at {9 + turn % 8}:00"
    if turn % 3 == 1:
        return f"What's on in {turn % 5 + 1} days?"
    return f"Tell me something about topic {turn}, please; anything will do, I am just chatting."


class ScriptedConversation:
    """Call it with a request body; it returns the Reply."""

    def __init__(self, timezone: str = "Europe/Paris") -> None:
        self.timezone = timezone
        self.summaries = 0
        self.requests = 0

    def __call__(self, body: dict[str, Any]) -> Reply:
        self.requests += 1
        size = prompt_tokens(body)
        messages = body["messages"]
        last = messages[-1]
        content = last.get("content") or ""
        if last["role"] == "user" and "condensing the older part of a conversation" in content:
            self.summaries += 1
            notes = self._summarise(content)
            return text(notes, prompt_tokens=size, completion_tokens=len(notes) // 4 + 1)
        if last["role"] == "tool":
            return text(self._report(last.get("content") or ""), prompt_tokens=size)
        question = re.match(r"what is my (\w+)'s name\?", content.lower())
        if question:
            return text(self._recall(messages, question[1]), prompt_tokens=size)
        add = re.match(r"add (.+) in (\d+) days at (\d+):(\d\d)", content.lower())
        if add:
            day = datetime.now(ZoneInfo(self.timezone)) + timedelta(days=int(add[2]))
            start = day.replace(hour=int(add[3]), minute=int(add[4]))
            args = {"title": add[1].capitalize(), "start": start.strftime("%Y-%m-%dT%H:%M"),
                    "duration_minutes": 30}  # fmt: skip
            return call("create_event", args, prompt_tokens=size)
        day = re.match(r"what's on in (\d+) days\?", content.lower())
        if day:
            start = datetime.now(ZoneInfo(self.timezone)) + timedelta(days=int(day[1]))
            first = start.replace(hour=0, minute=0)
            args = {"start": first.strftime("%Y-%m-%dT%H:%M"),
                    "end": (first + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")}  # fmt: skip
            return call("list_events", args, prompt_tokens=size)
        return text(
            f"Happy to chat about that. You said: “{content[:120]}”. I am a calendar assistant, "
            "so I know your events and habits better than anything else: I can add, move or "
            "cancel events, find free time, and keep your routines on the calendar. Is there "
            "anything on your calendar I can help with today?",
            prompt_tokens=size,
        )

    @staticmethod
    def _report(result: str) -> str:
        """An answer that says what the tool result holds, as a model would."""
        try:
            data = json.loads(result)
        except ValueError:
            return "That did not work."
        if "created" in data:
            e = data["created"]
            return f"Done: “{e['title']}” is on your calendar at {e['start']} (#{e['id']})."
        events = data.get("events") or []
        listed = "; ".join(f"“{e['title']}” at {e['start'][11:16]} (#{e['id']})" for e in events)
        return f"You have {len(events)} event(s): {listed}." if events else "Nothing planned."

    @staticmethod
    def _recall(messages: list[dict[str, Any]], who: str) -> str:
        seen = " ".join(str(m.get("content") or "") for m in messages)
        found = re.findall(rf"my {who}'s name is (\w+)", seen, flags=re.IGNORECASE)
        return f"Your {who} is {found[-1]}." if found else f"I don't know your {who}'s name."

    @staticmethod
    def _summarise(prompt: str) -> str:
        notes: list[str] = []
        for kind, body in re.findall(r'<message type="(\w+)">(.*?)</message>', prompt, re.S):
            if kind != "human":
                continue
            if body.startswith(SUMMARY_HEAD):
                notes += [line for line in body.splitlines() if line.startswith("- ")]
            elif "remember" in body.lower():
                notes.append(f"- The user said: {body.strip()}")
        return "\n".join(notes[-MAX_NOTES:]) or "- Nothing to keep."
