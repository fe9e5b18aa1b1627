"""Spend and usage of the recorded agent calls, aggregated in SQL (`agentcal costs`).

Everything is exact and computed by the database from indexes, so a report over a million
calls never reads the wide rows (messages, state). SQLite has no hash aggregation: a GROUP BY
over a column the rows are not ordered by sorts all of them, so the queries are shaped to avoid
big sorts:

- totals and the daily series: one range query per local day over the covering index
  `ix_obs_usage` (ordered by created_at), so nothing is sorted. Totals are the sum of the days.
  With `--by model` / `--by action` the same per-day queries also GROUP BY that column (small
  sorts of one day's rows), and the groups are the sums over the days: one pass gives both.
- total latency p50/p95 (nearest rank): `ORDER BY execution_time_ms LIMIT 1 OFFSET k` walks
  `ix_obs_latency` in latency order, from the low end for p50 and from the high end for p95.
- per-group p50/p95: for model and action, the same walk per group on `ix_obs_model_latency`
  / `ix_obs_action_latency`; for days, each day's latencies (one index range) are sorted in
  Python; for user and session (many groups), one window query (ROW_NUMBER per group).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from agentcal.errors import ValidationError
from agentcal.services.base import Service
from agentcal.timeparse import local_midnight
from agentcal.vocab import COST_BREAKDOWNS

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

GROUP_COLUMNS = {
    "model": "llm_model",
    "action": "agent_action",
    "user": "user_id",
    "session": "session_id",
}
_AGGREGATES = """
    COUNT(*) AS calls,
    COALESCE(SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), 0) AS errors,
    COUNT(llm_cost_usd) AS priced_calls,
    COALESCE(SUM(llm_cost_usd), 0) AS cost_usd,
    COALESCE(SUM(llm_prompt_tokens), 0) AS prompt_tokens,
    COALESCE(SUM(llm_completion_tokens), 0) AS completion_tokens,
    COALESCE(SUM(llm_cached_tokens), 0) AS cached_tokens,
    COALESCE(SUM(llm_total_tokens), 0) AS total_tokens,
    COUNT(execution_time_ms) AS timed_calls
"""
_COUNTERS = (
    "calls", "errors", "priced_calls", "cost_usd", "prompt_tokens", "completion_tokens",
    "cached_tokens", "total_tokens", "timed_calls",
)  # fmt: skip
USAGE_INDEX = "ix_obs_usage"
LATENCY_INDEX = "ix_obs_latency"
# Group column -> index ordered by (column, execution_time_ms): per-group percentile walks.
GROUP_LATENCY_INDEXES = {
    "llm_model": "ix_obs_model_latency",
    "agent_action": "ix_obs_action_latency",
}
# Breakdowns computed in the per-day pass (few distinct values per day).
PER_DAY_GROUPS = ("model", "action")
WALK_THRESHOLD = 50_000
MAX_WALKED_GROUPS = 200
_PERCENT = (50, 95)  # integer percents: ranks are computed in SQL integer arithmetic


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
    def from_row(cls, key: str | None, row: Any) -> UsageStats:
        stats = cls(key, **{name: row._mapping[name] for name in _COUNTERS})
        stats.cost_usd = float(stats.cost_usd)
        stats.unpriced_calls = stats.calls - stats.priced_calls
        return stats

    def add(self, other: UsageStats) -> None:
        for name in (*_COUNTERS, "unpriced_calls"):
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
        }


class _Query:
    """The WHERE clause shared by every query of one report, with its bound parameters."""

    def __init__(self, conn: Connection, user_id: str | None) -> None:
        self.conn = conn
        self.sqlite = conn.dialect.name == "sqlite"
        self.user_id = user_id

    def bind_time(self, value: datetime) -> Any:
        naive = value.astimezone(UTC).replace(tzinfo=None)
        # Same text format SQLAlchemy stores on SQLite, so string comparison is time order.
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else naive

    def read_time(self, value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)

    def where(self, lo: datetime, hi: datetime, extra: str = "") -> tuple[str, dict[str, Any]]:
        clause = "created_at >= :lo AND created_at < :hi"
        params: dict[str, Any] = {"lo": self.bind_time(lo), "hi": self.bind_time(hi)}
        if self.user_id is not None:
            clause += " AND user_id = :user_id"
            params["user_id"] = self.user_id
        return clause + extra, params

    def table(self, index: str) -> str:
        """The table, pinned to `index` on SQLite: its planner, without statistics, prefers the
        narrower (user_id, created_at) index and then reads every wide row."""
        return f"agent_observability INDEXED BY {index}" if self.sqlite else "agent_observability"

    def run(self, sql: str, params: dict[str, Any]) -> Any:
        from sqlalchemy import text

        return self.conn.execute(text(sql), params)


class CostsService(Service):
    """Reads usage and spend; never writes (see `services.reprice` for that)."""

    def report(
        self,
        *,
        user_id: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
        by: str | None = None,
        tz: str = "UTC",
    ) -> CostReport:
        """Totals, the daily series and an optional breakdown for `[since, until)`."""
        if by is not None and by not in COST_BREAKDOWNS:
            raise ValidationError(f"--by must be one of {', '.join(COST_BREAKDOWNS)} (got {by!r})")
        zone = ZoneInfo(tz)
        report = CostReport(user_id, since, until, tz, by, UsageStats(None))
        with self.engine.connect() as conn:
            q = _Query(conn, user_id)
            lo, hi = self._bounds(q, since, until)
            if lo is None or hi is None or lo >= hi:
                return report
            column = GROUP_COLUMNS.get(by or "")
            per_day = column if by in PER_DAY_GROUPS else None
            report.daily, groups = self._daily(q, lo, hi, zone, per_day)
            for day in report.daily:
                report.totals.add(day)
            self._total_percentiles(q, lo, hi, report.totals)
            if by == "day":
                report.groups = [d for d in report.daily if d.calls]
                self._day_percentiles(q, lo, hi, zone, report.groups)
            elif column is not None:
                report.groups = groups if per_day else self._groups(q, lo, hi, column)
                index = GROUP_LATENCY_INDEXES.get(column)
                if index is not None and len(report.groups) <= MAX_WALKED_GROUPS:
                    self._walk_group_percentiles(q, lo, hi, column, index, report.groups)
                else:
                    self._group_percentiles(q, lo, hi, report.groups, (column, {}))
        return report

    def _bounds(
        self, q: _Query, since: datetime | None, until: datetime | None
    ) -> tuple[datetime | None, datetime | None]:
        """The window to scan: missing ends come from the oldest and newest stored call."""
        lo, hi = since, until
        user = " WHERE user_id = :user_id" if q.user_id is not None else ""
        params = {"user_id": q.user_id} if q.user_id is not None else {}
        if lo is None:
            lo = q.read_time(
                q.run(f"SELECT MIN(created_at) FROM agent_observability{user}", params).scalar()
            )
        if hi is None:
            newest = q.read_time(
                q.run(f"SELECT MAX(created_at) FROM agent_observability{user}", params).scalar()
            )
            now = datetime.now(UTC)
            hi = max(now, newest + timedelta(microseconds=1)) if newest else now
        return lo, hi

    def _daily(
        self, q: _Query, lo: datetime, hi: datetime, zone: ZoneInfo, column: str | None
    ) -> tuple[list[UsageStats], list[UsageStats]]:
        """The local days of the window; with `column`, also the groups summed over the days."""
        from sqlalchemy import text

        where, params = q.where(lo, hi)
        if column is None:
            stmt = text(f"SELECT {_AGGREGATES} FROM {q.table(USAGE_INDEX)} WHERE {where}")
        else:
            stmt = text(
                f"SELECT {column} AS grp, {_AGGREGATES} FROM {q.table(USAGE_INDEX)} "
                f"WHERE {where} GROUP BY {column}"
            )
        days: list[UsageStats] = []
        groups: dict[str | None, UsageStats] = {}
        for day, start, end in day_ranges(lo, hi, zone):
            params.update(lo=q.bind_time(start), hi=q.bind_time(end))
            if column is None:
                days.append(
                    UsageStats.from_row(day.isoformat(), q.conn.execute(stmt, params).one())
                )
                continue
            total = UsageStats(day.isoformat())
            for row in q.conn.execute(stmt, params):
                part = UsageStats.from_row(row.grp, row)
                total.add(part)
                groups.setdefault(row.grp, UsageStats(row.grp)).add(part)
            days.append(total)
        ordered = sorted(groups.values(), key=lambda g: (-g.cost_usd, -g.calls, g.key or ""))
        return days, ordered

    def _total_percentiles(self, q: _Query, lo: datetime, hi: datetime, totals: UsageStats) -> None:
        if not totals.timed_calls:
            return
        where, params = q.where(lo, hi, " AND execution_time_ms IS NOT NULL")
        # Many calls: walk the latency index (no sort). Few: sort just the window's rows.
        index = LATENCY_INDEX if totals.timed_calls >= WALK_THRESHOLD else USAGE_INDEX
        totals.latency_p50_ms, totals.latency_p95_ms = self._ranked(
            q, q.table(index), where, params, totals.timed_calls
        )

    def _ranked(
        self, q: _Query, table: str, where: str, params: dict[str, Any], n: int
    ) -> list[Any]:
        """Nearest-rank percentiles of the n latencies matching `where`. A rank in the upper
        half is read from the high end, so an index walk covers at most half the entries."""
        values = []
        for pct in _PERCENT:
            k = max((pct * n + 99) // 100 - 1, 0)
            order, offset = ("DESC", n - 1 - k) if k >= n // 2 else ("ASC", k)
            sql = (
                f"SELECT execution_time_ms FROM {table} WHERE {where} "
                f"ORDER BY execution_time_ms {order} LIMIT 1 OFFSET :k"
            )
            values.append(q.run(sql, {**params, "k": offset}).scalar())
        return values

    def _walk_group_percentiles(
        self,
        q: _Query,
        lo: datetime,
        hi: datetime,
        column: str,
        index: str,
        groups: list[UsageStats],
    ) -> None:
        """Per-group p50/p95, each read by a walk of `index` (column, latency) for big groups."""
        for g in groups:
            if not g.timed_calls:
                continue
            same = f" AND {column} IS NULL" if g.key is None else f" AND {column} = :grp"
            where, params = q.where(lo, hi, same + " AND execution_time_ms IS NOT NULL")
            params["grp"] = g.key
            table = q.table(index if g.timed_calls >= WALK_THRESHOLD else USAGE_INDEX)
            g.latency_p50_ms, g.latency_p95_ms = self._ranked(
                q, table, where, params, g.timed_calls
            )

    def _day_percentiles(
        self, q: _Query, lo: datetime, hi: datetime, zone: ZoneInfo, days: list[UsageStats]
    ) -> None:
        """Per-day p50/p95: each day's latencies are one range of `ix_obs_usage`, sorted here
        (a few thousand numbers a day sort faster in Python than in a SQL sorter per rank)."""
        from sqlalchemy import text

        wanted = {d.key: d for d in days if d.timed_calls}
        if not wanted:
            return
        where, params = q.where(lo, hi, " AND execution_time_ms IS NOT NULL")
        stmt = text(f"SELECT execution_time_ms FROM {q.table(USAGE_INDEX)} WHERE {where}")
        for day, start, end in day_ranges(lo, hi, zone):
            stats = wanted.get(day.isoformat())
            if stats is None:
                continue
            params.update(lo=q.bind_time(start), hi=q.bind_time(end))
            # Straight from the DBAPI cursor: SQLAlchemy's Row objects would double the cost.
            result = q.conn.execute(stmt, params)
            values = sorted(value for (value,) in result.cursor.fetchall())
            result.close()
            if not values:
                continue
            n = len(values)
            stats.latency_p50_ms, stats.latency_p95_ms = (
                values[max((pct * n + 99) // 100 - 1, 0)] for pct in _PERCENT
            )

    def _groups(self, q: _Query, lo: datetime, hi: datetime, column: str) -> list[UsageStats]:
        where, params = q.where(lo, hi)
        rows = q.run(
            f"SELECT {column} AS grp, {_AGGREGATES} FROM {q.table(USAGE_INDEX)} WHERE {where} "
            f"GROUP BY {column} ORDER BY cost_usd DESC, calls DESC",
            params,
        )
        return [UsageStats.from_row(row.grp, row) for row in rows]

    def _group_percentiles(
        self,
        q: _Query,
        lo: datetime,
        hi: datetime,
        groups: list[UsageStats],
        expr: tuple[str, dict[str, Any]],
    ) -> None:
        """Nearest-rank p50/p95 per group: only the rows at rank ceil(p * n) come back."""
        if not any(g.timed_calls for g in groups):
            return
        group_sql, group_params = expr
        where, params = q.where(lo, hi, " AND execution_time_ms IS NOT NULL")
        params.update(group_params)
        ranks = " OR ".join(f"rn = ({pct} * n + 99) / 100" for pct in _PERCENT)
        rows = q.run(
            f"SELECT grp, ms, rn, n FROM ("
            f" SELECT {group_sql} AS grp, execution_time_ms AS ms,"
            f" ROW_NUMBER() OVER (PARTITION BY {group_sql} ORDER BY execution_time_ms) AS rn,"
            f" COUNT(*) OVER (PARTITION BY {group_sql}) AS n"
            f" FROM {q.table(USAGE_INDEX)} WHERE {where}) AS ranked WHERE {ranks}",
            params,
        )
        by_key = {g.key: g for g in groups}
        for row in rows:
            key = row.grp.isoformat() if isinstance(row.grp, date) else row.grp
            stats = by_key.get(key)
            if stats is None:
                continue
            for pct, attr in zip(_PERCENT, ("latency_p50_ms", "latency_p95_ms"), strict=True):
                if row.rn == (pct * row.n + 99) // 100:
                    setattr(stats, attr, row.ms)


def day_ranges(lo: datetime, hi: datetime, zone: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
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


def offset_segments(lo: datetime, hi: datetime, zone: ZoneInfo) -> list[tuple[datetime, int]]:
    """`(start, utc offset in minutes)` for each stretch of constant offset in `[lo, hi)`."""

    def offset(t: datetime) -> int:
        delta = t.astimezone(zone).utcoffset() or timedelta(0)
        return int(delta.total_seconds() // 60)

    segments = [(lo, offset(lo))]
    t = lo
    step = timedelta(hours=6)
    while t < hi:
        nxt = min(t + step, hi)
        if offset(nxt) != segments[-1][1]:
            a, b = t, nxt  # the change happens in (a, b]: bisect to the minute
            while b - a > timedelta(minutes=1):
                mid = a + (b - a) / 2
                if offset(mid) == segments[-1][1]:
                    a = mid
                else:
                    b = mid
            b = b.replace(second=0, microsecond=0)
            segments.append((b, offset(b)))
        t = nxt
    return segments


costs_service = CostsService()
