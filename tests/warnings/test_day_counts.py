"""The surge rules' per-day counts (``incident_day_count``, kept by triggers) equal a direct count of
the incidents after any history of new reports, backdating, edits of category and grid, merges,
drills and undrills — on both backends."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from support.street import Street, backdate, make_street

from db.engine import Database
from db.models import Incident, IncidentDayCount
from dispatch_console.incidents import service as incidents
from dispatch_console.kernel.timefmt import LOCAL_TZ
from dispatch_console.warnings.evaluate import Span, Surge, _facts
from dispatch_console.warnings.rules import SurgeRule, current_policy

CATEGORIES = ("dispute", "city_management", "petition")
GRIDS = ("G1", "G2", None)

create = st.tuples(st.just("create"), st.sampled_from(CATEGORIES), st.sampled_from(GRIDS), st.booleans(),
                   st.floats(min_value=0, max_value=40, allow_nan=False))
edit = st.tuples(st.just("category"), st.integers(0, 10_000), st.sampled_from(CATEGORIES))
regrid = st.tuples(st.just("grid"), st.integers(0, 10_000), st.sampled_from(("G1", "G2")))
merge = st.tuples(st.just("merge"), st.integers(0, 10_000), st.integers(0, 10_000))
drill = st.tuples(st.just("drill"), st.integers(0, 10_000), st.booleans())
older = st.tuples(st.just("backdate"), st.integers(0, 10_000), st.floats(min_value=0.01, max_value=3,
                                                                        allow_nan=False))
steps = st.lists(st.one_of(create, create, edit, regrid, merge, drill, older), min_size=1, max_size=8)


def _direct(db: Database) -> Counter[tuple[str, str, date]]:
    counts: Counter[tuple[str, str, date]] = Counter()
    with db.read() as s:
        for grid_id, category, at in s.execute(select(Incident.grid_id, Incident.category, Incident.created_at).where(
                Incident.is_drill.is_(False), Incident.merged_into_id.is_(None))):
            day = at.astimezone(LOCAL_TZ).date()
            counts["category", category, day] += 1
            if grid_id is not None:
                counts["grid", str(grid_id), day] += 1
    return counts


def _table(db: Database) -> Counter[tuple[str, str, date]]:
    with db.read() as s:
        return Counter({(r.kind, r.subject, r.day): r.count for r in s.execute(select(IncidentDayCount)).scalars()
                        if r.count != 0})


def _apply(street: Street, step: tuple[object, ...]) -> str | None:
    """One step of the history; returns what it did (None: not applicable to the incident chosen)."""
    db, officer = street.db, street.officer
    kind = str(step[0])
    if kind == "create":
        _kind, category, grid, is_drill, days_ago = step
        street.report("历史", category=str(category), grid=grid if isinstance(grid, str) else None,
                      drill=bool(is_drill), days_ago=float(days_ago))  # type: ignore[arg-type]
        return kind
    if not street.made:
        return None
    pick = int(step[1]) % len(street.made)  # type: ignore[call-overload]
    target = street.made[pick]
    with db.read() as s:
        inc = s.get(Incident, target)
        assert inc is not None
        version, status, is_drill = inc.version, inc.status, inc.is_drill
    editable = not is_drill and status not in ("closed", "cancelled")  # a merged duplicate is cancelled
    if kind == "category" and editable:
        incidents.update_incident(db, officer, target, version, category=step[2])
    elif kind == "grid" and editable:
        incidents.update_incident(db, officer, target, version, grid_id=street.grids[str(step[2])])
    elif kind == "merge":
        into = street.made[(pick + 1 + int(step[2])) % len(street.made)]  # type: ignore[call-overload]
        if into == target or status not in ("new", "acknowledged", "dispatched", "on_scene") or is_drill:
            return None
        with db.read() as s:
            other = s.get(Incident, into)
            assert other is not None
            if other.merged_into_id is not None or other.is_drill:
                return None
        incidents.merge_duplicate(db, officer, target, version, into)
    elif kind == "drill":  # a report marked a drill afterwards, or taken back out of one
        with db.write() as s:
            s.execute(update(Incident).where(Incident.id == target).values(is_drill=bool(step[2])))
    elif kind == "backdate":
        backdate(db, target, timedelta(days=float(step[2])))  # type: ignore[arg-type]
    else:
        return None
    return kind


def _surge_facts_match_a_direct_count(street: Street) -> None:
    """The surge facts of the newest report (as the rules read them) against the incidents counted directly."""
    db = street.db
    with db.read() as s:
        inc = s.execute(select(Incident).where(Incident.is_drill.is_(False), Incident.merged_into_id.is_(None))
                        .order_by(Incident.id.desc()).limit(1)).scalar_one_or_none()
        if inc is None:
            return
        policy = current_policy()
        surges = [Surge("category_surge", policy.category_surge, Incident.category == inc.category, inc.category)]
        if inc.grid_id is not None:
            surges.append(Surge("grid_surge", policy.grid_surge, Incident.grid_id == inc.grid_id, str(inc.grid_id)))
        facts = _facts(s, inc, [], surges)
        for surge, (recent, before, _running) in zip(surges, facts.surges, strict=True):
            span = Span.of(surge.rule, inc.created_at)
            times = list(s.execute(select(Incident.created_at).where(
                surge.where, Incident.is_drill.is_(False), Incident.merged_into_id.is_(None))).scalars())
            assert recent == sum(1 for at in times if span.high < at <= span.t)
            assert before == sum(1 for at in times if span.low < at <= span.high)


def test_the_day_counts_equal_a_direct_count_after_any_history(db: Database) -> None:
    street = make_street(db)
    done: Counter[str] = Counter()

    @settings(max_examples=16, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(steps)
    def check(history: list[tuple[object, ...]]) -> None:
        for step in history:  # the examples add to one database: the counts hold after every one
            done[_apply(street, step) or "skipped"] += 1
        assert _table(db) == _direct(db)
        _surge_facts_match_a_direct_count(street)

    check()
    # the history did what it is for (derandomized: the same steps every run)
    assert {"create", "category", "grid", "merge", "drill", "backdate"} <= set(done), done
    assert _direct(db)


def test_a_span_reads_whole_days_from_the_table_and_only_the_ends_from_the_index() -> None:
    from datetime import UTC, datetime

    from dispatch_console.warnings.rules import Notify

    rule = SurgeRule(True, timedelta(hours=24), timedelta(days=28), 0.001, 3, Notify("warning", "shift_leader"))
    t = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
    span = Span.of(rule, t)
    assert (span.low, span.high) == (t - timedelta(days=29), t - timedelta(days=1))
    assert span.first_day == date(2026, 11, 9) and span.last_day == date(2026, 12, 5)  # 27 whole days
    assert span.head_end == datetime(2026, 11, 8, 16, tzinfo=UTC)  # 11-09 00:00 in Shanghai
    assert span.tail_start == datetime(2026, 12, 5, 16, tzinfo=UTC)  # 12-06 00:00 in Shanghai
    short = Span.of(SurgeRule(True, timedelta(hours=24), timedelta(days=1), 0.001, 3,
                              Notify("warning", "shift_leader")), t)
    assert short.first_day is None and short.tail_start == short.low  # no whole day: all from the index
