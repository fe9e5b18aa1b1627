"""LLM call prices: genai-prices' bundled data, or a per-model override setting."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DATE_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4})$")
OFFLINE_MODEL_PREFIX = "agentcal-offline"


@dataclass(frozen=True)
class Price:
    """A cost in USD, or None with the reason it could not be priced."""

    cost_usd: float | None
    source: str  # genai-prices | override | caller | offline | unpriced
    note: str | None = None
    provider: str | None = None


def split_model(model: str) -> tuple[str | None, str]:
    """'openai/gpt-4o-mini' -> ('openai', 'gpt-4o-mini')."""
    if "/" in model:
        provider, _, name = model.partition("/")
        return provider.lower() or None, name
    return None, model


def price_call(
    model: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    cached_tokens: int | None = None,
    *,
    provider: str | None = None,
    overrides: dict[str, dict[str, float]] | None = None,
) -> Price:
    """Price one call (or a turn's summed calls). Never guesses: unknown models are unpriced."""
    if not model:
        return Price(None, "unpriced", "no model name")
    if model.startswith(OFFLINE_MODEL_PREFIX):
        return Price(0.0, "offline", "built-in offline model", provider="agentcal")
    if input_tokens is None and output_tokens is None:
        return Price(None, "unpriced", "no token counts")
    inp, out, cached = input_tokens or 0, output_tokens or 0, cached_tokens or 0
    if cached > inp:
        return Price(None, "unpriced", f"cached tokens ({cached}) exceed input tokens ({inp})")

    prefix, name = split_model(model)
    provider = provider or prefix
    override = _find_override(overrides or {}, model, name)
    if override is not None:
        return _price_override(override, inp, out, cached, provider)

    from genai_prices import Usage, calc_price

    usage = Usage(input_tokens=inp, output_tokens=out, cache_read_tokens=cached or None)
    candidates = [name]
    undated = _DATE_SUFFIX.sub("", name)
    if undated != name:
        candidates.append(undated)
    last_error = ""
    for ref in candidates:
        for pid in [provider, None] if provider else [None]:
            try:
                calc = calc_price(usage, model_ref=ref, provider_id=pid)
            except LookupError as exc:
                last_error = str(exc)
                continue
            return Price(float(calc.total_price), "genai-prices", None, calc.provider.id)
    return Price(None, "unpriced", f"no price data for {model!r} ({last_error})", provider)


def _find_override(
    overrides: dict[str, dict[str, float]], model: str, name: str
) -> dict[str, float] | None:
    for key in (model, name, _DATE_SUFFIX.sub("", name)):
        if key in overrides:
            return overrides[key]
    return None


def _price_override(
    rates: dict[str, float], inp: int, out: int, cached: int, provider: str | None
) -> Price:
    per_in = float(rates.get("input", 0.0))
    per_out = float(rates.get("output", 0.0))
    per_cached = float(rates.get("cached_input", per_in))
    cost = ((inp - cached) * per_in + cached * per_cached + out * per_out) / 1_000_000
    return Price(round(cost, 12), "override", "AGENTCAL_PRICE_OVERRIDES", provider)
