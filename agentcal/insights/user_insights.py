"""User insights: what the agent learned about a user (the seed's `UserInsightsService`).

Conflict policy for `create_insight` on an existing (user_id, category, key):

* same value again: *reinforced*. Confidence rises toward 1
  (`c = m + REINFORCE_STEP * (1 - m)` with `m = max(old, new)`), `times_seen` counts up.
* a different value from the user (`source="explicit"`): always *updated*.
* a different value from the agent or pattern analysis:
  - over an explicit insight: *kept*. What the user said is not overwritten by a guess.
  - otherwise *updated* when the new confidence is at least the old one minus
    `REPLACE_MARGIN` (recent evidence wins), else *kept*.

Every outcome is written to `user_insight_history` (kept ones too, so the rejected guess can
be seen), and the stored value is the one in force. A habit the user stopped keeps its value
with an `ended_on` date (`end_insight`, history change *ended*).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from agentcal import validation as v
from agentcal.errors import NotFoundError
from agentcal.reader import columns
from agentcal.records import InsightHistoryRow, InsightRow
from agentcal.service import Service
from agentcal.vocab import INSIGHT_CATEGORIES, INSIGHT_ENDED, INSIGHT_SOURCES, INSIGHT_TYPES

if TYPE_CHECKING:
    from sqlmodel import Session

    from agentcal.models import UserInsight
    from agentcal.reader import Reader

REINFORCE_STEP = 0.1
REPLACE_MARGIN = 0.2


@dataclass(frozen=True)
class InsightBody:
    """The seed's /user-insights/update body, validated."""

    insight_type: str
    category: str
    key: str
    value: Any
    confidence: float

    @classmethod
    def parse(cls, data: Any) -> InsightBody:
        """Validate a JSON object with exactly the seed's fields."""
        if not isinstance(data, dict):
            raise v.ValidationError("the insight body must be a JSON object")
        expected = {"insight_type", "category", "key", "value", "confidence"}
        missing = sorted(expected - data.keys())
        if missing:
            raise v.ValidationError(f"the insight body is missing {', '.join(missing)}")
        unknown = sorted(set(data) - expected)
        if unknown:
            raise v.ValidationError(f"unknown field(s) in the insight body: {', '.join(unknown)}")
        return cls(
            insight_type=v.one_of(data["insight_type"], INSIGHT_TYPES, "insight_type"),
            category=v.one_of(data["category"], INSIGHT_CATEGORIES, "category"),
            key=v.non_empty(data["key"], "key"),
            value=v.insight_value(data["value"]),
            confidence=v.confidence(data["confidence"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "insight_type": self.insight_type,
            "category": self.category,
            "key": self.key,
            "value": self.value,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class InsightChange:
    insight: UserInsight
    outcome: str  # created | updated | reinforced | kept
    previous: Any = None  # the value it had before (None when created)

    @property
    def restarted(self) -> bool:
        """The user stated again a habit they had stopped (its old value had `ended_on`)."""
        old = self.previous
        return self.outcome == "updated" and isinstance(old, dict) and bool(old.get(INSIGHT_ENDED))


class UserInsightsService(Service):
    """Creates, reads and deletes user insights."""

    def create_insight(
        self,
        *,
        user_id: str,
        insight_type: str,
        category: str,
        key: str,
        value: Any,
        confidence: float = 0.5,
        source: str = "agent",
        source_request_id: int | None = None,
        session: Session | None = None,
    ) -> UserInsight:
        """Create or update the insight for (user_id, category, key); see the module policy."""
        return self.upsert_insight(
            user_id=user_id,
            insight_type=insight_type,
            category=category,
            key=key,
            value=value,
            confidence=confidence,
            source=source,
            source_request_id=source_request_id,
            session=session,
        ).insight

    def upsert_insight(
        self,
        *,
        user_id: str,
        insight_type: str,
        category: str,
        key: str,
        value: Any,
        confidence: float = 0.5,
        source: str = "agent",
        source_request_id: int | None = None,
        session: Session | None = None,
    ) -> InsightChange:
        """Like `create_insight`, and says what happened."""
        from sqlmodel import select

        from agentcal.models import UserInsight, utcnow

        user = v.user_id(user_id)
        body = InsightBody.parse(
            {
                "insight_type": insight_type,
                "category": category,
                "key": key,
                "value": value,
                "confidence": confidence,
            }
        )
        source = v.one_of(source, INSIGHT_SOURCES, "source")
        if source_request_id is not None and (
            isinstance(source_request_id, bool) or not isinstance(source_request_id, int)
        ):
            raise v.ValidationError("source_request_id must be an agent_observability id")

        with self.transaction(session) as s:
            stmt = select(UserInsight).where(
                UserInsight.user_id == user,
                UserInsight.category == body.category,
                UserInsight.key == body.key,
            )
            if s.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            existing = s.exec(stmt).first()
            now = utcnow()
            if existing is None:
                insight = UserInsight(
                    user_id=user,
                    insight_type=body.insight_type,
                    category=body.category,
                    key=body.key,
                    value=body.value,
                    confidence=body.confidence,
                    source=source,
                    source_request_id=source_request_id,
                    created_at=now,
                    updated_at=now,
                )
                s.add(insight)
                s.flush()
                self._history(
                    s, insight, "created", body.value, body.confidence, source, source_request_id
                )
                return InsightChange(insight, "created")

            previous = existing.value
            outcome = self.decide(existing, body, source)
            if outcome == "reinforced":
                strongest = max(existing.confidence, body.confidence)
                existing.confidence = round(strongest + REINFORCE_STEP * (1 - strongest), 6)
                existing.times_seen += 1
                if source == "explicit":
                    existing.source = "explicit"
                existing.insight_type = body.insight_type
                existing.updated_at = now
            elif outcome == "updated":
                existing.value = body.value
                existing.confidence = body.confidence
                existing.insight_type = body.insight_type
                existing.source = source
                existing.source_request_id = source_request_id
                existing.times_seen = 1
                existing.updated_at = now
            s.add(existing)
            s.flush()
            self._history(
                s, existing, outcome, body.value, body.confidence, source, source_request_id
            )
            return InsightChange(existing, outcome, previous)

    @staticmethod
    def decide(existing: UserInsight | InsightRow, body: InsightBody, source: str) -> str:
        """What a new body does to the stored insight: reinforced, updated or kept."""
        if existing.value == body.value:
            return "reinforced"
        if source == "explicit":
            return "updated"
        if existing.source == "explicit":
            return "kept"
        if body.confidence >= existing.confidence - REPLACE_MARGIN:
            return "updated"
        return "kept"

    @staticmethod
    def _history(
        s: Session,
        insight: UserInsight,
        change: str,
        value: Any,
        confidence: float,
        source: str,
        source_request_id: int | None,
    ) -> None:
        from agentcal.models import UserInsightHistory

        s.add(
            UserInsightHistory(
                insight_id=insight.id,  # type: ignore[arg-type]
                change=change,
                value=value,
                confidence=confidence,
                source=source,
                source_request_id=source_request_id,
            )
        )

    def get_user_insights(
        self,
        user_id: str,
        category: str | None = None,
        insight_type: str | None = None,
        session: Session | Reader | None = None,
    ) -> list[InsightRow]:
        """The user's insights, optionally of one category and/or type, by category and key."""
        sql = f"SELECT {columns(InsightRow)} FROM user_insights WHERE user_id = :user"
        params: dict[str, Any] = {"user": v.user_id(user_id)}
        if category is not None:
            sql += " AND category = :category"
            params["category"] = v.one_of(category, INSIGHT_CATEGORIES, "category")
        if insight_type is not None:
            sql += " AND insight_type = :insight_type"
            params["insight_type"] = v.one_of(insight_type, INSIGHT_TYPES, "insight_type")
        with self.reading(session) as r:
            return r.records(InsightRow, sql + " ORDER BY category, key", params)

    def get_insight(
        self, user_id: str, ref: int | str, session: Session | None = None
    ) -> InsightRow:
        """One insight by id or by `category/key` (or `category.key`)."""
        user = v.user_id(user_id)
        sql = f"SELECT {columns(InsightRow)} FROM user_insights WHERE user_id = :user AND "
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isascii() and ref.isdigit()):
            number = int(ref)
            if not v.is_row_id(number):
                raise NotFoundError(f"no insight {ref!r} for user {user!r}")
            sql += "id = :id"
            params: dict[str, Any] = {"user": user, "id": number}
        else:
            category, key = _split_ref(str(ref))
            sql += "category = :category AND key = :key"
            params = {"user": user, "category": category, "key": key}
        with self.reading(session) as r:
            rows = r.records(InsightRow, sql, params)
        if not rows:
            raise NotFoundError(f"no insight {ref!r} for user {user!r}")
        return rows[0]

    def get_history(
        self, insight_id: int, session: Session | None = None
    ) -> list[InsightHistoryRow]:
        sql = (
            f"SELECT {columns(InsightHistoryRow)} FROM user_insight_history "
            "WHERE insight_id = :id ORDER BY id"
        )
        with self.reading(session) as r:
            return r.records(InsightHistoryRow, sql, {"id": insight_id})

    def end_insight(
        self,
        user_id: str,
        insight_id: int,
        ended_on: date,
        source_request_id: int | None = None,
        session: Session | None = None,
    ) -> UserInsight:
        """Mark a habit as one the user stopped: its value keeps what it was and gains
        `ended_on` (YYYY-MM-DD), so the prompt says it ended and no preference follows it;
        the history keeps the change. A later statement of the habit replaces the value, and the
        `update_insight` job turns its habit back on (`InsightChange.restarted`)."""
        from agentcal.models import UserInsight, utcnow

        user = v.user_id(user_id)
        with self.transaction(session) as s:
            insight = s.get(UserInsight, insight_id)
            if insight is None or insight.user_id != user:
                raise NotFoundError(f"no insight {insight_id!r} for user {user!r}")
            old = insight.value if isinstance(insight.value, dict) else {"was": insight.value}
            insight.value = {**old, INSIGHT_ENDED: ended_on.isoformat()}
            insight.updated_at = utcnow()
            s.add(insight)
            s.flush()
            self._history(
                s, insight, "ended", insight.value, insight.confidence, insight.source,
                source_request_id,
            )  # fmt: skip
            return insight

    def delete_insight(
        self, user_id: str, ref: int | str, session: Session | None = None
    ) -> InsightRow:
        """Delete one insight (and its history); returns what was deleted."""
        from sqlalchemy import delete

        from agentcal.models import UserInsight

        with self.transaction(session) as s:
            insight = self.get_insight(user_id, ref, session=s)
            s.execute(delete(UserInsight).where(UserInsight.id == insight.id))  # type: ignore[arg-type]
            return insight


def _split_ref(ref: str) -> tuple[str, str]:
    for sep in ("/", "."):
        if sep in ref:
            category, _, key = ref.partition(sep)
            if category in INSIGHT_CATEGORIES and key:
                return category, key
    raise v.ValidationError(
        f"insight reference {ref!r} must be an id or CATEGORY/KEY (categories: {', '.join(INSIGHT_CATEGORIES)})"
    )


user_insights_service = UserInsightsService()
