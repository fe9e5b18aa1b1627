"""Run request sets through the offline model, end to end, and score what reached the store.

Each case runs in a fresh chat session of the real `ChatRunner` (graph, tools, services,
SQLite or PostgreSQL store) after the block's events are put back; its earlier turns (`>`)
run first. What the scored turn wrote (events created, changed, cancelled; insight jobs
queued) and what it read (its `list_events` calls, its answer) are compared with the case's
expectation (see `cases.py`):

* exact: the right action on the right event with the right date, time, duration, title;
* partial: the right action on the right event, but a detail is off (a wrong write);
* wrong: another action or another event (a wrong write when something was written);
* refused: nothing was written where a write was expected (it asked or explained).

For expectations that write nothing (`ask`, `list`, ...), any write is `wrong`; turning a habit
off (`stop`) is a write.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from tests.offline_eval.cases import Case, alternatives, parse_days

USER = "eval"
VERDICTS = ("exact", "partial", "wrong", "refused")


@dataclass
class Outcome:
    case: Case
    verdict: str
    why: str
    answer: str


@dataclass
class State:
    events: dict[int, dict[str, Any]]
    jobs: list[dict[str, Any]]
    habits: dict[str, bool] = field(default_factory=dict)  # title -> active


def _norm(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def _hhmm(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


class Evaluator:
    """Scores cases against one store (`engine`); reuses one runner per (zone, now)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self._runners: dict[tuple[str, datetime], Any] = {}

    # -- running ----------------------------------------------------------------------------
    def _runner(self, case: Case) -> Any:
        key = (case.zone, case.now)
        if key not in self._runners:
            from agentcal.agent.offline import OfflineChatModel
            from agentcal.agent.runner import ChatRunner
            from agentcal.settings import Settings

            model = OfflineChatModel(timezone=case.zone, fixed_now=case.now)
            self._runners[key] = ChatRunner(
                model, user_id=USER, settings=Settings(timezone=case.zone),
                engine=self.engine, persist=False, clock=lambda now=case.now: now,
            )  # fmt: skip
        return self._runners[key]

    def _reset(self, case: Case) -> None:
        from sqlmodel import Session, col, delete

        from agentcal.models import CalendarEvent, CalendarPreference, Job, UserInsight
        from agentcal.planning.events import CalendarEventsService

        with Session(self.engine) as s:
            for table in (CalendarEvent, Job, CalendarPreference, UserInsight):
                s.exec(delete(table).where(col(table.user_id) == USER))  # type: ignore[call-overload]
            s.commit()
        service = CalendarEventsService(self.engine)
        self._habits(case)
        for e in case.events:
            service.create_event(
                user_id=USER, title=e.title, start=e.start, duration_minutes=e.minutes,
                timezone=case.zone, location=e.location, sync=False,
            )  # fmt: skip

    def _habits(self, case: Case) -> None:
        """The block's habits: each an insight the worker applied and the preference it made."""
        from agentcal.insights.user_insights import UserInsightsService
        from agentcal.planning.from_insights import InsightPreferenceSync

        for h in case.habits:
            category, _, key = h.ref.partition("/")
            value: dict[str, Any] = {"time": h.at, "duration_minutes": h.minutes,
                                     "title": h.title, "preference_type": h.preference_type}  # fmt: skip
            if h.days is not None:
                value["days"] = h.days
            UserInsightsService(self.engine).create_insight(
                user_id=USER, insight_type="habit", category=category, key=key, value=value,
                confidence=0.9,
            )  # fmt: skip
        if case.habits:
            InsightPreferenceSync(self.engine).sync_user(USER)

    def _state(self) -> State:
        from sqlmodel import Session, col, select

        from agentcal.models import CalendarEvent, CalendarPreference, Job

        with Session(self.engine) as s:
            events = {
                e.id: {
                    "title": e.title,
                    "start": e.start_at,
                    "end": e.end_at,
                    "location": e.location,
                    "status": e.status,
                }
                for e in s.exec(select(CalendarEvent).where(CalendarEvent.user_id == USER))
                # Events the emitter placed for a habit are the insight's consequence (the
                # chat applies an insight at once when no worker runs), not writes of the turn.
                if e.id is not None and e.preference_id is None
            }
            jobs = [
                dict(j.payload)
                for j in s.exec(
                    select(Job)
                    .where(Job.user_id == USER, Job.kind == "update_insight")
                    .order_by(col(Job.id))
                )
            ]
            habits = {
                p.title: p.is_active
                for p in s.exec(
                    select(CalendarPreference).where(CalendarPreference.user_id == USER)
                )
            }
        return State(events, jobs, habits)

    def run(self, case: Case) -> Outcome:
        runner = self._runner(case)
        self._reset(case)
        runner.new_session()
        for prior in case.priors:
            runner.run_turn(prior)
        before = self._state()
        turn = runner.run_turn(case.text)
        after = self._state()
        calls = _tool_calls(turn.record.agent_state)
        verdict, why = judge(case, before, after, calls, turn.answer, turn.ok)
        return Outcome(case, verdict, why, turn.answer if turn.ok else f"ERROR {turn.error}")

    def run_all(self, cases: list[Case]) -> list[Outcome]:
        return [self.run(c) for c in cases]


def _tool_calls(state: Any) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for m in (state or {}).get("messages", []):
        for call in (m.get("data") or {}).get("tool_calls") or []:
            out.append((call["name"], call.get("args") or {}))
    return out


# -- judging --------------------------------------------------------------------------------
@dataclass
class Diff:
    created: list[dict[str, Any]]
    changed: list[tuple[dict[str, Any], dict[str, Any]]]  # (before, after), cancelled included
    jobs: list[dict[str, Any]]
    stopped: list[str]  # habits turned off

    @property
    def writes(self) -> int:
        return len(self.created) + len(self.changed) + len(self.jobs) + len(self.stopped)


def diff(before: State, after: State) -> Diff:
    created = [e for i, e in after.events.items() if i not in before.events]
    changed = [
        (before.events[i], e)
        for i, e in after.events.items()
        if i in before.events and e != before.events[i]
    ]
    stopped = [t for t, on in before.habits.items() if on and not after.habits.get(t, False)]
    return Diff(created, changed, after.jobs[len(before.jobs) :], stopped)


def _time_ok(case: Case, value: datetime, spec: str) -> bool:
    """`value` is at `spec` ('2026-11-27 10:00') or inside its window ('... 06:00~12:00')."""
    day, _, clock = spec.strip().partition(" ")
    lo, _, hi = clock.partition("~")
    start = case.local(f"{day} {lo}")
    if not hi:
        return value == start
    end = case.local(f"{day} {hi}") if hi != "24:00" else case.local(f"{day} 00:00") + timedelta(1)
    return start <= value < end


def _minutes(event: dict[str, Any]) -> int:
    return round((event["end"] - event["start"]).total_seconds() / 60)


def _title_ok(title: str | None, spec: str) -> bool:
    return spec == "*" or _norm(title) in {_norm(a) for a in alternatives(spec)}


def judge(
    case: Case,
    before: State,
    after: State,
    calls: list[tuple[str, dict[str, Any]]],
    answer: str,
    ok: bool,
) -> tuple[str, str]:
    d = diff(before, after)
    action, f = case.action, case.fields
    if action in ("ask", "ask1", "list", "next", "free", "habits"):
        if d.writes:
            return "wrong", f"wrote something: {_describe(d)}"
        return _judge_read(case, action, f, calls, answer, ok)
    if not d.writes:
        return "refused", "nothing written"
    if action in ("create", "schedule"):
        return _judge_create(case, action, f, d, after)
    if action in ("update", "delete"):
        return _judge_change(case, action, f, d, before)
    if action in ("pref", "insight"):
        return _judge_insight(case, action, f, d)
    if action == "stop":
        if d.created or d.changed or d.jobs or d.stopped != [f[0]]:
            return "wrong", f"expected only {f[0]!r} stopped, got: {_describe(d)}"
        return "exact", ""
    raise ValueError(f"line {case.line}: unknown expectation {action!r}")


def _describe(d: Diff) -> str:
    parts = [f"created {e['title']!r}" for e in d.created]
    parts += [f"changed {a['title']!r}" for a, _ in d.changed]
    parts += [f"insight {j.get('key')}" for j in d.jobs]
    parts += [f"stopped {t!r}" for t in d.stopped]
    return ", ".join(parts)


def _judge_read(
    case: Case, action: str, f: list[str], calls: list[tuple[str, dict[str, Any]]],
    answer: str, ok: bool,
) -> tuple[str, str]:  # fmt: skip
    if action in ("ask", "ask1"):
        if not ok:
            return "partial", "nothing written, but the turn failed"
        if action == "ask1" and (not answer.strip() or "\n" in answer.strip()):
            return "partial", "nothing written, but not a one-line answer"
        return "exact", ""
    if action == "habits":
        missing = [t for t in f[0].split(", ") if _norm(t) not in _norm(answer)]
        if not missing:
            return "exact", ""
        listed = any(name == "list_habits" for name, _ in calls)
        return ("partial" if listed else "refused"), f"the answer does not name {missing}"
    lists = [a for name, a in calls if name == "list_events"]
    if action == "next":
        if _norm(f[0]) in _norm(answer):
            return "exact", ""
        return ("partial" if lists else "refused"), f"the answer does not name {f[0]!r}"
    if not lists:
        return "refused", "no listing"
    ranges = [(case_time(case, a.get("start")), case_time(case, a.get("end"))) for a in lists]
    lo, hi = case.local(f[0]), case.local(f[1])
    if action == "list":
        if (lo, hi) in ranges:
            return "exact", ""
        return "partial", f"listed {ranges}"
    covered = any(a is not None and b is not None and a <= lo and b >= hi for a, b in ranges)
    if not covered:
        return "partial", f"listed {ranges}, not covering the asked window"
    verdict = f[2]
    text = _norm(answer)
    if verdict.startswith("busy:"):
        good = _norm(verdict[5:]) in text
    elif verdict == "yes":
        good = "free" in text and "not free" not in text and "busy" not in text
    else:  # slots
        good = "free" in text
    return ("exact", "") if good else ("partial", f"answer does not say {verdict!r}")


def case_time(case: Case, text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(case.zone))


def _judge_create(case: Case, action: str, f: list[str], d: Diff, after: State) -> tuple[str, str]:
    if len(d.created) != 1 or d.changed or d.jobs:
        return "wrong", f"expected one new event, got: {_describe(d)}"
    (e,) = d.created
    problems = []
    if not _title_ok(e["title"], f[0]):
        problems.append(f"title {e['title']!r}")
    if action == "create":
        if not _time_ok(case, e["start"], f[1]):
            problems.append(f"start {_hhmm(e['start'], case.zone)}")
        if f[2] != "*" and _minutes(e) != int(f[2]):
            problems.append(f"{_minutes(e)} min")
        want_location = f[3] if len(f) > 3 else ""
        if want_location and not _title_ok(e["location"], want_location):
            problems.append(f"location {e['location']!r}")
        if not want_location and e["location"]:
            problems.append(f"location {e['location']!r} (none said)")
    else:  # schedule: booked inside the window, over nothing else
        if _minutes(e) != int(f[1]):
            problems.append(f"{_minutes(e)} min")
        lo, hi = case.local(f[2]), case.local(f[3])
        if not (lo <= e["start"] and e["end"] <= hi):
            problems.append(f"at {_hhmm(e['start'], case.zone)}, outside the window")
        for other in after.events.values():
            active = other is not e and other["status"] != "cancelled"
            if active and other["start"] < e["end"] and e["start"] < other["end"]:
                problems.append(f"over {other['title']!r}")
    return ("partial", "; ".join(problems)) if problems else ("exact", "")


def _judge_change(case: Case, action: str, f: list[str], d: Diff, before: State) -> tuple[str, str]:
    target = [e for e in before.events.values() if e["title"] == f[0]]
    if not target:
        raise ValueError(f"line {case.line}: no event {f[0]!r} before the turn")
    if d.created or d.jobs or len(d.changed) != 1 or d.changed[0][0] is not target[0]:
        return "wrong", f"expected a change to {f[0]!r}, got: {_describe(d)}"
    old, new = d.changed[0]
    if action == "delete":
        if new["status"] == "cancelled":
            return "exact", ""
        return "wrong", "changed instead of cancelled"
    if new["status"] == "cancelled":
        return "wrong", "cancelled instead of changed"
    want = dict(item.split("=", 1) for item in f[1:])
    start = case.local(want["start"]) if "start" in want else old["start"]
    minutes = int(want["dur"]) if "dur" in want else _minutes(old)
    title = want.get("title", old["title"])
    location = want.get("location", old["location"])
    problems = []
    if new["start"] != start:
        problems.append(f"start {_hhmm(new['start'], case.zone)}")
    if _minutes(new) != minutes:
        problems.append(f"{_minutes(new)} min")
    if not _title_ok(new["title"], title):
        problems.append(f"title {new['title']!r}")
    if _norm(new["location"]) != _norm(location):
        problems.append(f"location {new['location']!r}")
    return ("partial", "; ".join(problems)) if problems else ("exact", "")


def _judge_insight(case: Case, action: str, f: list[str], d: Diff) -> tuple[str, str]:
    if d.created or d.changed or len(d.jobs) != 1:
        return "wrong", f"expected one insight, got: {_describe(d)}"
    (job,) = d.jobs
    if action == "insight":
        want = dict(item.split("=", 1) for item in f[2:])
        value = job.get("value") if isinstance(job.get("value"), dict) else {}
        problems = [f"{k}={value.get(k)!r}" for k, v in want.items() if str(value.get(k)) != v]
        if (job.get("category"), job.get("key")) != (f[0], f[1]):
            problems.insert(0, f"{job.get('category')}/{job.get('key')}")
        return ("partial", "; ".join(problems)) if problems else ("exact", "")
    from agentcal.planning.from_insights import spec_from_insight

    spec, why = spec_from_insight(
        SimpleNamespace(key=job.get("key", ""), category=job.get("category", ""),
                        value=job.get("value"), confidence=job.get("confidence", 1)),
        0.0,
    )  # fmt: skip
    if spec is None:
        return "partial", f"{job.get('key')}: no preference ({why})"
    problems = []
    if spec.preference_type not in alternatives(f[0]):
        problems.append(f"type {spec.preference_type}")
    lo, _, hi = f[1].partition("~")
    if not (spec.start_time == lo if not hi else lo <= spec.start_time < hi):
        problems.append(f"at {spec.start_time}")
    if f[2] != "*" and spec.duration_minutes != int(f[2]):
        problems.append(f"{spec.duration_minutes} min")
    if spec.day_of_week not in [parse_days(a) for a in alternatives(f[3])]:
        problems.append(f"days {spec.day_of_week}")
    options = dict(x.split("=", 1) for x in f[4:] if x.startswith(("every=", "first=")))
    titles = [x for x in f[4:] if not x.startswith(("every=", "first="))]
    if titles and not _title_ok(spec.title, titles[0]):
        problems.append(f"title {spec.title!r}")
    if spec.interval_weeks != int(options.get("every", 1)):
        problems.append(f"every {spec.interval_weeks} weeks")
    if "first" in options and (first := _first_day(case, spec)) != options["first"]:
        problems.append(f"first on {first}")
    return ("partial", "; ".join(problems)) if problems else ("exact", "")


def _first_day(case: Case, spec: Any) -> str | None:
    """The first day from the case's today on that the preference happens."""
    from agentcal.planning.recurrence import occurs_on

    today = case.now.date()
    for ahead in range(7 * 53):
        day = today + timedelta(days=ahead)
        if occurs_on(day, spec.day_of_week, spec.interval_weeks, spec.anchor_date):
            return day.isoformat()
    return None


# -- reports --------------------------------------------------------------------------------
def tally(outcomes: list[Outcome]) -> dict[str, Counter[str]]:
    """Verdict counts per category, plus 'all'."""
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for o in outcomes:
        out[o.case.category][o.verdict] += 1
        out["all"][o.verdict] += 1
    return dict(out)


def table(outcomes: list[Outcome]) -> str:
    """A markdown table: per category, counts and the exact share."""
    counts = tally(outcomes)
    order = [*sorted(c for c in counts if c != "all"), "all"]
    lines = [
        "| category | cases | exact | partial | wrong | refused | exact % |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for cat in order:
        c = counts[cat]
        n = sum(c.values())
        cells = " | ".join(str(c[v]) for v in VERDICTS)
        name = f"**{cat}**" if cat == "all" else cat
        lines.append(f"| {name} | {n} | {cells} | {100 * c['exact'] / n:.1f}% |")
    return "\n".join(lines)
