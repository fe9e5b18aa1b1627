"""The built-in offline model: a deterministic chat model that needs no network or key.

It reads the user's last message with `quickadd.parse` and answers with the same tool calls a
real model would make, through the same graph. Requests naming an existing event ("move the
dentist to Friday") take two steps: search for it, then act on the single match. Token counts
are estimated (about 4 characters per token) and marked as such; the cost is 0.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agentcal.agent import quickadd
from agentcal.agent.quickadd import Intent

OFFLINE_MODEL_NAME = "agentcal-offline-1"

HELP = (
    "I'm agentcal's built-in offline model, so I only understand simple requests, such as:\n"
    '  - "Add dentist tomorrow at 3pm", "Meeting with Bob next Friday 14:30 for 45 minutes"\n'
    '  - "What\'s on my calendar tomorrow?", "Show my events this week", "Search for dentist"\n'
    '  - "Move the dentist to Friday at 4pm", "Rename standup to Daily sync", "Cancel event 3"\n'
    '  - "Find me 30 minutes for a call tomorrow afternoon"\n'
    '  - habits: "I go to the gym every weekday at 6am", "I sleep at 23:00",\n'
    '    "I want two hours of focus time every morning"\n'
    "For free-form conversation, configure a real model: set OPENAI_API_KEY (OpenAI), or\n"
    "OPENAI_BASE_URL for Ollama, vLLM, llama.cpp or LM Studio (see docs/chat.md)."
)


def _estimate(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def _content(message: BaseMessage) -> str:
    c = message.content
    return c if isinstance(c, str) else json.dumps(c, default=str)


def _fmt_span(start: str, end: str) -> str:
    a, b = datetime.fromisoformat(start), datetime.fromisoformat(end)
    day = a.strftime("%a %d %b")
    if a.date() == b.date():
        return f"{day} {a:%H:%M}–{b:%H:%M}"
    return f"{day} {a:%H:%M} – {b:%a %d %b %H:%M}"


def _fmt_event(e: dict[str, Any]) -> str:
    return f"“{e['title']}” {_fmt_span(e['start'], e['end'])} (#{e['id']})"


class OfflineChatModel(BaseChatModel):
    """Deterministic quick-add parser posing as a tool-calling chat model."""

    timezone: str = "UTC"
    fixed_now: datetime | None = None  # tests pin the clock

    @property
    def _llm_type(self) -> str:
        return "agentcal-offline"

    @property
    def model_name(self) -> str:
        return OFFLINE_MODEL_NAME

    def bind_tools(self, tools: Any, **kwargs: Any) -> OfflineChatModel:  # type: ignore[override]
        return self  # the tool set is fixed: it emits agentcal's own tools

    def _now(self) -> datetime:
        return quickadd.local_now(self.timezone, self.fixed_now or datetime.now(UTC))

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        reply = self.respond(messages)
        prompt_tokens = sum(_estimate(_content(m)) for m in messages)
        out_text = _content(reply) + json.dumps(reply.tool_calls, default=str)
        completion_tokens = _estimate(out_text)
        reply.usage_metadata = {
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        reply.response_metadata = {"model_name": OFFLINE_MODEL_NAME, "tokens_estimated": True}
        return ChatResult(generations=[ChatGeneration(message=reply)])

    # ------------------------------------------------------------------------------------
    def respond(self, messages: list[BaseMessage]) -> AIMessage:
        """The next message of the conversation: a tool call or the answer."""
        last_human = max(
            (i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=None
        )
        if last_human is None:
            return AIMessage(content=HELP)
        intent = quickadd.parse(_content(messages[last_human]), self._now())
        after = messages[last_human + 1 :]
        results = [m for m in after if isinstance(m, ToolMessage)]
        if not results:
            return self._first_step(intent)
        last = results[-1]
        data = _json(last.content)
        if last.status == "error" or not isinstance(data, dict):
            return AIMessage(content=f"I couldn't do that: {_content(last)}")
        if last.name == "search_events" and intent.kind in ("move", "rename", "resize", "cancel"):
            return self._act_on_match(intent, data.get("events") or [])
        return AIMessage(content=self._summarise(last.name or "", data, intent))

    def _call(self, name: str, **args: Any) -> AIMessage:
        args = {k: v for k, v in args.items() if v is not None}
        return AIMessage(
            content="",
            tool_calls=[
                {"name": name, "args": args, "id": f"call_{uuid4().hex[:12]}", "type": "tool_call"}
            ],
        )

    def _local(self, day: Any, at: time) -> str:
        return datetime.combine(day, at, tzinfo=ZoneInfo(self.timezone)).isoformat(
            timespec="minutes"
        )

    def _first_step(self, intent: Intent) -> AIMessage:
        kind = intent.kind
        if kind == "create":
            if intent.at is None:
                return AIMessage(
                    content=f"At what time should I put “{intent.title}” on "
                    f"{intent.day:%a %d %b}? For example: “{intent.title} tomorrow at 10am”."
                )
            end = self._local(intent.day, intent.end_at) if intent.end_at else None
            return self._call(
                "create_event", title=intent.title, start=self._local(intent.day, intent.at),
                end=end, duration_minutes=None if end else intent.duration or 60,
            )  # fmt: skip
        if kind == "list":
            assert intent.range_start is not None and intent.range_end is not None
            return self._call(
                "list_events",
                start=intent.range_start.isoformat(timespec="minutes"),
                end=intent.range_end.isoformat(timespec="minutes"),
            )
        if kind == "search":
            return self._call("search_events", query=intent.target)
        if kind == "schedule":
            assert intent.range_start is not None and intent.range_end is not None
            return self._call(
                "schedule_event", title=intent.title, duration_minutes=intent.duration,
                window_start=intent.range_start.isoformat(timespec="minutes"),
                window_end=intent.range_end.isoformat(timespec="minutes"),
            )  # fmt: skip
        if kind == "insight":
            return self._call("record_user_insight", **_insight_args(intent.insight))
        if kind in ("move", "rename", "resize", "cancel"):
            if intent.event_id is not None:
                return self._act(intent, {"id": intent.event_id})
            if intent.target:
                return self._call("search_events", query=intent.target)
            return AIMessage(content="Which event? Give its title or its id (e.g. “event 3”).")
        return AIMessage(content=HELP)

    def _act_on_match(self, intent: Intent, events: list[dict[str, Any]]) -> AIMessage:
        if intent.kind == "cancel" and intent.day is not None:
            events = [
                e for e in events if datetime.fromisoformat(e["start"]).date() == intent.day
            ] or events
        if intent.kind == "cancel" and intent.at is not None:
            events = [
                e for e in events if datetime.fromisoformat(e["start"]).time() == intent.at
            ] or events
        now = self._now()
        upcoming = [e for e in events if datetime.fromisoformat(e["end"]) >= now] or events
        if not upcoming:
            return AIMessage(content=f"I found no event matching “{intent.target}”.")
        if len(upcoming) > 1:
            lines = "\n".join(f"  - {_fmt_event(e)}" for e in upcoming[:10])
            return AIMessage(
                content=f"Several events match “{intent.target}”; which one (say “event N”)?\n{lines}"
            )
        return self._act(intent, upcoming[0])

    def _act(self, intent: Intent, event: dict[str, Any]) -> AIMessage:
        event_id = event["id"]
        if intent.kind == "cancel":
            return self._call("delete_event", event_id=event_id)
        if intent.kind == "rename":
            return self._call("update_event", event_id=event_id, title=intent.title)
        if intent.kind == "resize":
            return self._call("update_event", event_id=event_id, duration_minutes=intent.duration)
        # move: keep what the user did not say (the date or the time) from the event
        current = datetime.fromisoformat(event["start"]) if "start" in event else None
        day = intent.day or (current.date() if current else self._now().date())
        at = intent.at or (current.timetz().replace(tzinfo=None) if current else time(9))
        return self._call(
            "update_event", event_id=event_id, start=self._local(day, at),
            duration_minutes=intent.duration,
        )  # fmt: skip

    def _summarise(self, tool: str, data: dict[str, Any], intent: Intent) -> str:
        if "created" in data:
            return f"Created {_fmt_event(data['created'])}."
        if "updated" in data:
            verb = {"rename": "Renamed", "resize": "Resized", "move": "Moved"}.get(
                intent.kind, "Updated"
            )
            return f"{verb}: {_fmt_event(data['updated'])}."
        if "deleted" in data:
            return f"Cancelled {_fmt_event(data['deleted'])}."
        if "scheduled" in data:
            if data["scheduled"] is None:
                return f"I couldn't book it: {data.get('reason')}."
            return f"Booked {_fmt_event(data['scheduled'])}."
        if "queued" in data:
            body = intent.insight
            noted = (
                f"Noted: {body.get('category')}/{body.get('key')} = "
                f"{json.dumps(body.get('value'), ensure_ascii=False)}."
            )
            return f"{noted} {_calendar_sentence(data.get('calendar') or {})}"
        if "events" in data:
            events = data["events"]
            if tool == "search_events":
                head = f"Events matching “{data.get('query')}”"
            else:
                a = datetime.fromisoformat(data["from"])
                b = datetime.fromisoformat(data["to"]) - timedelta(minutes=1)
                span = f"{a:%a %d %b}" if a.date() == b.date() else f"{a:%a %d %b} – {b:%a %d %b}"
                head = f"Your calendar for {span}"
            if not events:
                return f"{head}: nothing."
            return f"{head}:\n" + "\n".join(f"  - {_fmt_event(e)}" for e in events)
        return "Done."


def _insight_args(body: dict[str, Any]) -> dict[str, Any]:
    """The insight tool's arguments for a parsed habit: the seed's body plus the explicit
    preference_type the tool requires (the block the habit's key names, else none)."""
    from agentcal.services.insight_preferences import preference_type_for

    ptype = preference_type_for(str(body.get("key", "")), str(body.get("category", "")))
    return {**body, "preference_type": ptype or "none"}


def _calendar_sentence(outcome: dict[str, Any]) -> str:
    """What the insight tool said will appear on the calendar, as a sentence."""
    if outcome.get("becomes_events"):
        return (
            f"On your calendar: “{outcome['title']}” {outcome['days']} at {outcome['time']} "
            f"for {outcome['duration_minutes']} minutes."
        )
    return f"Nothing will be added to your calendar: {outcome.get('why', 'not a time block')}."


def _json(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return None
    return content
