"""Agent observability: one row per agent turn (the seed's `AgentObservabilityService`).

from agentcal.observability.calls import agent_observability_service
agent_observability_service.log_agent_call(user_id=..., agent_action="create", ...)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcal import otel
from agentcal import validation as v
from agentcal.errors import NotFoundError, ValidationError
from agentcal.observability.pricing import price_call
from agentcal.reader import columns, parse_time
from agentcal.records import CallRow, StepRow
from agentcal.service import Service

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import AgentObservability, AgentStep

# "running": a row reserved at the start of a turn (`reserve_call`) and not yet completed.
STATUSES = ("ok", "error", "running")
STALE_TURN = timedelta(hours=1)  # far beyond recursion_limit x llm_timeout
INTERRUPTED = "interrupted: the process ended before the turn finished"


def _tokens(value: Any, field: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{field} must be a non-negative whole number (got {value!r})")
    return value


class AgentObservabilityService(Service):
    """Records and reads agent turns."""

    def log_agent_call(
        self,
        *,
        user_id: str,
        agent_action: str | None = None,
        user_message: str | None = None,
        agent_response: str | None = None,
        agent_tool: str | None = None,
        tool_result: Any = None,
        execution_time_ms: float | None = None,
        llm_model: str | None = None,
        llm_total_tokens: int | None = None,
        llm_cost_usd: float | None = None,
        llm_prompt_tokens: int | None = None,
        llm_completion_tokens: int | None = None,
        llm_cached_tokens: int | None = None,
        llm_provider: str | None = None,
        tokens_estimated: bool = False,
        agent_run_id: str | None = None,
        session_id: str | None = None,
        agent_state: Any = None,
        intent_category: str | None = None,
        entities: Any = None,
        status: str = "ok",
        error: str | None = None,
        created_at: datetime | None = None,
        steps: Iterable[Mapping[str, Any]] = (),
        call_id: int | None = None,
        session: Session | None = None,
    ) -> AgentObservability | CallRow:
        """Record one agent turn and return the stored row (a `CallRow` when it was written
        on the default store's stdlib path, `agentcal.writer`; the same fields either way).

        With `call_id` (a row from `reserve_call`), that row is completed instead of a new one
        being added, so what the turn's tools queued can already point at it.

        Without `llm_cost_usd`, the cost is computed from the token counts with genai-prices
        (or AGENTCAL_PRICE_OVERRIDES); a model it cannot price is stored with a null cost and
        the reason in `cost_note`, never as 0.
        """
        values: dict[str, Any] = dict(
            created_at=created_at or datetime.now(UTC),
            user_id=v.user_id(user_id),
            session_id=session_id,
            agent_run_id=str(agent_run_id) if agent_run_id is not None else None,
            agent_action=agent_action,
            agent_tool=agent_tool,
            llm_provider=llm_provider,
            llm_model=llm_model,
            llm_prompt_tokens=_tokens(llm_prompt_tokens, "llm_prompt_tokens"),
            llm_completion_tokens=_tokens(llm_completion_tokens, "llm_completion_tokens"),
            llm_total_tokens=_tokens(llm_total_tokens, "llm_total_tokens"),
            llm_cached_tokens=_tokens(llm_cached_tokens, "llm_cached_tokens"),
            tokens_estimated=bool(tokens_estimated),
            user_message=user_message,
            agent_response=agent_response,
            agent_state=v.json_value(agent_state, "agent_state"),
            tool_result=v.json_value(tool_result, "tool_result"),
            execution_time_ms=self._non_negative(execution_time_ms, "execution_time_ms"),
            intent_category=intent_category,
            entities=v.json_value(entities, "entities"),
            status=v.one_of(status, STATUSES, "status"),
            error=error,
        )
        if values["llm_total_tokens"] is None and (
            values["llm_prompt_tokens"] is not None or values["llm_completion_tokens"] is not None
        ):
            values["llm_total_tokens"] = (values["llm_prompt_tokens"] or 0) + (
                values["llm_completion_tokens"] or 0
            )
        self._apply_cost(values, llm_cost_usd)
        step_values = [dict(step) for step in steps]

        raw = self.raw_writer(session)
        row: AgentObservability | CallRow
        step_rows: list[AgentStep] | list[StepRow]
        if raw is not None:
            row, step_rows = _write_raw(raw, values, step_values, call_id)
        else:
            from agentcal.models import AgentObservability, AgentStep

            orm_row = AgentObservability(**values)
            orm_steps = [AgentStep(**step) for step in step_values]
            if session is None and call_id is None:
                row = self._insert(orm_row, orm_steps)
            else:
                row = self._store(orm_row, orm_steps, call_id, session)
            step_rows = orm_steps
        otel.export_call(row, step_rows)  # a no-op unless OTEL_EXPORTER_OTLP_ENDPOINT is set
        return row

    def _store(
        self,
        row: AgentObservability,
        step_rows: list[AgentStep],
        call_id: int | None,
        session: Session | None,
    ) -> AgentObservability:
        """Store through the ORM: completes a reserved row, or joins the caller's session."""
        from agentcal.models import AgentObservability

        with self.transaction(session) as s:
            if call_id is not None:
                reserved = s.get(AgentObservability, call_id)
                if reserved is None or reserved.user_id != row.user_id:
                    raise NotFoundError(f"no reserved agent call with id {call_id}")
                for name in type(row).model_fields:
                    if name not in ("id", "created_at"):
                        setattr(reserved, name, getattr(row, name))
                row = reserved
            s.add(row)
            s.flush()
            for seq, step in enumerate(step_rows):
                step.observability_id = row.id  # type: ignore[assignment]
                step.seq = seq
                s.add(step)
        return row

    def _insert(self, row: AgentObservability, steps: list[AgentStep]) -> AgentObservability:
        """Store a new row (and its steps) with Core INSERTs: the ORM's unit of work costs
        several times the insert itself, and `log_agent_call` runs once per agent turn."""
        from sqlalchemy import insert

        from agentcal.models import AgentObservability, AgentStep

        values = row.model_dump(exclude={"id"})
        with self.engine.begin() as s:
            result = s.execute(insert(AgentObservability), values)
            row.id = result.inserted_primary_key[0]  # type: ignore[index]
            for seq, step in enumerate(steps):
                step.observability_id, step.seq = row.id, seq  # type: ignore[assignment]
            if steps:
                s.execute(insert(AgentStep), [st.model_dump(exclude={"id"}) for st in steps])
        return row

    def reserve_call(
        self,
        *,
        user_id: str,
        user_message: str | None = None,
        agent_run_id: str | None = None,
        session_id: str | None = None,
        llm_model: str | None = None,
        session: Session | None = None,
    ) -> int:
        """Add a `running` row for a turn that is starting; complete it with `log_agent_call(call_id=...)`.

        The user's turns still `running` after STALE_TURN belonged to a process that died
        mid-turn: they are closed as errors here, so they don't show as running forever.
        """
        user = v.user_id(user_id)
        now = datetime.now(UTC)
        values: dict[str, Any] = dict(
            created_at=now,
            user_id=user,
            user_message=user_message,
            agent_run_id=str(agent_run_id) if agent_run_id is not None else None,
            session_id=session_id,
            llm_model=llm_model,
            status="running",
        )
        raw = self.raw_writer(session)
        if raw is not None:
            from agentcal import writer

            with writer.transaction(raw) as conn:
                conn.execute(
                    "UPDATE agent_observability SET status = 'error', error = :error "
                    "WHERE user_id = :user AND status = 'running' AND created_at < :stale",
                    {"error": INTERRUPTED, "user": user, "stale": writer.db_time(now - STALE_TURN)},
                )
                return writer.insert(
                    conn, "agent_observability", CallRow, {**_RESERVED_DEFAULTS, **values}
                )
        from sqlalchemy import update
        from sqlmodel import col

        from agentcal.models import AgentObservability

        row = AgentObservability(**values)
        with self.transaction(session) as s:
            s.execute(
                update(AgentObservability)
                .where(
                    col(AgentObservability.user_id) == user,
                    col(AgentObservability.status) == "running",
                    col(AgentObservability.created_at) < now - STALE_TURN,
                )
                .values(status="error", error=INTERRUPTED)
            )
            s.add(row)
            s.flush()
            assert row.id is not None
            return row.id

    def spent_since(
        self, since: datetime, session: Session | None = None, *, user_id: str | None = None
    ) -> float:
        """Total recorded LLM cost (USD) of turns started at or after `since`: one user's, or
        (user_id None) every user's."""
        sql = "SELECT COALESCE(SUM(llm_cost_usd), 0) FROM agent_observability WHERE created_at >= :since"
        with self.reading(session) as r:
            params: dict[str, Any] = {"since": r.time(since)}
            if user_id is not None:
                sql += " AND user_id = :user_id"
                params["user_id"] = user_id
            return float(r.scalar(sql, params) or 0.0)

    def _non_negative(self, value: float | None, field: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValidationError(f"{field} must be a non-negative number (got {value!r})")
        return float(value)

    def _apply_cost(self, values: dict[str, Any], given_cost: float | None) -> None:
        """Fill the cost columns of a call's `values`: the caller's cost, or its price."""
        if given_cost is not None:
            if (
                isinstance(given_cost, bool)
                or not isinstance(given_cost, int | float)
                or given_cost < 0
            ):
                raise ValidationError(
                    f"llm_cost_usd must be a non-negative number (got {given_cost!r})"
                )
            values.update(llm_cost_usd=float(given_cost), cost_source="caller", cost_note=None)
            return
        from types import SimpleNamespace

        price = self.price_row(SimpleNamespace(**values))  # type: ignore[arg-type]
        values.update(llm_cost_usd=price.cost_usd, cost_source=price.source, cost_note=price.note)
        values["llm_provider"] = values.get("llm_provider") or price.provider

    def price_row(self, row: AgentObservability):  # type: ignore[no-untyped-def]
        """What this row costs with the current price data and overrides."""
        from agentcal.observability.pricing import Price
        from agentcal.quick_settings import quick_settings

        if (
            row.llm_prompt_tokens is None
            and row.llm_completion_tokens is None
            and row.llm_total_tokens is not None
            and not (row.llm_model or "").startswith("agentcal-offline")
        ):
            return Price(None, "unpriced", "only a total token count: input/output split unknown")
        return price_call(
            row.llm_model,
            row.llm_prompt_tokens,
            row.llm_completion_tokens,
            row.llm_cached_tokens,
            provider=row.llm_provider,
            overrides=quick_settings().price_overrides,
        )

    def get_call(self, call_id: int, user_id: str | None = None) -> CallRow:
        """One recorded turn; `user_id` restricts it to that user's turns."""
        sql = f"SELECT {columns(CallRow)} FROM agent_observability WHERE id = :id"
        with self.reading() as r:
            rows = r.records(CallRow, sql, {"id": call_id})
        if not rows or (user_id is not None and rows[0].user_id != user_id):
            raise NotFoundError(f"no logged agent call with id {call_id}")
        return rows[0]

    def get_steps(self, call_id: int) -> list[StepRow]:
        """The turn's LLM and tool calls, in the order they started."""
        sql = (
            f"SELECT {columns(StepRow)} FROM agent_steps WHERE observability_id = :id ORDER BY seq"
        )
        with self.reading() as r:
            return r.records(StepRow, sql, {"id": call_id})


# A reserved row's columns that `reserve_call` does not set, as the table's defaults hold them.
_RESERVED_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(CallRow._fields),
    "tokens_estimated": False,
}
del _RESERVED_DEFAULTS["id"]


def _write_raw(
    conn: Any, values: dict[str, Any], steps: list[dict[str, Any]], call_id: int | None
) -> tuple[CallRow, list[StepRow]]:
    """`log_agent_call` on the stdlib write path: complete the reserved row `call_id` (it keeps
    its id and start time) or add a new one, and add the steps."""
    from agentcal import writer

    with writer.transaction(conn) as c:
        if call_id is None:
            call_id = writer.insert(c, "agent_observability", CallRow, values)
            created_at = values["created_at"]
        else:
            changes = {k: val for k, val in values.items() if k != "created_at"}
            where = "id = :id AND user_id = :user"
            params = {"id": call_id, "user": values["user_id"]}
            if not writer.update(c, "agent_observability", CallRow, changes, where, params):
                raise NotFoundError(f"no reserved agent call with id {call_id}")
            (stored,) = c.execute(
                "SELECT created_at FROM agent_observability WHERE id = :id", {"id": call_id}
            ).fetchone()
            created_at = parse_time(stored)
        step_rows = []
        for seq, step in enumerate(steps):
            full = {**_STEP_DEFAULTS, **step, "observability_id": call_id, "seq": seq}
            if full["started_at"] is None:
                full["started_at"] = datetime.now(UTC)
            step_id = writer.insert(c, "agent_steps", StepRow, full)
            step_rows.append(StepRow(id=step_id, **full))
    return CallRow(id=call_id, **{**values, "created_at": created_at}), step_rows


# A step's columns its caller may leave out, as the table's defaults hold them.
_STEP_DEFAULTS: dict[str, Any] = {**dict.fromkeys(StepRow._fields), "seq": 0, "status": "ok"}
del _STEP_DEFAULTS["id"]


agent_observability_service = AgentObservabilityService()
