"""The built-in offline model: a deterministic chat model that needs no network or key.

It reads the user's last message with `quickadd.parse` and answers with the same tool calls a
real model would make, through the same graph. A request about an existing event ("move my
doctor appointment to 11", "cancel it") takes two steps: find it (search by words, or list its
day), then act on the single match; "it"/"that" is the last event this conversation created,
changed or showed alone. When it is not sure (no match, several, a date that does not exist)
it says what it understood and changes nothing. Token counts are estimated (about 4
characters per token) and marked as such; the cost is 0.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agentcal.agent import habits, quickadd, when
from agentcal.agent.intents import NOT_UNDERSTOOD, WORKDAY, Intent, Target

OFFLINE_MODEL_NAME = "agentcal-offline-1"

HELP = (
    "I'm agentcal's built-in offline model, so I understand calendar requests, such as:\n"
    '  - "Dentist tmrw at 4pm", "Coffee with Ana at Blue Door Friday 9am", "yoga 6-7pm Wed"\n'
    '  - "What\'s on this week?", "What\'s next?", "Am I free Tuesday afternoon?"\n'
    '  - "Move my doctor appointment to 11", "Push the 2pm back 30 minutes", "Cancel it"\n'
    '  - "Block 90 minutes for writing tomorrow morning"\n'
    '  - habits and routines: "I swim on Mondays and Thursdays at 7am",\n'
    '    "Team standup every weekday at 9:30", "Book club every other Thursday at 7pm",\n'
    '    "No meetings before 10"\n'
    "For free-form conversation, configure a real model: set OPENAI_API_KEY (OpenAI), or\n"
    "OPENAI_BASE_URL for Ollama, vLLM, llama.cpp or LM Studio (see docs/chat.md)."
)
EDITS = ("edit", "cancel")


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
    where = f" at {e['location']}" if e.get("location") else ""
    return f"“{e['title']}” {_fmt_span(e['start'], e['end'])}{where} (#{e['id']})"


def _json(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return None
    return content


def _start(e: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(e["start"])


def _end(e: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(e["end"])


def last_single_event(messages: list[BaseMessage]) -> dict[str, Any] | None:
    """The event "it" means: the last one created, changed or shown alone, if any."""
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            continue
        data = _json(message.content)
        if not isinstance(data, dict):
            continue
        for key in ("created", "updated", "scheduled"):
            if isinstance(data.get(key), dict):
                return data[key]  # type: ignore[no-any-return]
        if "deleted" in data or "queued" in data:
            return None
        if isinstance(data.get("events"), list):
            events = data["events"]
            return events[0] if len(events) == 1 else None
    return None


class OfflineChatModel(BaseChatModel):
    """Deterministic request parser posing as a tool-calling chat model."""

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
        intent = quickadd.parse(
            _content(messages[last_human]), self._now(), month_first=when.month_first(self.timezone)
        )
        after = messages[last_human + 1 :]
        results = [m for m in after if isinstance(m, ToolMessage)]
        if not results:
            return self._first_step(intent, messages[:last_human])
        last = results[-1]
        data = _json(last.content)
        if last.status == "error" or not isinstance(data, dict):
            return AIMessage(content=f"I couldn't do that: {_content(last)}".splitlines()[0])
        if intent.kind in EDITS and last.name in ("search_events", "list_events"):
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

    def _iso(self, value: datetime) -> str:
        return value.isoformat(timespec="minutes")

    def _local(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=ZoneInfo(self.timezone))

    def _first_step(self, intent: Intent, history: list[BaseMessage]) -> AIMessage:
        kind = intent.kind
        if kind == "ask":
            return AIMessage(content=intent.message or NOT_UNDERSTOOD)
        if kind == "create":
            start, end = intent.span(ZoneInfo(self.timezone))
            return self._call(
                "create_event", title=intent.title, start=self._iso(start),
                end=self._iso(end) if intent.end_at else None,
                duration_minutes=None if intent.end_at else intent.duration or 60,
                location=intent.location,
            )  # fmt: skip
        if kind == "next" and intent.title:
            assert intent.range_start is not None and intent.range_end is not None
            return self._call(
                "search_events", query=intent.title, start=self._iso(intent.range_start),
                end=self._iso(intent.range_end),
            )  # fmt: skip
        if kind in ("list", "next", "free"):
            assert intent.range_start is not None and intent.range_end is not None
            return self._call(
                "list_events", start=self._iso(intent.range_start), end=self._iso(intent.range_end)
            )
        if kind == "search":
            return self._call("search_events", query=intent.title)
        if kind == "schedule":
            assert intent.range_start is not None and intent.range_end is not None
            return self._call(
                "schedule_event", title=intent.title, duration_minutes=intent.duration,
                window_start=self._iso(intent.range_start), window_end=self._iso(intent.range_end),
            )  # fmt: skip
        if kind == "insight":
            return self._call("record_user_insight", **_insight_args(intent.insight))
        if kind in EDITS:
            return self._find(intent, history)
        return AIMessage(content=HELP)

    def _find(self, intent: Intent, history: list[BaseMessage]) -> AIMessage:
        """First step of a change: the event itself ("it"), or a tool call to find it."""
        target = intent.target or Target()
        today = self._now().date()
        if target.pronoun:
            event = last_single_event(history)
            if event is None:
                return AIMessage(
                    content="Which event do you mean? Nothing in this conversation points to a "
                    "single one; give its title, day or id. Nothing was changed."
                )
            return self._act(intent, event)
        midnight = self._local(today, time(0))
        if target.words:
            return self._call(
                "search_events", query=target.words,
                start=self._iso(midnight - timedelta(days=7)),
                end=self._iso(midnight + timedelta(days=366)),
            )  # fmt: skip
        change = intent.change
        needs_event = change is not None and (
            change.shift is not None or change.delta is not None
            or (change.day is None) != (change.at is None)
        )  # fmt: skip
        if target.event_id is not None and not needs_event:
            return self._act(intent, {"id": target.event_id})
        if target.event_id is not None:
            return self._call(
                "list_events", start=self._iso(midnight - timedelta(days=30)),
                end=self._iso(midnight + timedelta(days=366)),
            )  # fmt: skip
        day = target.day or today
        span = 1 if target.day else 8
        return self._call(
            "list_events", start=self._iso(self._local(day, time(0))),
            end=self._iso(self._local(day + timedelta(days=span), time(0))),
        )  # fmt: skip

    def _act_on_match(self, intent: Intent, events: list[dict[str, Any]]) -> AIMessage:
        from agentcal.planning.matching import score

        target = intent.target or Target()
        said = f"“{target.text.strip()}”" if target.text.strip() else "that"
        if target.event_id is not None:
            events = [e for e in events if e.get("id") == target.event_id]
            if not events:
                return AIMessage(content=f"There is no event {target.event_id} on your calendar.")
            return self._act(intent, events[0])
        scored = [
            (
                score(target.words, f"{e['title']} {e.get('location') or ''}")
                if target.words
                else 1.0,
                e,
            )
            for e in events
        ]
        scored = [(s, e) for s, e in scored if s > 0]
        if target.day is not None:
            scored = [(s, e) for s, e in scored if _start(e).date() == target.day]
        if target.at is not None:
            scored = [
                (s, e) for s, e in scored if _start(e).time().replace(tzinfo=None) == target.at
            ]
        if target.part is not None:
            lo, hi = target.part
            scored = [(s, e) for s, e in scored if lo <= _start(e).time().replace(tzinfo=None) < hi]
        now = self._now()
        upcoming = [(s, e) for s, e in scored if _end(e) >= now]
        scored = upcoming or scored
        if not scored:
            return AIMessage(content=f"I found no event matching {said}; nothing was changed.")
        best = max(s for s, _ in scored)
        top = [e for s, e in scored if s >= best - 1e-9]
        if len(top) > 1:
            lines = "; ".join(_fmt_event(e) for e in top[:5])
            return AIMessage(
                content=f"Several events match {said}: {lines}. Which one (say “event N”)? "
                "Nothing was changed."
            )
        return self._act(intent, top[0])

    def _act(self, intent: Intent, event: dict[str, Any]) -> AIMessage:
        event_id = event["id"]
        if intent.kind == "cancel":
            return self._call("delete_event", event_id=event_id)
        change = intent.change
        assert change is not None
        start = end = None
        if "start" in event:
            start, end = _start(event), _end(event)
        args: dict[str, Any] = {"title": change.title, "location": change.location}
        if change.shift is None and change.day is not None and change.at is not None:
            args["start"] = self._iso(self._local(change.day, change.at))
        elif change.shift is not None or change.day is not None or change.at is not None:
            if start is None:
                return AIMessage(content="I couldn't read that event's time; nothing was changed.")
            local = start.astimezone(ZoneInfo(self.timezone))
            new = local + change.shift if change.shift is not None else local
            day = change.day or new.date()
            at = change.at or new.time().replace(tzinfo=None)
            args["start"] = self._iso(self._local(day, at))
        if change.duration is not None:
            args["duration_minutes"] = change.duration
        elif change.delta is not None:
            if start is None or end is None:
                return AIMessage(
                    content="I couldn't read that event's length; nothing was changed."
                )
            minutes = round((end - start).total_seconds() / 60) + change.delta
            if minutes <= 0:
                return AIMessage(
                    content=f"That would leave “{event['title']}” with no time; nothing was changed."
                )
            args["duration_minutes"] = minutes
        return self._call("update_event", event_id=event_id, **args)

    def _summarise(self, tool: str, data: dict[str, Any], intent: Intent) -> str:
        if "created" in data:
            return f"Created {_fmt_event(data['created'])}."
        if "updated" in data:
            change = intent.change
            verb = "Updated"
            if change is not None:
                moved = change.day or change.at or change.shift
                resized = change.duration is not None or change.delta is not None
                if change.title and not (moved or resized):
                    verb = "Renamed"
                elif moved and not (change.title or resized):
                    verb = "Moved"
                elif resized and not (change.title or moved):
                    verb = "Resized"
            return f"{verb}: {_fmt_event(data['updated'])}."
        if "deleted" in data:
            return f"Cancelled {_fmt_event(data['deleted'])}."
        if "scheduled" in data:
            if data["scheduled"] is None:
                return f"I couldn't book it: {data.get('reason')}; nothing was added."
            return f"Booked {_fmt_event(data['scheduled'])}."
        if "queued" in data:
            return f"{self._noted(intent.insight)} {_calendar_sentence(data.get('calendar') or {})}"
        if "events" in data:
            events = data["events"]
            if intent.kind == "next":
                now = self._now()
                coming = [e for e in events if _end(e) > now]
                if not coming:
                    what = f"“{intent.title}”" if intent.title else "on your calendar"
                    return f"Nothing {what} coming up."
                return f"Next: {_fmt_event(coming[0])}."
            if intent.kind == "free":
                return self._free_answer(intent, events)
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

    def _noted(self, body: dict[str, Any]) -> str:
        value = body.get("value")
        if body.get("insight_type") == "constraint" and isinstance(value, dict):
            word = "before" if str(body.get("key", "")).endswith("before") else "after"
            return f"Noted: no meetings {word} {value.get('time')}."
        if not isinstance(value, dict):
            return f"Noted: {body.get('category')}/{body.get('key')}."
        days = value.get("days")
        names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        when = (
            "every day" if not days
            else "weekdays" if days == [1, 2, 3, 4, 5]
            else "weekends" if days == [6, 7]
            else ", ".join(names[d - 1] for d in days)
        )  # fmt: skip
        every, first = value.get("interval_weeks") or 1, value.get("anchor_date")
        if every > 1 and isinstance(first, str):
            when += f" every {every} weeks from {date.fromisoformat(first):%a %d %b}"
        what = value.get("title") or str(body.get("key", "")).replace("_time", "").replace("_", " ")
        noted = (
            f"Noted: {what}, {when} at {value.get('time')} for {value.get('duration_minutes')} min "
            f"({body.get('category')}/{body.get('key')})."
        )
        if body.get("confidence") == habits.GUESSED:
            return f"{noted} You didn't say when, so I picked the usual time."
        return noted

    def _free_answer(self, intent: Intent, events: list[dict[str, Any]]) -> str:
        assert intent.range_start is not None and intent.range_end is not None and intent.day
        day = intent.day
        if intent.at is not None and intent.end_at is not None:
            lo, hi = intent.range_start, intent.range_end
            clash = [e for e in events if _start(e) < hi and _end(e) > lo]
            window = f"{day:%a %d %b} {lo:%H:%M}–{hi:%H:%M}"
            if not clash:
                return f"Yes, you're free {window}."
            return f"No, {window} has " + "; ".join(_fmt_event(e) for e in clash) + "."
        lo = self._local(day, WORKDAY[0])
        hi = self._local(day, WORKDAY[1])
        now = self._now()
        if now > lo:
            lo = min(max(lo, now.replace(second=0, microsecond=0)), hi)
        gaps, cursor = [], lo
        for e in sorted(events, key=_start):
            a, b = max(_start(e), lo), min(_end(e), hi)
            if b <= cursor:
                continue
            if a > cursor:
                gaps.append((cursor, a))
            cursor = max(cursor, b)
        if cursor < hi:
            gaps.append((cursor, hi))
        need = timedelta(minutes=intent.duration or 15)
        gaps = [(a, b) for a, b in gaps if b - a >= need]
        if not gaps:
            return f"You have no free time on {day:%a %d %b} between {lo:%H:%M} and {hi:%H:%M}."
        slots = ", ".join(f"{a:%H:%M}–{b:%H:%M}" for a, b in gaps)
        return f"Free on {day:%a %d %b}: {slots}."


def _insight_args(body: dict[str, Any]) -> dict[str, Any]:
    """The insight tool's arguments: the seed's body plus the explicit preference_type the
    tool requires (the block the parser recognised; else the one the key names; else none)."""
    if body.get("preference_type"):
        return body
    from agentcal.planning.from_insights import preference_type_for

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
