"""Recorded turns and jobs -> OpenTelemetry spans, following the GenAI semantic conventions.

A chat turn is one trace: a root `invoke_agent agentcal` span, and under it one `chat {model}`
span per LLM call and one `execute_tool {name}` span per tool call, nested as `agentcal logs
show` nests them (`call_log.step_tree`). An MCP tool call is a root `tools/call {tool}` span
(the MCP conventions) over its `execute_tool` span. agentcal's own fields are under `agentcal.`.

Ids are derived from what was recorded: the trace id is the turn's run id (a UUID, so the trace
of `logs show`'s "run 6f1c..." is 6f1c... in Jaeger or Phoenix), span ids come from the steps'
run ids. Exporting the same turn twice gives the same ids, and a job that a turn queued links to
that turn's trace.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

AGENT_NAME = "agentcal"
_MASK64 = (1 << 64) - 1


class PlannedIds(IdGenerator):
    """Gives the ids planned for the next span on this thread, else random ones."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()
        self._plan = threading.local()

    @contextmanager
    def plan(self, trace_id: int | None, span_id: int | None) -> Iterator[None]:
        self._plan.trace_id, self._plan.span_id = trace_id, span_id
        try:
            yield
        finally:
            self._plan.trace_id = self._plan.span_id = None

    def generate_trace_id(self) -> int:
        return getattr(self._plan, "trace_id", None) or self._random.generate_trace_id()

    def generate_span_id(self) -> int:
        return getattr(self._plan, "span_id", None) or self._random.generate_span_id()


def _uuid_int(text: Any) -> int | None:
    try:
        return uuid.UUID(str(text)).int or None
    except (ValueError, TypeError):
        return None


def _hash_int(*parts: Any, bits: int) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return (int.from_bytes(digest[: bits // 8], "big")) or 1


def trace_id_for(run_id: Any, *fallback: Any) -> int:
    """A turn's trace id: its run id's 128 bits (or a hash of the row when it has none)."""
    return _uuid_int(run_id) or _hash_int("trace", run_id, *fallback, bits=128)


def span_id_for(run_id: Any, *fallback: Any) -> int:
    """A span id from a run id (the low 64 bits of the UUID, or a hash)."""
    value = _uuid_int(run_id)
    if value is not None and value & _MASK64:
        return value & _MASK64
    return _hash_int("span", run_id, *fallback, bits=64)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000) * 1000


def _ms_ns(ms: float | None) -> int:
    return int((ms or 0.0) * 1_000_000)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _clean(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """OpenTelemetry attribute values: no None, JSON text for anything not primitive."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, str | bool | int | float):
            out[key] = value
        else:
            out[key] = _json(value)
    return out


def _error_type(error: str | None, default: str) -> str:
    """A low-cardinality error.type: an exception class name when the text starts with one."""
    head = (error or "").split(":", 1)[0].strip()
    return head if head.isidentifier() and head[:1].isupper() else default


def _text_message(role: str, text: str | None, finish_reason: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": role, "parts": [{"type": "text", "content": text or ""}]}
    if finish_reason:
        message["finish_reason"] = finish_reason
    return message


def _llm_output_messages(output: Any) -> list[dict[str, Any]] | None:
    if not isinstance(output, dict):
        return None
    parts: list[dict[str, Any]] = []
    if output.get("content"):
        parts.append({"type": "text", "content": output["content"]})
    for call in output.get("tool_calls") or []:
        parts.append({"type": "tool_call", "name": call.get("name"), "arguments": call.get("args")})
    finish = "tool_call" if output.get("tool_calls") else "stop"
    return [{"role": "assistant", "parts": parts, "finish_reason": finish}]


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


class SpanWriter:
    """Turns recorded rows into spans on `tracer` (whose provider uses `ids`)."""

    def __init__(self, tracer: trace.Tracer, ids: PlannedIds, *, capture_content: bool) -> None:
        self.tracer = tracer
        self.ids = ids
        self.capture_content = capture_content

    def _span(
        self, name: str, *, trace_id: int, span_id: int, parent: SpanContext | None,
        kind: SpanKind, attributes: Mapping[str, Any], start_ns: int, end_ns: int,
        error: str | None = None, error_type: str = "_OTHER", links: Sequence[Link] = (),
    ) -> SpanContext:  # fmt: skip
        # An empty context for a root: never a child of whatever span happens to be current.
        context = (
            Context()
            if parent is None
            else trace.set_span_in_context(trace.NonRecordingSpan(parent), Context())
        )
        with self.ids.plan(trace_id if parent is None else None, span_id):
            span = self.tracer.start_span(
                name, context=context, kind=kind, attributes=_clean(attributes),
                links=links, start_time=start_ns,
            )  # fmt: skip
        if error is not None:
            from agentcal.masking import mask  # an error leaving for a trace receiver

            span.set_attribute("error.type", error_type)
            span.set_status(
                Status(StatusCode.ERROR, mask(error.splitlines()[0]) if error else None)
            )
        span.end(end_time=max(end_ns, start_ns))
        return span.get_span_context()

    # -- a recorded turn --------------------------------------------------------------------

    def call(self, call: Any, steps: Sequence[Any]) -> None:
        """One agent_observability row and its steps -> one trace."""
        run_id = _get(call, "agent_run_id")
        row_key = (_get(call, "user_id"), _get(call, "id"), _get(call, "created_at"))
        trace_id = trace_id_for(run_id, *row_key)
        root_id = span_id_for(run_id, *row_key)
        state = _get(call, "agent_state")
        mcp = state.get("mcp") if isinstance(state, Mapping) else None
        start_ns = _ns(_get(call, "created_at"))
        llm_steps = [s for s in steps if _get(s, "step_type") == "llm"]
        step_end = max(
            (_ns(_get(s, "started_at")) + _ms_ns(_get(s, "duration_ms")) for s in steps),
            default=start_ns,
        )
        end_ns = max(start_ns + _ms_ns(_get(call, "execution_time_ms")), step_end)
        conversation = _get(call, "session_id")
        provider = _get(call, "llm_provider")

        attrs: dict[str, Any] = {
            "gen_ai.conversation.id": conversation,
            "agentcal.run_id": run_id,
            "agentcal.call_id": _get(call, "id"),
            "agentcal.user_id": _get(call, "user_id"),
            "agentcal.action": _get(call, "agent_action"),
            "agentcal.tool": _get(call, "agent_tool"),
            "agentcal.intent": _get(call, "intent_category"),
            "agentcal.status": _get(call, "status"),
            "agentcal.cost_usd": _get(call, "llm_cost_usd"),
            "agentcal.cost_source": _get(call, "cost_source"),
        }
        if mcp is not None:
            tool = _get(call, "agent_tool") or "?"
            client = mcp.get("client") or {}
            name, kind = f"tools/call {tool}", SpanKind.SERVER
            attrs |= {
                "mcp.method.name": "tools/call",
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": tool,
                "mcp.protocol.version": mcp.get("protocol_version"),
                "network.transport": "pipe" if mcp.get("transport") == "stdio" else "tcp",
                "agentcal.mcp.client.name": client.get("name"),
                "agentcal.mcp.client.version": client.get("version"),
            }
        else:
            name, kind = f"invoke_agent {AGENT_NAME}", SpanKind.INTERNAL
            request_model = next((_get(s, "name") for s in llm_steps if _get(s, "name")), None)
            attrs |= {
                "gen_ai.operation.name": "invoke_agent",
                "gen_ai.agent.name": AGENT_NAME,
                "gen_ai.provider.name": provider,
                "gen_ai.request.model": request_model or _get(call, "llm_model"),
                "gen_ai.response.model": _get(call, "llm_model") if llm_steps else None,
                "gen_ai.usage.input_tokens": _get(call, "llm_prompt_tokens"),
                "gen_ai.usage.output_tokens": _get(call, "llm_completion_tokens"),
                "gen_ai.usage.cache_read.input_tokens": _get(call, "llm_cached_tokens"),
            }
            if self.capture_content:
                attrs["gen_ai.input.messages"] = [_text_message("user", _get(call, "user_message"))]
                if _get(call, "agent_response") is not None:
                    attrs["gen_ai.output.messages"] = [
                        _text_message("assistant", _get(call, "agent_response"), "stop")
                    ]
        error = _get(call, "error") if _get(call, "status") == "error" else None
        root = self._span(
            name, trace_id=trace_id, span_id=root_id, parent=None, kind=kind,
            attributes=attrs, start_ns=start_ns, end_ns=end_ns, error=error,
            error_type="cancelled" if error == "cancelled" else "agentcal.turn_failed",
        )  # fmt: skip

        known = {_get(s, "run_id") for s in steps if _get(s, "run_id")}
        for step in steps:
            parent_run = _get(step, "parent_run_id")
            parent = root
            if parent_run and parent_run != run_id and parent_run in known:
                parent = SpanContext(
                    trace_id, span_id_for(parent_run), is_remote=False,
                    trace_flags=TraceFlags(TraceFlags.SAMPLED),
                )  # fmt: skip
            self._step(step, trace_id, parent, conversation, provider)

    def _step(
        self, step: Any, trace_id: int, parent: SpanContext, conversation: Any, provider: Any
    ) -> None:
        start_ns = _ns(_get(step, "started_at"))
        end_ns = start_ns + _ms_ns(_get(step, "duration_ms"))
        span_id = span_id_for(_get(step, "run_id"), trace_id, _get(step, "seq"), start_ns)
        error = _get(step, "error") if _get(step, "status") != "ok" else None
        if _get(step, "step_type") == "llm":
            request_model = _get(step, "name") or _get(step, "llm_model")
            attrs: dict[str, Any] = {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": provider,
                "gen_ai.conversation.id": conversation,
                "gen_ai.request.model": request_model,
                "gen_ai.response.model": _get(step, "llm_model") if end_ns > start_ns else None,
                "gen_ai.usage.input_tokens": _get(step, "prompt_tokens"),
                "gen_ai.usage.output_tokens": _get(step, "completion_tokens"),
                "gen_ai.usage.cache_read.input_tokens": _get(step, "cached_tokens"),
            }
            if self.capture_content:
                attrs["gen_ai.output.messages"] = _llm_output_messages(_get(step, "output"))
            name, kind = f"chat {request_model or ''}".strip(), SpanKind.CLIENT
        else:
            tool = _get(step, "name") or "?"
            attrs = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": tool,
                "gen_ai.tool.type": "function",
                "gen_ai.conversation.id": conversation,
            }
            if self.capture_content:
                attrs["gen_ai.tool.call.arguments"] = _get(step, "input")
                attrs["gen_ai.tool.call.result"] = _get(step, "output")
            name, kind = f"execute_tool {tool}", SpanKind.INTERNAL
        self._span(
            name, trace_id=trace_id, span_id=span_id, parent=parent, kind=kind,
            attributes=attrs, start_ns=start_ns, end_ns=end_ns, error=error,
            error_type=_error_type(error, "_OTHER"),
        )  # fmt: skip

    # -- a background job -------------------------------------------------------------------

    def job(self, job: Any, start_ns: int, end_ns: int, error: str | None) -> None:
        """One run of a queued job: its own trace, linked to the turn that queued it."""
        payload = _get(job, "payload")
        links: list[Link] = []
        run_id = payload.get("agent_run_id") if isinstance(payload, Mapping) else None
        if _uuid_int(run_id) is not None:
            links.append(
                Link(
                    SpanContext(
                        trace_id_for(run_id),
                        span_id_for(run_id),
                        is_remote=True,
                        trace_flags=TraceFlags(TraceFlags.SAMPLED),
                    ),
                    {"agentcal.link": "queued_by_turn"},
                )
            )
        kind = _get(job, "kind")
        self._span(
            f"job {kind}", trace_id=RandomIdGenerator().generate_trace_id(),
            span_id=RandomIdGenerator().generate_span_id(), parent=None,
            kind=SpanKind.CONSUMER, start_ns=start_ns, end_ns=end_ns, links=links,
            attributes={
                "agentcal.job.id": _get(job, "id"),
                "agentcal.job.kind": kind,
                "agentcal.job.attempt": _get(job, "attempts"),
                "agentcal.job.max_attempts": _get(job, "max_attempts"),
                "agentcal.user_id": _get(job, "user_id"),
                "agentcal.run_id": run_id,
                "agentcal.status": "error" if error is not None else "ok",
            },
            error=error, error_type=_error_type(error, "agentcal.job_failed"),
        )  # fmt: skip
