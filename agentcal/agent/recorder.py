"""Records a turn from LangChain callbacks: one agent_observability row plus its steps.

The tools know nothing about recording: every LLM call and tool call reports itself through
the callback manager, and `TurnRecorder.fields()` turns that into `log_agent_call` arguments.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from agentcal.agent.operations import INTENTS, TOOL_ACTIONS

# When a turn uses several tools, the one that changed most names the turn.
ACTION_PRIORITY = ("schedule", "create", "update", "delete", "insight", "search", "read")


@dataclass
class _Step:
    step_type: str
    run_id: str
    parent_run_id: str | None
    name: str | None
    started_at: datetime
    t0: float
    duration_ms: float | None = None
    llm_model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    tokens_estimated: bool = False
    input: Any = None
    output: Any = None
    status: str = "ok"
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "parent_run_id": self.parent_run_id,
            "step_type": self.step_type, "name": self.name, "started_at": self.started_at,
            "duration_ms": self.duration_ms, "llm_model": self.llm_model,
            "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens, "input": self.input, "output": self.output,
            "status": self.status, "error": self.error,
        }  # fmt: skip


def parse_tool_output(output: Any) -> Any:
    """A tool's result as JSON data (our tools return JSON text)."""
    content = getattr(output, "content", output)
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part) for part in content
        )
    return "" if content is None else str(content)


class TurnRecorder(BaseCallbackHandler):
    """Collects the LLM and tool calls of one turn."""

    raise_error = False

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.steps: dict[str, _Step] = {}

    # LLM calls ---------------------------------------------------------------------------
    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[Any]], *, run_id: UUID,
        parent_run_id: UUID | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        params = kwargs.get("invocation_params") or {}
        model = params.get("model") or params.get("model_name")
        step = _Step(
            "llm", str(run_id), str(parent_run_id) if parent_run_id else None,
            model, datetime.now(UTC), time.perf_counter(), llm_model=model,
            input={"messages": len(messages[0]) if messages else 0},
        )  # fmt: skip
        with self._lock:
            self.steps[str(run_id)] = step

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        step = self.steps.get(str(run_id))
        if step is None:
            return
        step.duration_ms = (time.perf_counter() - step.t0) * 1000
        generation = response.generations[0][0] if response.generations else None
        message = getattr(generation, "message", None)
        meta = getattr(message, "response_metadata", None) or {}
        step.llm_model = meta.get("model_name") or meta.get("model") or step.llm_model
        step.tokens_estimated = bool(meta.get("tokens_estimated"))
        usage = getattr(message, "usage_metadata", None)
        if usage:
            step.prompt_tokens = usage.get("input_tokens")
            step.completion_tokens = usage.get("output_tokens")
            step.cached_tokens = (usage.get("input_token_details") or {}).get("cache_read")
        if message is not None:
            step.output = {
                "content": _text(message.content),
                "tool_calls": [
                    {"name": c["name"], "args": c["args"]}
                    for c in getattr(message, "tool_calls", None) or []
                ],
            }

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._fail(run_id, error)

    # Tool calls --------------------------------------------------------------------------
    def on_tool_start(
        self, serialized: dict[str, Any], input_str: str, *, run_id: UUID,
        parent_run_id: UUID | None = None, inputs: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        args = {k: v for k, v in (inputs or {}).items() if k != "runtime"}
        step = _Step(
            "tool", str(run_id), str(parent_run_id) if parent_run_id else None,
            serialized.get("name") or kwargs.get("name"), datetime.now(UTC),
            time.perf_counter(), input=args or parse_tool_output(input_str),
            extra={"tool_call_id": kwargs.get("tool_call_id")},
        )  # fmt: skip
        with self._lock:
            self.steps[str(run_id)] = step

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        step = self.steps.get(str(run_id))
        if step is None:
            return
        step.duration_ms = (time.perf_counter() - step.t0) * 1000
        step.output = parse_tool_output(output)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._fail(run_id, error)

    def _fail(self, run_id: UUID, error: BaseException) -> None:
        step = self.steps.get(str(run_id))
        if step is None:
            return
        step.duration_ms = (time.perf_counter() - step.t0) * 1000
        step.status = "error"
        step.error = f"{type(error).__name__}: {error}"

    def abandon_unfinished(self, reason: str) -> None:
        """Mark the calls still in flight as given up (a stopped turn does not wait for them)."""
        with self._lock:
            steps = list(self.steps.values())
        for step in steps:
            if step.duration_ms is None:
                step.duration_ms = (time.perf_counter() - step.t0) * 1000
                step.status = "error"
                step.error = f"abandoned: {reason}"

    # The turn ------------------------------------------------------------------------------
    def ordered(self) -> list[_Step]:
        with self._lock:  # a call abandoned by a stopped turn may still report from its thread
            steps = list(self.steps.values())
        return sorted(steps, key=lambda s: s.t0)

    def fields(self, fallback_model: str | None = None) -> dict[str, Any]:
        """log_agent_call arguments for what the callbacks saw (not status, messages, timing)."""
        steps = self.ordered()
        llm = [s for s in steps if s.step_type == "llm"]
        tools = [s for s in steps if s.step_type == "tool"]
        used = [s.name for s in tools if s.name]
        actions = {TOOL_ACTIONS.get(name, name) for name in used}
        action = next((a for a in ACTION_PRIORITY if a in actions), None) or (
            "answer" if not used else used[0]
        )

        def total(attr: str) -> int | None:
            values = [getattr(s, attr) for s in llm if getattr(s, attr) is not None]
            return sum(values) if values else None

        answered = [s.llm_model for s in llm if s.llm_model and s.duration_ms is not None]
        return {
            "agent_action": action,
            "agent_tool": ",".join(dict.fromkeys(used))[:200] or None,
            "llm_model": answered[-1] if answered else fallback_model,
            "llm_prompt_tokens": total("prompt_tokens"),
            "llm_completion_tokens": total("completion_tokens"),
            "llm_cached_tokens": total("cached_tokens"),
            "tokens_estimated": any(s.tokens_estimated for s in llm),
            "intent_category": INTENTS.get(action, "calendar_change"),
            "entities": [{"tool": s.name, "args": s.input} for s in tools] or None,
            "tool_result": [
                {
                    "tool": s.name,
                    "status": s.status,
                    "result": s.output if s.error is None else s.error,
                }
                for s in tools
            ]
            or None,
            "steps": [s.row() for s in steps],
        }
