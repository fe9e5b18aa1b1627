"""Reading the recorded agent calls back (`agentcal logs`): filtered lists and one whole turn."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcal.errors import NotFoundError, ValidationError
from agentcal.reader import columns
from agentcal.records import CallRow, StepRow
from agentcal.service import Service
from agentcal.vocab import CALL_STATUSES

if TYPE_CHECKING:
    from agentcal.reader import Reader

MAX_LIMIT = 10_000
MAX_QUERY_BYTES = 1_000
SESSION_INDEX = "ix_obs_session_usage"  # leads with session_id
SEEK_THREADS = 200  # a session with more conversations is not read thread by thread


@dataclass
class CallRecord:
    """One turn with its steps. `tree` nests the steps by parent_run_id."""

    call: CallRow
    steps: list[StepRow]
    tree: list[StepNode] = field(default_factory=list)


@dataclass
class StepNode:
    step: StepRow
    children: list[StepNode] = field(default_factory=list)


def step_tree(steps: list[StepRow], root_run_id: str | None = None) -> list[StepNode]:
    """Steps nested under the step whose run_id is their parent_run_id; others at the top."""
    nodes = [StepNode(s) for s in steps]
    by_run = {n.step.run_id: n for n in nodes if n.step.run_id}
    top: list[StepNode] = []
    for node in nodes:
        parent_id = node.step.parent_run_id
        parent = by_run.get(parent_id) if parent_id and parent_id != root_run_id else None
        if parent is None or parent is node:
            top.append(node)
        else:
            parent.children.append(node)
    return top


class CallLogService(Service):
    def list_calls(
        self,
        *,
        user_id: str | None,
        model: str | None = None,
        action: str | None = None,
        status: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        query: str | None = None,
        session: str | None = None,
        limit: int = 20,
    ) -> list[CallRow]:
        """Newest first. `user_id` None lists every user's calls; `query` searches both texts;
        `session` is a chat session's name (all its conversations)."""
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationError(f"--limit must be between 1 and {MAX_LIMIT} (got {limit})")
        if status is not None and status not in CALL_STATUSES:
            raise ValidationError(
                f"--status must be one of {', '.join(CALL_STATUSES)} (got {status!r})"
            )
        where: list[str] = []
        params: dict[str, Any] = {"limit": limit}
        for column, value in (("user_id", user_id), ("llm_model", model),
                              ("agent_action", action), ("status", status)):  # fmt: skip
            if value is not None:
                where.append(f"{column} = :{column}")
                params[column] = value
        if query and len(query.encode()) > MAX_QUERY_BYTES:  # SQLite's LIKE stops at 50,000
            raise ValidationError(f"--query is longer than {MAX_QUERY_BYTES} bytes")
        with self.reading() as r:
            few = True
            if session is not None:
                few = self._session_filter(r, session, user_id, where, params)
            if since is not None:
                where.append("created_at >= :since")
                params["since"] = r.time(since)
            if until is not None:
                where.append("created_at < :until")
                params["until"] = r.time(until)
            if query:
                where.append(r.contains(("user_message", "agent_response"), query, params, "q"))
            table = "agent_observability"
            if session is not None and few:  # SQLite would walk all of the user's calls instead
                table = r.indexed(table, SESSION_INDEX)
            sql = f"SELECT {columns(CallRow)} FROM {table}"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += " ORDER BY created_at DESC, id DESC LIMIT :limit"
            return r.records(CallRow, sql, params)

    @staticmethod
    def _session_filter(
        r: Reader, name: str, user_id: str | None, where: list[str], params: dict[str, Any]
    ) -> bool:
        """Adds the calls of every conversation the session `name` has had to `where`; True
        when they are few enough to seek thread by thread on the session index. A name with
        thousands of threads (each one-off `chat -m` is one) is filtered by a subquery as the
        newest calls are read instead: seeking and sorting all its calls would cost more."""
        from agentcal.users.chat_sessions import session_threads

        sql, bound = session_threads(name, user_id)
        threads = [str(row[0]) for row in r.tuples(f"{sql} LIMIT {SEEK_THREADS + 1}", bound)]
        if not threads:
            raise NotFoundError(f"no chat session named {name!r} (see `agentcal sessions list`)")
        if len(threads) <= SEEK_THREADS:
            where.append(r.one_of("session_id", threads, params, "thread"))
            return True
        where.append(f"session_id IN ({sql})")
        params.update(bound)
        return False

    def get_record(self, call_id: int, user_id: str | None) -> CallRecord:
        """One turn and its steps; another user's call is 'not found' unless `user_id` is None."""
        from agentcal.observability.calls import agent_observability_service

        call = agent_observability_service.get_call(call_id, user_id)
        steps = agent_observability_service.get_steps(call_id)
        return CallRecord(call, steps, step_tree(steps, call.agent_run_id))

    def iter_records(
        self,
        *,
        user_id: str | None,
        since: datetime | None = None,
        until: datetime | None = None,
        page: int = 200,
    ) -> Iterator[tuple[CallRow, list[StepRow]]]:
        """Completed calls (not `running`) with their steps, oldest first, `page` rows per query."""
        last_id = 0
        while True:
            with self.reading() as r:
                where = ["id > :last", "status != 'running'"]
                params: dict[str, Any] = {"last": last_id, "page": page}
                if user_id is not None:
                    where.append("user_id = :user_id")
                    params["user_id"] = user_id
                if since is not None:
                    where.append("created_at >= :since")
                    params["since"] = r.time(since)
                if until is not None:
                    where.append("created_at < :until")
                    params["until"] = r.time(until)
                calls = r.records(
                    CallRow,
                    f"SELECT {columns(CallRow)} FROM agent_observability "
                    f"WHERE {' AND '.join(where)} ORDER BY id LIMIT :page",
                    params,
                )
                steps: dict[int, list[StepRow]] = {c.id: [] for c in calls}
                if calls:
                    ids: dict[str, Any] = {}
                    within = r.one_of("observability_id", steps, ids, "call")
                    for step in r.records(
                        StepRow,
                        f"SELECT {columns(StepRow)} FROM agent_steps WHERE {within} "
                        "ORDER BY observability_id, seq",
                        ids,
                    ):
                        steps[step.observability_id].append(step)
            for call in calls:
                yield call, steps[call.id]
            if len(calls) < page:
                return
            last_id = calls[-1].id


call_log_service = CallLogService()
