"""The figures of a cost report: usage per group (`UsageStats`), the report (`CostReport`), and
the local days a window covers (`day_ranges`). `costs` computes them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from agentcal.timeparse import local_midnight

DayRanges = list[tuple[date, datetime, datetime]]
COUNTERS = (
    "calls", "errors", "priced_calls", "cost_usd", "prompt_tokens", "completion_tokens",
    "cached_tokens", "total_tokens", "timed_calls",
)  # fmt: skip


@dataclass
class UsageStats:
    """Usage of one group (a day, a model...) or of the whole window. JSON keys are these names."""

    key: str | None
    calls: int = 0
    errors: int = 0
    priced_calls: int = 0
    unpriced_calls: int = 0
    cost_usd: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0
    timed_calls: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None

    @classmethod
    def from_values(cls, key: str | None, values: Sequence[Any]) -> UsageStats:
        """From the `COUNTERS` values, in that order. Positional: `costs --by session` makes
        one per session (tens of thousands), and keyword arguments cost three times as much."""
        calls, errors, priced, cost, prompt, completion, cached, total, timed = values
        return cls(key, calls, errors, priced, calls - priced, float(cost), prompt, completion,
                   cached, total, timed)  # fmt: skip

    def add(self, other: UsageStats) -> None:
        for name in (*COUNTERS, "unpriced_calls"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class CostReport:
    """What `agentcal costs` shows. `user_id` None means every user."""

    user_id: str | None
    since: datetime | None
    until: datetime | None
    timezone: str
    by: str | None
    totals: UsageStats
    groups: list[UsageStats] = field(default_factory=list)
    daily: list[UsageStats] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # by session: thread id -> its name
    # The window's number of groups: more than len(groups) when a report asked for the top
    # sessions only (`ranked_groups` with `by="session"`). Not in the JSON, which has them all.
    group_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        def stats(s: UsageStats) -> dict[str, Any]:
            return {f.name: getattr(s, f.name) for f in fields(s)}

        return {
            "user": self.user_id,
            "all_users": self.user_id is None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "timezone": self.timezone,
            "by": self.by,
            "totals": stats(self.totals),
            "groups": [stats(g) for g in self.groups],
            "daily": [stats(d) for d in self.daily],
            "names": dict(self.names),
        }


def by_spend(groups: Iterable[UsageStats]) -> list[UsageStats]:
    """Groups by spend, then calls, then key: the same order on every database."""
    return sorted(groups, key=lambda g: (-g.cost_usd, -g.calls, g.key or ""))


def day_ranges(lo: datetime, hi: datetime, zone: ZoneInfo) -> DayRanges:
    """Local days covering `[lo, hi)`, each clipped to the window, as UTC ranges."""
    out = []
    day = lo.astimezone(zone).date()
    last = (hi - timedelta(microseconds=1)).astimezone(zone).date()
    while day <= last:
        start = max(lo, local_midnight(day, zone))
        end = min(hi, local_midnight(day + timedelta(days=1), zone))
        if start < end:
            out.append((day, start, end))
        day += timedelta(days=1)
    return out
