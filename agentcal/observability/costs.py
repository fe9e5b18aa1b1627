"""Spend and usage of the recorded agent calls, aggregated in SQL (`agentcal costs`).

Everything is exact and computed by the database from indexes, so a report over a million
calls never reads the wide rows (messages, state). The SQL is plain text with :named
parameters, run by the read path (`agentcal.reader`: the stdlib sqlite3 module on the default
store, no SQLAlchemy import and no per-statement overhead; SQLAlchemy everywhere else).

SQLite has no hash aggregation: a GROUP BY over a column the rows are not ordered by sorts all
of them, so the queries are shaped to avoid big sorts:

- totals and the daily series: one range query per local day over the covering index
  `ix_obs_usage` (ordered by created_at), so nothing is sorted. Totals are the sum of the days.
  With `--by model`, `action` or `user` the same per-day queries also GROUP BY that column (small
  sorts of one day's rows), and the groups are the sums over the days: one pass gives both.
  On the sqlite3 path a long window's days are split between several read-only connections,
  one thread each (SQLite runs with the GIL released).
- total latency p50/p95 (nearest rank): `ORDER BY execution_time_ms LIMIT 1 OFFSET k` walks
  `ix_obs_latency` in latency order, from the low end for p50 and from the high end for p95.
  One user's walk uses `ix_obs_user_latency`, which holds nothing but that user's calls.
- per-group p50/p95: for model, action and user, the same walk per group on
  `ix_obs_model_latency` / `ix_obs_action_latency` / `ix_obs_user_latency`; for days, the same
  ranked read of each day's index range; for sessions (many groups) and past 200 groups, one
  window query (ROW_NUMBER per group) over the calls of the groups asked for.
- the top sessions of a table (`ranked_groups`): ranked by spend in session order on the
  covering index `ix_obs_session_usage` and cut to the top N by SQL, then only those N are
  aggregated in full; exports (`ranked_groups=None`) have every session.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from agentcal.errors import ValidationError
from agentcal.observability.cost_queries import (
    LATENCY_INDEX,
    SESSION_INDEX,
    USAGE_INDEX,
    USER_LATENCY_INDEX,
    Query,
    group_percentiles,
    nearest_ranks,
    walk_group_percentiles,
)
from agentcal.observability.usage import (
    COUNTERS,
    CostReport,
    DayRanges,
    UsageStats,
    by_spend,
    day_ranges,
)
from agentcal.reader import own_snapshot, parse_time
from agentcal.service import Service
from agentcal.vocab import COST_BREAKDOWNS

_T = TypeVar("_T")
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
# Group column -> index ordered by (column, execution_time_ms): per-group percentile walks.
GROUP_LATENCY_INDEXES = {
    "llm_model": "ix_obs_model_latency",
    "agent_action": "ix_obs_action_latency",
    "user_id": USER_LATENCY_INDEX,
}
# Breakdowns computed in the per-day pass (few distinct values per day; not sessions).
PER_DAY_GROUPS = ("model", "action", "user")
# Long windows are aggregated on several read-only connections at once (sqlite3 path only).
PARALLEL_READERS = 4
MIN_DAYS_PER_READER = 30
WALK_THRESHOLD = 50_000
MAX_WALKED_GROUPS = 200


class CostsService(Service):
    """Reads usage and spend; never writes (see `observability.reprice` for that)."""

    def report(
        self,
        *,
        user_id: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
        by: str | None = None,
        tz: str = "UTC",
        ranked_groups: int | None = None,
    ) -> CostReport:
        """Totals, the daily series and an optional breakdown for `[since, until)`.

        `ranked_groups=N` computes the latency percentiles of the first N groups only (the top
        N by spend; with `by="day"`, the latest N days): what a table cut to N rows shows. The
        other groups' percentiles are then None; every other figure is always complete. With
        `by="session"` (tens of thousands of groups in a year) `groups` then holds only the top
        N, and `group_count` says how many there are."""
        if by is not None and by not in COST_BREAKDOWNS:
            raise ValidationError(f"--by must be one of {', '.join(COST_BREAKDOWNS)} (got {by!r})")
        zone = ZoneInfo(tz)
        report = CostReport(user_id, since, until, tz, by, UsageStats(None))
        with self.reading() as reader:
            q = Query(reader, user_id)
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
                ranked = report.groups[-ranked_groups:] if ranked_groups else report.groups
                self._day_percentiles(q, lo, hi, zone, ranked)
            elif by == "session" and ranked_groups:
                report.groups, report.group_count = self._top_sessions(q, lo, hi, ranked_groups)
                only = report.groups if len(report.groups) < report.group_count else None
                group_percentiles(q, lo, hi, "session_id", report.groups, only)
            elif column is not None:
                report.groups = groups if per_day else self._groups(q, lo, hi, column)
                ranked = report.groups[:ranked_groups] if ranked_groups else report.groups
                index = GROUP_LATENCY_INDEXES.get(column)
                if index is not None and len(ranked) <= MAX_WALKED_GROUPS:
                    walk = report.totals.timed_calls >= WALK_THRESHOLD
                    walk_group_percentiles(q, lo, hi, column, index if walk else None, ranked)
                else:
                    only = ranked if len(ranked) < len(report.groups) else None
                    group_percentiles(q, lo, hi, column, ranked, only)
            if by == "session":
                from agentcal.users.chat_sessions import session_names

                report.names = session_names(reader, (g.key for g in report.groups))
            report.group_count = report.group_count or len(report.groups)
        return report

    def _bounds(
        self, q: Query, since: datetime | None, until: datetime | None
    ) -> tuple[datetime | None, datetime | None]:
        """The window to scan: missing ends come from the oldest and newest stored call."""
        lo, hi = since, until
        user = " WHERE user_id = :user_id" if q.user_id is not None else ""
        params = {"user_id": q.user_id} if q.user_id is not None else {}
        if lo is None:
            lo = parse_time(
                q.scalar(f"SELECT MIN(created_at) FROM agent_observability{user}", params)
            )
        if hi is None:
            newest = parse_time(
                q.scalar(f"SELECT MAX(created_at) FROM agent_observability{user}", params)
            )
            now = datetime.now(UTC)
            hi = max(now, newest + timedelta(microseconds=1)) if newest else now
        return lo, hi

    def _daily(
        self, q: Query, lo: datetime, hi: datetime, zone: ZoneInfo, column: str | None
    ) -> tuple[list[UsageStats], list[UsageStats]]:
        """The local days of the window; with `column`, also the groups summed over the days."""
        where, _ = q.where(lo, hi)
        if column is None:
            sql = f"SELECT {_AGGREGATES} FROM {q.table(USAGE_INDEX)} WHERE {where}"
        else:
            sql = (
                f"SELECT {column} AS grp, {_AGGREGATES} FROM {q.table(USAGE_INDEX)} "
                f"WHERE {where} GROUP BY {column}"
            )

        def aggregate(q: Query, days: DayRanges) -> list[tuple[str, list[Any]]]:
            out = []
            for day, start, end in days:
                _, params = q.where(start, end)
                out.append((day.isoformat(), q.tuples(sql, params)))
            return out

        # Summed here, in plain lists: a year of 100 models is 36,500 rows, and attribute
        # access on dataclasses would cost more than the SQL.
        width = len(COUNTERS)
        days: list[UsageStats] = []
        sums: dict[str | None, list[Any]] = {}
        for key, rows in self._each_day(q, day_ranges(lo, hi, zone), aggregate):
            if column is None:
                days.append(UsageStats.from_values(key, rows[0]))
                continue
            total = [0] * width
            for grp, *values in rows:
                acc = sums.get(grp) or sums.setdefault(grp, [0] * width)
                for i, value in enumerate(values):
                    acc[i] += value
                    total[i] += value
            days.append(UsageStats.from_values(key, total))
        return days, by_spend(UsageStats.from_values(k, v) for k, v in sums.items())

    def _each_day(
        self, q: Query, days: DayRanges, work: Callable[[Query, DayRanges], list[_T]]
    ) -> list[_T]:
        """`work` over the days, in order. On the stdlib sqlite3 path a long window is split
        between up to PARALLEL_READERS read-only connections, one thread each: sqlite3 releases
        the GIL while SQLite runs, so a year of calls is aggregated on every core. Each reader
        has its own snapshot: a call logged meanwhile can only show up in the newest days."""
        readers = min(PARALLEL_READERS, os.cpu_count() or 1, len(days) // MIN_DAYS_PER_READER)
        if q.r.raw is None or self._engine is not None or readers < 2:
            return work(q, days)
        from concurrent.futures import ThreadPoolExecutor

        size = -(-len(days) // readers)
        chunks = [days[i : i + size] for i in range(0, len(days), size)]

        def on_own_reader(chunk: DayRanges) -> list[_T] | None:
            with own_snapshot() as reader:
                if reader is None:  # the store was just migrated: the caller's reader does it
                    return None
                return work(Query(reader, q.user_id), chunk)

        with ThreadPoolExecutor(len(chunks) - 1) as pool:
            rest = [pool.submit(on_own_reader, chunk) for chunk in chunks[1:]]
            out = work(q, chunks[0])
            for chunk, future in zip(chunks[1:], rest, strict=True):
                part = future.result()
                out.extend(work(q, chunk) if part is None else part)
        return out

    def _day_percentiles(
        self, q: Query, lo: datetime, hi: datetime, zone: ZoneInfo, days: list[UsageStats]
    ) -> None:
        """Per-day p50/p95: two ranked reads of each day's range of `ix_obs_usage` (SQLite sorts
        a few thousand rows with the GIL released, which beat fetching a million latencies
        into Python and sorting them there), over several readers for many days."""
        wanted = {d.key: d for d in days if d.timed_calls}
        if not wanted:
            return
        where, _ = q.where(lo, hi, " AND execution_time_ms IS NOT NULL")

        def rank(q: Query, days: DayRanges) -> list[tuple[str, list[Any]]]:
            out = []
            for day, start, end in days:
                stats = wanted[day.isoformat()]
                _, params = q.where(start, end)
                table = q.table(USAGE_INDEX)
                out.append(
                    (day.isoformat(), nearest_ranks(q, table, where, params, stats.timed_calls))
                )
            return out

        ranges = [r for r in day_ranges(lo, hi, zone) if r[0].isoformat() in wanted]
        for key, (p50, p95) in self._each_day(q, ranges, rank):
            wanted[key].latency_p50_ms, wanted[key].latency_p95_ms = p50, p95

    def _total_percentiles(self, q: Query, lo: datetime, hi: datetime, totals: UsageStats) -> None:
        if not totals.timed_calls:
            return
        where, params = q.where(lo, hi, " AND execution_time_ms IS NOT NULL")
        # Many calls: walk the latency index (no sort). Few: sort just the window's rows.
        index = USAGE_INDEX
        if totals.timed_calls >= WALK_THRESHOLD:
            index = LATENCY_INDEX if q.user_id is None else USER_LATENCY_INDEX
        totals.latency_p50_ms, totals.latency_p95_ms = nearest_ranks(
            q, q.table(index), where, params, totals.timed_calls
        )

    def _groups(self, q: Query, lo: datetime, hi: datetime, column: str) -> list[UsageStats]:
        where, params = q.where(lo, hi)
        rows = q.tuples(
            f"SELECT {column} AS grp, {_AGGREGATES} FROM {q.table(USAGE_INDEX)} WHERE {where} "
            f"GROUP BY {column}",
            params,
        )
        return by_spend(UsageStats.from_values(grp, values) for grp, *values in rows)

    def _top_sessions(
        self, q: Query, lo: datetime, hi: datetime, n: int
    ) -> tuple[list[UsageStats], int]:
        """The top `n` sessions by spend (as `by_spend` orders them) and how many there are.
        A year of calls has tens of thousands of sessions: SQLite groups them in session order
        from the covering index `ix_obs_session_usage` (no sort of the window's rows), ranks
        them on spend and calls alone and keeps n; only those n get every figure (a seek each),
        so neither SQLite nor Python computes the others' (measured in docs/benchmarks.md)."""
        where, params = q.where(lo, hi)
        table = q.table(SESSION_INDEX)
        tie = q.r.binary_order("COALESCE(session_id, '')")  # by_spend's `key or ""`
        top = q.tuples(
            f"SELECT session_id, COALESCE(SUM(llm_cost_usd), 0) AS cost, COUNT(*) AS calls"
            f" FROM {table} WHERE {where} GROUP BY session_id"
            f" ORDER BY cost DESC, calls DESC, {tie} LIMIT :n",
            {**params, "n": n},
        )
        count = q.scalar(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {where} GROUP BY session_id) AS g",
            params,
        )
        keys = [row[0] for row in top]
        alternatives = [q.r.one_of("session_id", [k for k in keys if k is not None], params, "s")]
        if None in keys:
            alternatives.append("session_id IS NULL")
        rows = q.tuples(
            f"SELECT session_id, {_AGGREGATES} FROM {table}"
            f" WHERE {where} AND ({' OR '.join(alternatives)}) GROUP BY session_id",
            params,
        )
        return by_spend(UsageStats.from_values(grp, values) for grp, *values in rows), count


costs_service = CostsService()
