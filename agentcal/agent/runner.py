"""One chat turn, start to finish: budget check, the graph run, faults, the recorded row.

`ChatRunner` is what the CLI (and the tests and benchmarks) drive; it never raises for a
failed model call: the turn comes back with status "error" and a one-line message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from agentcal.errors import BudgetExceededError

if TYPE_CHECKING:
    from agentcal.agent.cancel import CancelToken
    from agentcal.agent.model import ChatModel
    from agentcal.models import AgentObservability
    from agentcal.quick_settings import AnySettings
    from agentcal.records import CallRow

log = logging.getLogger(__name__)


@dataclass
class TurnResult:
    answer: str
    status: str  # ok | error
    error: str | None
    record: AgentObservability | CallRow
    # What the turn changed, one line each ("created “Lunch” Thu 12:00 (#14)"): for a turn
    # that stopped early, what is already done.
    done: list[str] = field(default_factory=list)
    cancelled: bool = False  # stopped by Ctrl-C (not by a fault or the deadline)
    # agentcal's own lines after the model's answer (what reached the calendar, tool notes).
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _answer_text(message: Any) -> str:
    from agentcal.agent.recorder import _text

    return _text(getattr(message, "content", "")).strip()


class ChatRunner:
    """Runs turns of one chat session for one user against one chat model."""

    def __init__(
        self,
        model: ChatModel,
        *,
        user_id: str,
        settings: AnySettings | None = None,
        session_name: str | None = "default",
        new_session: bool = False,
        engine: Any = None,
        checkpointer: Any = None,
        persist: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        from agentcal.agent.graph import build_agent
        from agentcal.agent.model import model_label
        from agentcal.observability.calls import AgentObservabilityService
        from agentcal.users.chat_sessions import ChatSessionsService
        from agentcal.users.profiles import settings_for

        self.model = model
        self.model_name = model_label(model)
        self.user_id = user_id
        # The user's own zone and budget (their profile), unless the caller gives settings.
        self.settings = settings or settings_for(user_id)
        self.engine = engine
        # "Now" for the prompt, the confirmation rules and what a turn reports (tests and the
        # offline model's evaluation pin it); default: the real clock.
        self.clock = clock or _utcnow
        self.observability = AgentObservabilityService(engine)
        self.sessions = ChatSessionsService(engine)
        self.session_name = session_name
        if checkpointer is None and persist:
            checkpointer = open_checkpointer(self.settings)
        self.checkpointer = checkpointer
        if checkpointer is None:
            from langgraph.checkpoint.memory import InMemorySaver

            self.checkpointer = InMemorySaver()
        self._new_session = new_session
        self._thread_id: str | None = None  # opened on first use: a refused turn writes nothing
        self.agent = build_agent(
            model,
            checkpointer=self.checkpointer,
            history_tokens=self.settings.history_tokens,
            summarize=not self.offline,
        )
        self.session_cost = 0.0
        self.session_tokens = 0
        self.turns = 0
        # Set when the turn running in a worker thread (run_interruptibly) has ended.
        self.busy: threading.Event | None = None

    @property
    def thread_id(self) -> str:
        """The LangGraph thread of this chat session (session_name None: the user's most
        recently used session, else "default")."""
        if self._thread_id is None:
            self._thread_id = self._open_thread(new=self._new_session)
        return self._thread_id

    def _open_thread(self, *, new: bool) -> str:
        from agentcal.users.chat_sessions import DEFAULT_SESSION

        # One row each, not `list_sessions`: its turns and costs are an aggregate over every
        # call of the user (~0.1 s for 100,000), and a turn needs only the names.
        name = self.session_name
        if name is None:
            last = self.sessions.find_session(self.user_id)
            name = self.session_name = last.name if last is not None else DEFAULT_SESSION
        found = self.sessions.find_session(self.user_id, name) if new else None
        old = found.thread_id if found is not None else None
        thread = self.sessions.open_session(self.user_id, name, new=new).thread_id
        if old is not None and old != thread:
            self._forget_thread(old)
        return thread

    def _forget_thread(self, thread_id: str) -> None:
        """Delete a conversation no session points to any more (its turns' rows stay)."""
        try:
            self.checkpointer.delete_thread(thread_id)
        except Exception:  # the next start-over tries nothing again: it only costs disk
            log.warning("could not delete the checkpoints of thread %s", thread_id, exc_info=True)

    @property
    def offline(self) -> bool:
        from agentcal.observability.pricing import OFFLINE_MODEL_PREFIX

        return self.model_name.startswith(OFFLINE_MODEL_PREFIX)

    def new_session(self) -> None:
        """Start this session's name over with an empty thread (the old one is deleted)."""
        self._thread_id = self._open_thread(new=True)
        self.session_cost, self.session_tokens, self.turns = 0.0, 0, 0

    def check_budget(self) -> None:
        """Refuse a turn once the user's spend today (in their zone) reaches their budget."""
        limit = self.settings.daily_budget_usd
        if limit is None:
            return
        tz = ZoneInfo(self.settings.timezone)
        midnight = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        spent = self.observability.spent_since(midnight, user_id=self.user_id)
        if spent >= limit:
            raise BudgetExceededError(
                f"daily budget reached: {self.user_id} spent ${spent:.4f} of ${limit:.4f} today "
                "(AGENTCAL_DAILY_BUDGET_USD or `agentcal users edit --budget`); "
                "no model call was made"
            )

    def _context(self, run_id: str, call_id: int, cancel: Any = None, confirm: Any = None) -> Any:
        from agentcal.agent.confirm import DestructiveGate
        from agentcal.agent.context import AgentContext

        return AgentContext(
            user_id=self.user_id,
            timezone=self.settings.timezone,
            session_id=self.thread_id,
            agent_run_id=run_id,
            source_request_id=call_id,
            system_prompt=self.system_prompt(),
            engine=self.engine,
            cancel=cancel,
            gate=DestructiveGate(
                self.user_id,
                self.settings.timezone,
                confirm=confirm,
                engine=self.engine,
                now=self.clock(),
            ),
        )

    def system_prompt(self) -> str:
        """This turn's system prompt, from the store as it is now."""
        from agentcal.agent.facts import load_user_facts
        from agentcal.agent.prompts import build_system_prompt

        facts = load_user_facts(self.user_id, self.engine)
        return build_system_prompt(self.clock(), self.settings.timezone, facts)

    def run_turn(
        self,
        text: str,
        on_token: Callable[[str], None] | None = None,
        cancel: CancelToken | None = None,
        confirm: Callable[[str], bool] | None = None,
    ) -> TurnResult:
        """Run one turn. Streams answer text to `on_token` if given.

        `cancel` (set by the REPL on Ctrl-C, from another thread) and AGENTCAL_TURN_TIMEOUT
        stop the turn before its next model or tool call; Ctrl-C in this thread does too. A
        turn that stops early or fails comes back with status "error", the error line and
        what it already did (`done`), and leaves the conversation clean (agentcal.agent.conversation).

        Deleting or moving several events, or anything in the past, asks `confirm(question)`
        first; without it such a turn is refused (agentcal.agent.confirm). Insights the turn
        recorded are applied at once when no job worker runs, and `notes` say what reached
        the calendar (agentcal.agent.insight_jobs), with any note a tool result carries.
        """
        from langchain_core.messages import AIMessage, HumanMessage, messages_to_dict

        from agentcal.agent.cancel import CancelToken
        from agentcal.agent.conversation import (
            repair_thread,
            settle,
            thread_messages,
            turn_messages,
        )
        from agentcal.agent.effects import already_done, effects_of
        from agentcal.agent.faults import describe_fault
        from agentcal.agent.recorder import TurnRecorder

        self.check_budget()
        token = cancel or CancelToken()
        run_id = uuid4()
        call_id = self.observability.reserve_call(
            user_id=self.user_id, user_message=text, agent_run_id=str(run_id),
            session_id=self.thread_id, llm_model=self.model_name,
        )  # fmt: skip
        recorder = TurnRecorder()
        config: dict[str, Any] = {
            "run_id": run_id,
            "callbacks": [recorder],
            "recursion_limit": self.settings.recursion_limit,
            "configurable": {"thread_id": self.thread_id},
        }
        human = HumanMessage(content=text, id=f"human-{run_id}")
        timeout = self.settings.turn_timeout
        deadline = threading.Timer(
            timeout,
            token.cancel,
            args=(f"the turn took longer than AGENTCAL_TURN_TIMEOUT ({timeout:g} s); stopped",),
        )
        deadline.daemon = True
        started = time.perf_counter()
        messages: list[Any] = []
        failure: BaseException | None = None
        answer = ""
        ctx: Any = None
        deadline.start()
        try:
            repair_thread(self.agent, {"configurable": config["configurable"]})
            ctx = self._context(str(run_id), call_id, token, confirm)
            messages = self._run_graph(human, config, ctx, on_token)
            final = messages[-1] if messages else None
            answer = _answer_text(final) if isinstance(final, AIMessage) else ""
        except (Exception, KeyboardInterrupt) as exc:
            failure = exc
        finally:
            deadline.cancel()

        status, error = "ok", None
        if failure is not None:
            error = describe_fault(failure, self._secret())
            recorder.abandon_unfinished(error)
        effects = effects_of(recorder.ordered(), self.settings.timezone, self.clock())
        if error is not None:
            status, answer = "error", ""
            if effects:
                error = f"{error}. {already_done([e.text for e in effects])}"
            messages = thread_messages(self.agent, config)
            settle(self.agent, config, messages, human.id, recorder, error)
        notes = self._notes(recorder, answer)
        elapsed_ms = (time.perf_counter() - started) * 1000

        turn = turn_messages(messages, human.id)
        fields = recorder.fields(fallback_model=self.model_name)
        record = self.observability.log_agent_call(
            call_id=call_id,
            user_id=self.user_id,
            session_id=self.thread_id,
            agent_run_id=str(run_id),
            user_message=text,
            agent_response="\n".join(filter(None, [answer, *notes])) or None,
            agent_state={
                "thread_id": self.thread_id,
                # What the model was told this turn (`agentcal logs show ID --prompt`).
                "system_prompt": ctx.system_prompt if ctx is not None else None,
                "messages": messages_to_dict(turn),
            },
            execution_time_ms=round(elapsed_ms, 3),
            status=status,
            error=error,
            **fields,
        )
        self.turns += 1
        self.session_cost += record.llm_cost_usd or 0.0
        self.session_tokens += record.llm_total_tokens or 0
        cancelled = isinstance(failure, KeyboardInterrupt) or (
            failure is not None and token.reason == "cancelled"
        )
        return TurnResult(
            answer=answer, status=status, error=error, record=record,
            done=[e.text for e in effects], cancelled=cancelled, notes=notes,
        )  # fmt: skip

    def _notes(self, recorder: Any, answer: str) -> list[str]:
        """agentcal's own lines after the answer: what the turn's insights put on the
        calendar, and notes the tool results carry that the answer does not repeat."""
        from agentcal.agent.insight_jobs import settle_recorded_insights

        outputs = [
            (s.name, s.output)
            for s in recorder.ordered()
            if s.step_type == "tool" and s.status == "ok" and isinstance(s.output, dict)
        ]
        recorded = [o for name, o in outputs if name == "record_user_insight" and "queued" in o]
        notes = [n for _, o in outputs for n in tool_notes(o) if n not in answer]
        try:
            notes += settle_recorded_insights(
                recorded, self.user_id, self.settings.timezone, self.engine
            )
        except Exception:  # the insight stays queued for a worker: say so, never fail the turn
            log.warning("could not apply the recorded insights now", exc_info=True)
            notes.append("Your insight is saved in the queue; `agentcal daemon` applies it.")
        return list(dict.fromkeys(notes))

    def _run_graph(
        self, human: Any, config: dict[str, Any], ctx: Any, on_token: Callable[[str], None] | None
    ) -> list[Any]:
        from langchain_core.messages import AIMessageChunk

        payload = {"messages": [human]}
        if on_token is None:
            return list(self.agent.invoke(payload, config, context=ctx)["messages"])
        messages: list[Any] = []
        for mode, data in self.agent.stream(
            payload, config, context=ctx, stream_mode=["messages", "values"]
        ):
            if mode == "values":
                messages = list(data.get("messages", []))
                continue
            chunk, meta = data
            if meta.get("langgraph_node") == "model" and isinstance(chunk, AIMessageChunk):
                piece = _answer_text(chunk) if isinstance(chunk.content, list) else chunk.content
                if piece:
                    on_token(piece)
        return messages

    def _secret(self) -> str | None:
        key = self.settings.openai_api_key
        return key.get_secret_value() if key is not None else None

    def insights(self) -> list[Any]:
        from agentcal.insights.user_insights import UserInsightsService

        return UserInsightsService(self.engine).get_user_insights(self.user_id)


MAX_TOOL_NOTES = 5


def tool_notes(result: Any, depth: int = 0) -> list[str]:
    """Notes a tool result carries for the user ("note"/"notes" keys, nested up to 3 deep),
    such as a calendar's "no longer in your Google calendar"."""
    out: list[str] = []
    if depth > 3:
        return out
    if isinstance(result, dict):
        for key, value in result.items():
            if key in ("note", "notes"):
                items = value if isinstance(value, list) else [value]
                out += [v for v in items if isinstance(v, str) and v.strip()]
            else:
                out += tool_notes(value, depth + 1)
    elif isinstance(result, list):
        for item in result:
            out += tool_notes(item, depth + 1)
    return out[:MAX_TOOL_NOTES]


def open_checkpointer(settings: AnySettings) -> Any:
    """LangGraph's SQLite checkpoint store in the data dir (chat sessions survive restarts)."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    from agentcal.files import create_private

    settings.ensure_data_dir()
    path = settings.checkpoint_path
    create_private(path, what="the chat checkpoint store", fix="remove the link")
    return SqliteSaver(sqlite3.connect(path, check_same_thread=False))
