"""Recompute stored costs from stored token counts with today's prices (`agentcal costs --reprice`).

Hosted tools fix a call's cost when it is logged and never revisit it; here a price change, a new
AGENTCAL_PRICE_OVERRIDES entry or a model genai-prices learned to price can be applied to the
calls already recorded. Costs the caller gave explicitly (cost_source 'caller') are kept unless
asked. Prices come from `AgentObservabilityService.price_row`, the same code that priced them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from agentcal.service import Service

_COLUMNS = (
    "id", "llm_model", "llm_provider", "llm_prompt_tokens", "llm_completion_tokens",
    "llm_total_tokens", "llm_cached_tokens", "llm_cost_usd", "cost_source", "cost_note",
)  # fmt: skip
_BATCH = 5000
_PROGRESS_EVERY = 5000  # calls priced between two progress reports


@dataclass
class ModelRepricing:
    """What repricing did to one model's calls. JSON keys are these names."""

    model: str | None
    rows: int = 0
    rows_changed: int = 0
    old_total_usd: float = 0.0
    new_total_usd: float = 0.0
    old_unpriced: int = 0
    new_unpriced: int = 0


@dataclass
class RepriceResult:
    dry_run: bool
    rows_examined: int = 0
    rows_changed: int = 0
    rows_skipped_caller: int = 0
    old_total_usd: float = 0.0
    new_total_usd: float = 0.0
    models: list[ModelRepricing] = field(default_factory=list)


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


class RepriceService(Service):
    def reprice(
        self,
        *,
        user_id: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_caller_costs: bool = False,
        dry_run: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> RepriceResult:
        """Re-price every call in the window; write the changes unless `dry_run`.
        `progress(done, total)` follows the calls priced, then the changes written."""
        from sqlalchemy import bindparam, text

        from agentcal.observability.calls import agent_observability_service

        result = RepriceResult(dry_run=dry_run)
        per_model: dict[str | None, ModelRepricing] = {}
        updates: list[dict[str, Any]] = []
        clauses: list[str] = []
        params: dict[str, Any] = {}
        if user_id is not None:
            clauses.append("user_id = :user_id")
            params["user_id"] = user_id
        with self.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            for name, value, op in (("since", since, ">="), ("until", until, "<")):
                if value is not None:
                    naive = value.astimezone(UTC).replace(tzinfo=None)
                    clauses.append(f"created_at {op} :{name}")
                    params[name] = naive.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else naive
            where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = conn.execute(
                text(f"SELECT {', '.join(_COLUMNS)} FROM agent_observability{where} ORDER BY id"),
                params,
            ).fetchall()
        cache: dict[tuple[Any, ...], Any] = {}
        for n, row in enumerate(rows):
            if progress is not None and n % _PROGRESS_EVERY == 0:
                progress(n, len(rows))
            if row.cost_source == "caller" and not include_caller_costs:
                result.rows_skipped_caller += 1
                continue
            key = tuple(row[1:7])
            price = cache.get(key)
            if price is None:
                # price_row reads only the model, provider and token attributes.
                fields = SimpleNamespace(**row._mapping)
                price = cache[key] = agent_observability_service.price_row(fields)  # type: ignore[arg-type]
            stats = per_model.setdefault(row.llm_model, ModelRepricing(row.llm_model))
            stats.rows += 1
            stats.old_total_usd += row.llm_cost_usd or 0.0
            stats.new_total_usd += price.cost_usd or 0.0
            stats.old_unpriced += row.llm_cost_usd is None
            stats.new_unpriced += price.cost_usd is None
            if not _same(row.llm_cost_usd, price.cost_usd) or row.cost_source != price.source:
                stats.rows_changed += 1
                updates.append(
                    {"id": row.id, "cost": price.cost_usd, "src": price.source, "note": price.note}
                )
        if updates and not dry_run:
            stmt = text(
                "UPDATE agent_observability SET llm_cost_usd = :cost, cost_source = :src,"
                " cost_note = :note WHERE id = :id"
            ).bindparams(bindparam("cost"), bindparam("src"), bindparam("note"))
            with self.engine.begin() as conn:
                for start in range(0, len(updates), _BATCH):
                    conn.execute(stmt, updates[start : start + _BATCH])
                    if progress is not None:
                        progress(start + _BATCH, len(updates))
        result.models = sorted(per_model.values(), key=lambda m: -m.new_total_usd)
        for m in result.models:
            result.rows_examined += m.rows
            result.rows_changed += m.rows_changed
            result.old_total_usd += m.old_total_usd
            result.new_total_usd += m.new_total_usd
        return result


reprice_service = RepriceService()
