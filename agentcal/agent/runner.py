"""One chat turn, start to finish: budget check, the graph run, faults, the recorded row.

`ChatRunner` is what the CLI (and the tests and benchmarks) drive; it never raises for a
failed model call: the turn comes back with status "error" and a one-line message.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import uuid4
from zoneinfo import ZoneInfo

from agentcal.errors import AgentcalError, BudgetExceededError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agentcal.agent.cancel import CancelToken
    from agentcal.models import AgentObservability
    from agentcal.records import CallRow
    from agentcal.settings import Settings

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


def describe_fault(exc: BaseException, secret: str | None = None) -> str:
    """One line a user can act on, for a failed turn. Never contains the API key."""
    from langgraph.errors import GraphRecursionError

    from agentcal.agent.cancel import TurnStopped

    openai = sys.modules.get("openai")
    if isinstance(exc, KeyboardInterrupt):
        text = "cancelled"
    elif isinstance(exc, TurnStopped):
        text = exc.reason
    elif isinstance(exc, GraphRecursionError):
        text = "the agent took too many steps (AGENTCAL_RECURSION_LIMIT); stopped"
    elif openai is None:  # no OpenAI client was ever loaded (the offline model): not its error
        text = _generic_fault(exc)
    elif isinstance(exc, openai.APITimeoutError):
        text = "the model server did not answer in time (AGENTCAL_LLM_TIMEOUT)"
    elif isinstance(exc, openai.APIConnectionError):
        text = "cannot reach the model server (connection failed); check OPENAI_BASE_URL"
    elif isinstance(exc, openai.RateLimitError):
        text = "the model server is rate limiting requests (HTTP 429); try again shortly"
    elif isinstance(exc, openai.AuthenticationError):
        text = "the model server rejected the API key (HTTP 401); check OPENAI_API_KEY"
    elif isinstance(exc, openai.APIStatusError):
        kind = "server error" if exc.status_code >= 500 else "request refused"
        text = f"the model server failed ({kind}, HTTP {exc.status_code})"
    else:
        text = _generic_fault(exc)
    from agentcal.masking import mask

    text = mask(text, extra=(secret,))
    return text.splitlines()[0] if text else "the turn failed"


def _generic_fault(exc: BaseException) -> str:
    if isinstance(exc, AgentcalError):
        return str(exc)
    return f"the turn failed: {type(exc).__name__}: {exc}"


def _answer_text(message: Any) -> str:
    from agentcal.agent.recorder import _text

    return _text(getattr(message, "content", "")).strip()


class ChatRunner:
    """Runs turns of one chat session for one user against one chat model."""

    def __init__(
        self,
        model: BaseChatModel,
        *,
        user_id: str,
        settings: Settings | None = None,
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

        name = self.session_name
        known = self.sessions.list_sessions(self.user_id) if new or name is None else []
        if name is None:
            name = self.session_name = known[0].name if known else DEFAULT_SESSION
        old = next((r.thread_id for r in known if r.name == name), None) if new else None
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

    def _repair_thread(self, config: dict[str, Any]) -> None:
        """A cancelled or failed turn can leave tool calls without results: answer them."""
        from langchain_core.messages import AIMessage, ToolMessage

        messages = self.agent.get_state(config).values.get("messages", [])
        if not messages or not isinstance(messages[-1], AIMessage) or not messages[-1].tool_calls:
            return
        self.agent.update_state(
            config,
            {
                "messages": [
                    ToolMessage(content="not run: the turn was interrupted", tool_call_id=c["id"])
                    for c in messages[-1].tool_calls
                ]
            },
            as_node="tools",
        )

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
        what it already did (`done`), and leaves the conversation clean: see `_settle`.

        Deleting or moving several events, or anything in the past, asks `confirm(question)`
        first; without it such a turn is refused (agentcal.agent.confirm). Insights the turn
        recorded are applied at once when no job worker runs, and `notes` say what reached
        the calendar (agentcal.agent.insight_jobs), with any note a tool result carries.
        """
        from langchain_core.messages import AIMessage, HumanMessage, messages_to_dict

        from agentcal.agent.cancel import CancelToken
        from agentcal.agent.effects import already_done, effects_of
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
            self._repair_thread({"configurable": config["configurable"]})
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
            messages = self._thread_messages(config)
            self._settle(config, messages, human.id, recorder, error)
        notes = self._notes(recorder, answer)
        elapsed_ms = (time.perf_counter() - started) * 1000

        turn = _turn_messages(messages, human.id)
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

    def _settle(
        self, config: dict[str, Any], messages: list[Any], human_id: str | None,
        recorder: Any, error: str,
    ) -> None:  # fmt: skip
        """Leave a clean conversation after a turn that stopped early or failed.

        Nothing changed: the turn leaves no trace (its messages are removed). Something
        changed: the user's message, the tool calls that ran with their results, and a short
        note of the failure stay, so the next model call knows what exists; calls that never
        ran and replies the user never saw go.
        """
        from langchain_core.messages import AIMessage, RemoveMessage
        from langgraph.graph.message import REMOVE_ALL_MESSAGES

        start = next(
            (i for i, m in enumerate(messages) if getattr(m, "id", None) == human_id), None
        )
        if start is None:
            return  # the turn never reached the conversation
        kept = _kept_turn(messages[start:], recorder)
        if kept:
            kept.append(AIMessage(content=f"(This turn stopped before I finished: {error}.)"))
        try:
            self.agent.update_state(
                {"configurable": config["configurable"]},
                {"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES), *messages[:start], *kept]},
                as_node="model",
            )
        except Exception:  # the checkpoint store failed: the next turn repairs what it finds
            log.warning("could not clean up the conversation after a failed turn", exc_info=True)

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

    def _thread_messages(self, config: dict[str, Any]) -> list[Any]:
        try:
            state = self.agent.get_state({"configurable": config["configurable"]})
            return list(state.values.get("messages", []))
        except Exception:  # the checkpoint store itself failed: record what we have
            return []

    def _secret(self) -> str | None:
        key = self.settings.openai_api_key
        return key.get_secret_value() if key is not None else None

    def insights(self) -> list[Any]:
        from agentcal.insights.user_insights import UserInsightsService

        return UserInsightsService(self.engine).get_user_insights(self.user_id)


def run_interruptibly(
    runner: ChatRunner,
    text: str,
    *,
    on_token: Callable[[str], None] | None = None,
    on_cancel: Callable[[], None] | None = None,
    on_wait: Callable[[], None] | None = None,
    ask: Callable[[str], bool] | None = None,
    confirm: Callable[[str], bool] | None = None,
) -> TurnResult:
    """Run a turn in a worker thread, so that Ctrl-C in this (the main) thread cancels it: the
    turn then stops before its next call and comes back, at once, with what it already did.

    A model call cannot be interrupted inside LangGraph's executor, so the turn's guard gives
    up on it instead (agentcal.agent.cancel.call_abandonably). A second Ctrl-C stops waiting
    and raises KeyboardInterrupt; the next turn then waits for this one to end (`on_wait` is
    called first, to say so). A confirmation the turn needs is put to `ask` on this thread
    (the REPL's input()), or decided by `confirm` (chat -m --yes); with neither it is refused.
    """
    import queue

    from agentcal.agent.cancel import CancelToken

    previous = runner.busy
    if previous is not None and not previous.is_set():
        if on_wait is not None:
            on_wait()
        while not previous.wait(0.05):  # short waits keep Ctrl-C responsive
            pass
    token = CancelToken()
    outcome: list[Any] = []
    done = threading.Event()
    questions: queue.SimpleQueue[tuple[str, threading.Event, dict[str, bool]]] = queue.SimpleQueue()

    def put_to_main_thread(question: str) -> bool:
        reply, box = threading.Event(), {"yes": False}
        questions.put((question, reply, box))
        token.wake_on_cancel(reply)
        reply.wait()
        token.forget(reply)
        return box["yes"]

    def answer_questions(asking: Callable[[str], bool] | None) -> None:
        while not questions.empty():
            question, reply, box = questions.get()
            try:
                box["yes"] = asking(question) if asking is not None else False
            finally:
                reply.set()

    def work() -> None:
        try:
            decide = put_to_main_thread if ask is not None else confirm
            outcome.append(runner.run_turn(text, on_token=on_token, cancel=token, confirm=decide))
        except BaseException as exc:  # handed to the main thread
            outcome.append(exc)
        finally:
            _write_local_calendars()
            done.set()

    runner.busy = done
    threading.Thread(target=work, daemon=True, name="agentcal-turn").start()
    try:
        # An Event, not Thread.join: a join interrupted by Ctrl-C can mark a live thread as
        # stopped (CPython gh-90882).
        while not done.wait(0.05):
            answer_questions(ask)
    except KeyboardInterrupt:
        token.cancel("cancelled")
        answer_questions(None)  # a question being asked is a no
        if on_cancel is not None:
            on_cancel()
        while not done.wait(0.05):  # a second Ctrl-C stops waiting
            answer_questions(None)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


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


def _kept_turn(turn: list[Any], recorder: Any) -> list[Any]:
    """What of a stopped turn stays in the conversation: [] when it changed nothing; else the
    user's message and every model message with a tool call that ran, each followed by the
    results of all its calls (recorded ones filled in, the others marked not run)."""
    import json

    from langchain_core.messages import AIMessage, ToolMessage

    from agentcal.agent.effects import CHANGING_TOOLS

    ran = {
        s.extra.get("tool_call_id"): s
        for s in recorder.ordered()
        if s.step_type == "tool" and s.extra.get("tool_call_id") and s.status == "ok"
    }
    if not any(s.name in CHANGING_TOOLS for s in ran.values()):
        return []
    results = {m.tool_call_id: m for m in turn if isinstance(m, ToolMessage)}
    kept = [turn[0]]
    for message in turn[1:]:
        if not isinstance(message, AIMessage):
            continue  # tool results follow their call below; a summary stays out
        calls = message.tool_calls or []
        if not any(c["id"] in ran or c["id"] in results for c in calls):
            continue  # a reply not shown, or calls that never ran
        kept.append(message)
        for c in calls:
            if c["id"] in results:
                kept.append(results[c["id"]])
            elif c["id"] in ran:
                output = ran[c["id"]].output
                content = output if isinstance(output, str) else json.dumps(output, default=str)
                kept.append(ToolMessage(content=content, tool_call_id=c["id"], name=c["name"]))
            else:
                kept.append(
                    ToolMessage(
                        content="not run: the turn stopped",
                        tool_call_id=c["id"],
                        name=c["name"],
                        status="error",
                    )
                )
    return kept


def _turn_messages(messages: list[Any], human_id: str | None) -> list[Any]:
    """This turn's messages: from its user message on."""
    for index in range(len(messages) - 1, -1, -1):
        if getattr(messages[index], "id", None) == human_id:
            return messages[index:]
    return []


def open_checkpointer(settings: Settings) -> Any:
    """LangGraph's SQLite checkpoint store in the data dir (chat sessions survive restarts)."""
    import sqlite3

    from langgraph.checkpoint.sqlite import SqliteSaver

    from agentcal.files import create_private

    settings.ensure_data_dir()
    path = settings.checkpoint_path
    create_private(path, what="the chat checkpoint store", fix="remove the link")
    return SqliteSaver(sqlite3.connect(path, check_same_thread=False))


def _write_local_calendars() -> None:
    """The ICS file shows what the turn changed before the answer is printed."""
    from agentcal.planning.push import write_local_calendars

    for problem in write_local_calendars():
        log.warning("%s", problem)
