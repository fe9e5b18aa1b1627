"""The queries of a cost report (`observability.costs`): the window every query shares and the
nearest-rank latency percentiles, read by the database from indexes (see costs' docstring for
which index serves which figure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcal.observability.usage import UsageStats
    from agentcal.reader import Reader

USAGE_INDEX = "ix_obs_usage"
SESSION_INDEX = "ix_obs_session_usage"  # the same columns in session order: the top sessions
LATENCY_INDEX = "ix_obs_latency"  # every user's calls in latency order
USER_LATENCY_INDEX = "ix_obs_user_latency"  # one user's
_PERCENT = (50, 95)  # integer percents: ranks are computed in SQL integer arithmetic


class Query:
    """One report's reader and the WHERE clause its queries share."""

    def __init__(self, reader: Reader, user_id: str | None) -> None:
        self.r = reader
        self.user_id = user_id

    def where(self, lo: datetime, hi: datetime, extra: str = "") -> tuple[str, dict[str, Any]]:
        clause = "created_at >= :lo AND created_at < :hi"
        params: dict[str, Any] = {"lo": self.r.time(lo), "hi": self.r.time(hi)}
        if self.user_id is not None:
            clause += " AND user_id = :user_id"
            params["user_id"] = self.user_id
        return clause + extra, params

    def table(self, index: str) -> str:
        """The table, pinned to `index` on SQLite: its planner, without statistics, prefers the
        narrower (user_id, created_at) index and then reads every wide row."""
        return self.r.indexed("agent_observability", index)

    def rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.r.rows(sql, params)

    def tuples(self, sql: str, params: dict[str, Any]) -> list[Sequence[Any]]:
        return self.r.tuples(sql, params)

    def scalar(self, sql: str, params: dict[str, Any]) -> Any:
        return self.r.scalar(sql, params)


def nearest_ranks(q: Query, table: str, where: str, params: dict[str, Any], n: int) -> list[Any]:
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
        values.append(q.scalar(sql, {**params, "k": offset}))
    return values


def walk_group_percentiles(
    q: Query,
    lo: datetime,
    hi: datetime,
    column: str,
    index: str | None,
    groups: list[UsageStats],
) -> None:
    """Per-group p50/p95, each read by a walk of `index` (column, latency): it visits only
    that group's entries. Without `index` (a window with few calls), each rank is read from
    the window's range of `ix_obs_usage` instead: cheap when the window is small, whatever
    the groups' history, but one pass over the window per rank, which many small groups in
    a big window could not afford."""
    table = q.table(index or USAGE_INDEX)
    for g in groups:
        if not g.timed_calls:
            continue
        same = f" AND {column} IS NULL" if g.key is None else f" AND {column} = :grp"
        where, params = q.where(lo, hi, same + " AND execution_time_ms IS NOT NULL")
        params["grp"] = g.key
        g.latency_p50_ms, g.latency_p95_ms = nearest_ranks(q, table, where, params, g.timed_calls)


def group_percentiles(
    q: Query,
    lo: datetime,
    hi: datetime,
    column: str,
    groups: list[UsageStats],
    only: list[UsageStats] | None = None,
) -> None:
    """Nearest-rank p50/p95 per group: only the rows at rank ceil(p * n) come back. With
    `only`, the window runs over those groups' calls alone (a few of many sessions)."""
    if not any(g.timed_calls for g in groups):
        return
    extra = " AND execution_time_ms IS NOT NULL"
    keys: dict[str, Any] = {}
    index = USAGE_INDEX
    if only is not None:
        # A few sessions' calls: seek them in session order instead of reading the window.
        index = SESSION_INDEX if column == "session_id" else USAGE_INDEX
        keys = {f"g{i}": g.key for i, g in enumerate(only) if g.key is not None}
        alternatives = [f"{column} IN ({', '.join(':' + k for k in keys)})"] if keys else []
        if any(g.key is None for g in only):
            alternatives.append(f"{column} IS NULL")
        extra += f" AND ({' OR '.join(alternatives)})"
    where, params = q.where(lo, hi, extra)
    params.update(keys)
    ranks = " OR ".join(f"rn = ({pct} * n + 99) / 100" for pct in _PERCENT)
    rows = q.rows(
        f"SELECT grp, ms, rn, n FROM ("
        f" SELECT {column} AS grp, execution_time_ms AS ms,"
        f" ROW_NUMBER() OVER (PARTITION BY {column} ORDER BY execution_time_ms) AS rn,"
        f" COUNT(*) OVER (PARTITION BY {column}) AS n"
        f" FROM {q.table(index)} WHERE {where}) AS ranked WHERE {ranks}",
        params,
    )
    by_key = {g.key: g for g in groups}
    for row in rows:
        stats = by_key.get(row["grp"])
        if stats is None:
            continue
        for pct, attr in zip(_PERCENT, ("latency_p50_ms", "latency_p95_ms"), strict=True):
            if row["rn"] == (pct * row["n"] + 99) // 100:
                setattr(stats, attr, row["ms"])
