"""Who owes what: the leading-group office's figures over a period, computed by the database.

For a period (county days, both included) and optionally one township or department (the unit and
every unit under it), the figures are:
- per unit: its tasks due in the period (cancelled ones aside): open, due within 7 days, overdue,
  escalated, done on time and late, the median time to close, and the share done by the deadline
  (of the tasks that are done or past their deadline);
- per duty of the register: the units that owe it in the period, those that have done every task
  of it, and those that have not;
- cases active in the period by kind, ladder stage and township, opened and closed in it; each
  ladder step's time to close (median, slowest) against the plan's expectation (the step's due);
- a trend by month of each.

Each figure is a set of tasks or cases that `task_condition` / `case_condition` reproduce as a
filter of the ordinary lists, so a front end opens the rows behind any number.
The office sees every unit's rows; any other viewer its own unit's (tasks/access.py).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from tortoise.expressions import F, Q

from models import clock
from models.cases import Case, CaseStatus
from models.duties import Duty
from models.rules import Rule, RuleKind
from models.tasks import OPEN_STATUSES, TaskStatus
from models.units import Unit
from models.users import User
from tasks.access import figure_units, visible_cases
from tasks.office.sql import Sql, dialect, medians, rows, sorted_rows

DUE_SOON_DAYS = 7
COUNT_NAMES = ("total", "open", "due_soon", "overdue", "escalated", "done_on_time", "done_late", "done", "judged")
OPEN_SQL = "('OPEN', 'IN_PROGRESS')"


class TaskFigure(StrEnum):
    ALL = "ALL"  # every task due in the period, cancelled ones aside
    OPEN = "OPEN"
    DUE_SOON = "DUE_SOON"  # open, due between now and the end of the 7th day from today
    OVERDUE = "OVERDUE"  # open, past its deadline
    ESCALATED = "ESCALATED"  # raised to the unit's leader or the office for being overdue
    DONE_ON_TIME = "DONE_ON_TIME"
    DONE_LATE = "DONE_LATE"


class CaseFigure(StrEnum):
    ACTIVE = "ACTIVE"  # open at some moment of the period
    OPEN = "OPEN"  # open now, opened by the end of the period
    OPENED = "OPENED"  # opened in the period
    CLOSED = "CLOSED"  # closed in the period


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return clock.start_of_day(self.first)

    @property
    def end(self) -> datetime:
        return clock.end_of_day(self.last)

    def months(self) -> list[str]:
        found, day = [], self.first.replace(day=1)
        while day <= self.last:
            found.append(f"{day.year}-{day.month:02d}")
            day = (day + timedelta(days=32)).replace(day=1)
        return found


@dataclass(frozen=True)
class Scope:
    """Whose rows: `unit_ids` None is every unit; `case_filter` narrows the cases to those the viewer may see."""

    unit_ids: frozenset[int] | None
    case_units: frozenset[int] | None  # a township's or department's subtree, for its cases
    viewer: User | None  # None: the office (no case filter)


async def subtree(unit_id: int) -> frozenset[int]:
    """A unit and every unit under it (a township's villages and 司法所, a bureau's schools)."""
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, parent in await Unit.all().values_list("id", "parent_id"):
        children[parent].append(pk)
    found, todo = {unit_id}, [unit_id]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return frozenset(found)


async def scope_for(viewer: User, unit_id: int | None) -> Scope:
    """The office sees every unit, or one township's or department's subtree; anyone else their own unit."""
    own = figure_units(viewer)
    tree = await subtree(unit_id) if unit_id is not None else None
    if own is None:
        return Scope(unit_ids=tree, case_units=tree, viewer=None)
    units = own if tree is None else own & tree
    return Scope(unit_ids=units, case_units=tree, viewer=viewer)


def due_soon_until() -> datetime:
    return clock.end_of_day(clock.today() + timedelta(days=DUE_SOON_DAYS))


# -- the sets behind the figures, as list filters (the same sets the SQL below counts) --------------


def task_condition(figure: TaskFigure) -> Q:
    now = clock.now()
    live = list(OPEN_STATUSES)
    match figure:
        case TaskFigure.ALL:
            return ~Q(status=TaskStatus.CANCELLED)
        case TaskFigure.OPEN:
            return Q(status__in=live)
        case TaskFigure.DUE_SOON:
            return Q(status__in=live, due_at__gte=now, due_at__lte=due_soon_until())
        case TaskFigure.OVERDUE:
            return Q(status__in=live, due_at__lt=now)
        case TaskFigure.ESCALATED:
            return Q(escalation_level__gte=1) & ~Q(status=TaskStatus.CANCELLED)
        case TaskFigure.DONE_ON_TIME:
            return Q(status=TaskStatus.DONE, completed_at__lte=F("due_at"))
        case TaskFigure.DONE_LATE:
            return Q(status=TaskStatus.DONE, completed_at__gt=F("due_at"))


def case_condition(figure: CaseFigure, period: Period) -> Q:
    match figure:
        case CaseFigure.ACTIVE:
            return Q(opened_at__lte=period.end) & (Q(closed_at__isnull=True) | Q(closed_at__gte=period.start))
        case CaseFigure.OPEN:
            return Q(status=CaseStatus.OPEN, opened_at__lte=period.end)
        case CaseFigure.OPENED:
            return Q(opened_at__gte=period.start, opened_at__lte=period.end)
        case CaseFigure.CLOSED:
            return Q(closed_at__gte=period.start, closed_at__lte=period.end)


def case_scope_condition(scope: Scope) -> Q:
    """Cases of a township's or department's subtree (by the case's township or school); the viewer's rule."""
    condition = Q()
    if scope.case_units is not None:
        units = list(scope.case_units)
        condition &= Q(township_id__in=units) | Q(school_id__in=units)
    if scope.viewer is not None:
        condition &= visible_cases(scope.viewer)
    return condition


# -- the figures ------------------------------------------------------------------------------------


@dataclass
class TaskCounts:
    total: int = 0
    open: int = 0
    due_soon: int = 0
    overdue: int = 0
    escalated: int = 0
    done_on_time: int = 0
    done_late: int = 0
    done: int = 0  # DONE, whether or not its completion time is known
    judged: int = 0  # done, or past the deadline: the tasks the share is taken of
    median_hours_to_close: float | None = None

    @property
    def share_done_by_deadline(self) -> float | None:
        return round(self.done_on_time / self.judged, 4) if self.judged else None

    def add(self, other: TaskCounts) -> None:
        for name in (
            "total",
            "open",
            "due_soon",
            "overdue",
            "escalated",
            "done_on_time",
            "done_late",
            "done",
            "judged",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class UnitFigures:
    unit_id: int
    counts: TaskCounts


@dataclass
class MonthFigures:
    month: str
    counts: TaskCounts


def _task_where(sql: Sql, period: Period, scope: Scope, extra: str = "") -> str:
    parts = [
        "t.status <> 'CANCELLED'",
        f"t.due_at >= {sql.param(period.start)}",
        f"t.due_at <= {sql.param(period.end)}",
    ]
    if scope.unit_ids is not None:
        parts.append(f"t.assignee_unit_id IN {sql.ids(sorted(scope.unit_ids))}")
    if extra:
        parts.append(extra)
    return " AND ".join(parts)


def _count_columns(sql: Sql) -> str:
    now, soon = sql.param(clock.now()), sql.param(due_soon_until())
    return (
        "COUNT(*) AS total, "
        f"SUM(CASE WHEN t.status IN {OPEN_SQL} THEN 1 ELSE 0 END) AS open, "
        f"SUM(CASE WHEN t.status IN {OPEN_SQL} AND t.due_at >= {now} AND t.due_at <= {soon} THEN 1 ELSE 0 END)"
        " AS due_soon, "
        f"SUM(CASE WHEN t.status IN {OPEN_SQL} AND t.due_at < {now} THEN 1 ELSE 0 END) AS overdue, "
        "SUM(CASE WHEN t.escalation_level >= 1 THEN 1 ELSE 0 END) AS escalated, "
        "SUM(CASE WHEN t.status = 'DONE' AND t.completed_at <= t.due_at THEN 1 ELSE 0 END) AS done_on_time, "
        "SUM(CASE WHEN t.status = 'DONE' AND t.completed_at > t.due_at THEN 1 ELSE 0 END) AS done_late, "
        "SUM(CASE WHEN t.status = 'DONE' THEN 1 ELSE 0 END) AS done, "
        f"SUM(CASE WHEN t.status = 'DONE' OR t.due_at < {now} THEN 1 ELSE 0 END) AS judged"
    )


def _counts(row: dict[str, Any]) -> TaskCounts:
    return TaskCounts(
        **{
            k: int(row[k] or 0)
            for k in (
                "total",
                "open",
                "due_soon",
                "overdue",
                "escalated",
                "done_on_time",
                "done_late",
                "done",
                "judged",
            )
        }
    )


async def _close_medians(period: Period, scope: Scope, group: str) -> dict[Any, tuple[float, float]]:
    sql = Sql(dialect())
    where = _task_where(sql, period, scope, "t.status = 'DONE' AND t.completed_at IS NOT NULL")
    return await medians(sql, sql.seconds("t.completed_at", "t.created_at"), group, "task t", where)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600.0, 2)


async def unit_figures(period: Period, scope: Scope) -> list[UnitFigures]:
    """One row per unit that has tasks due in the period, the county's order of units."""
    if scope.unit_ids is not None and not scope.unit_ids:
        return []
    sql = Sql(dialect())
    columns = _count_columns(sql)
    where = _task_where(sql, period, scope)
    statement = (
        f"SELECT t.assignee_unit_id AS unit_id, {columns} FROM task t JOIN unit u ON u.id = t.assignee_unit_id "
        f"WHERE {where} GROUP BY t.assignee_unit_id, u.position ORDER BY u.position, t.assignee_unit_id"
    )
    found = [UnitFigures(r["unit_id"], _counts(r)) for r in await rows(statement, sql)]
    close = await _close_medians(period, scope, "t.assignee_unit_id")
    for row in found:
        row.counts.median_hours_to_close = _hours(close.get(row.unit_id, (None,))[0])
    return found


async def total_figures(period: Period, scope: Scope) -> TaskCounts:
    if scope.unit_ids is not None and not scope.unit_ids:
        return TaskCounts()
    sql = Sql(dialect())
    columns = _count_columns(sql)
    statement = f"SELECT {columns} FROM task t WHERE {_task_where(sql, period, scope)}"
    result = await rows(statement, sql)
    counts = _counts(result[0]) if result else TaskCounts()
    close = await _close_medians(period, scope, "1")
    counts.median_hours_to_close = _hours(next(iter(close.values()), (None,))[0])
    return counts


async def task_trend(period: Period, scope: Scope, by_unit: bool = False) -> dict[int | None, list[MonthFigures]]:
    """Per month of the deadline (county time): the same counts; by unit, or for the whole scope (key None)."""
    if scope.unit_ids is not None and not scope.unit_ids:
        return {}
    sql = Sql(dialect())
    columns = _count_columns(sql)
    month = sql.month("t.due_at")
    unit, group = ("t.assignee_unit_id", f"t.assignee_unit_id, {month}") if by_unit else ("NULL", month)
    statement = (
        f"SELECT {unit} AS unit_id, {month} AS month, {columns} FROM task t "
        f"WHERE {_task_where(sql, period, scope)} GROUP BY {group}"
    )
    found: dict[int | None, dict[str, TaskCounts]] = defaultdict(dict)
    for row in await rows(statement, sql):
        found[row["unit_id"]][row["month"]] = _counts(row)
    return {
        key: [MonthFigures(m, months.get(m, TaskCounts())) for m in period.months()] for key, months in found.items()
    }


# -- duties of the register --------------------------------------------------------------------------


@dataclass
class DutyFigures:
    duty: Duty
    owing_units: int
    done_units: int
    not_done_unit_ids: list[int]  # in the county's order of units
    tasks: int
    done_tasks: int
    trend: list[tuple[str, int, int]] = field(default_factory=list)  # (month, tasks due, done)


async def duty_figures(period: Period, scope: Scope) -> list[DutyFigures]:
    """Per duty of the register with tasks due in the period: the units owing it, and which have done it all."""
    if scope.unit_ids is not None and not scope.unit_ids:
        return []
    sql = Sql(dialect())
    month = sql.month("t.due_at")
    where = _task_where(sql, period, scope, "t.duty_id IS NOT NULL")
    statement = (
        f"SELECT t.duty_id, t.assignee_unit_id AS unit_id, {month} AS month, COUNT(*) AS n, "
        "SUM(CASE WHEN t.status = 'DONE' THEN 1 ELSE 0 END) AS done "
        f"FROM task t WHERE {where} GROUP BY t.duty_id, t.assignee_unit_id, {month}"
    )
    per_unit: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    per_month: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for row in await rows(statement, sql):
        n, done = int(row["n"]), int(row["done"] or 0)
        unit = per_unit[row["duty_id"]][row["unit_id"]]
        unit[0] += n
        unit[1] += done
        month_row = per_month[row["duty_id"]][row["month"]]
        month_row[0] += n
        month_row[1] += done
    duties = {d.id: d for d in await Duty.filter(id__in=list(per_unit)).order_by("position", "id")}
    positions = dict(
        await Unit.filter(id__in={u for units in per_unit.values() for u in units}).values_list("id", "position")
    )
    found = []
    for duty_id, duty in duties.items():
        units = sorted(per_unit[duty_id], key=lambda u: (positions.get(u, 0), u))
        done = [u for u in units if per_unit[duty_id][u][0] == per_unit[duty_id][u][1]]
        found.append(
            DutyFigures(
                duty=duty,
                owing_units=len(units),
                done_units=len(done),
                not_done_unit_ids=[u for u in units if u not in set(done)],
                tasks=sum(v[0] for v in per_unit[duty_id].values()),
                done_tasks=sum(v[1] for v in per_unit[duty_id].values()),
                trend=[(m, *per_month[duty_id].get(m, [0, 0])) for m in period.months()],
            )
        )
    return found


# -- the whole summary of tasks in one pass (PostgreSQL) --------------------------------------------


@dataclass
class TaskSummary:
    units: list[UnitFigures]
    totals: TaskCounts
    trend: list[MonthFigures]
    duties: list[DutyFigures]


def month_starts(period: Period) -> list[datetime]:
    """The first moment of each month of the period, county time, as UTC moments (width_bucket's thresholds)."""
    return [clock.start_of_day(date(int(m[:4]), int(m[5:]), 1)) for m in period.months()]


async def task_summary(period: Period, scope: Scope) -> TaskSummary:
    """Per unit, the totals, the months and the duties. On PostgreSQL three statements side by side: the
    counts per unit and per month in one pass (GROUPING SETS; the totals are the units' sums), the medians
    per unit and overall in one sort, and the duties (per unit, then per duty, in the database); elsewhere
    one statement per figure."""
    if dialect() != "postgres":
        units = await unit_figures(period, scope)
        trend = (await task_trend(period, scope)).get(None) or [MonthFigures(m, TaskCounts()) for m in period.months()]
        return TaskSummary(units, await total_figures(period, scope), trend, await duty_figures(period, scope))
    months = period.months()
    if scope.unit_ids is not None and not scope.unit_ids:
        return TaskSummary([], TaskCounts(), [MonthFigures(m, TaskCounts()) for m in months], [])
    counted, duty_rows, middle, positions = await asyncio.gather(
        _pg_counts(period, scope), _pg_duties(period, scope), _pg_medians(period, scope), _unit_positions()
    )
    median_of = {(r["g"], r["unit_id"]): r["median"] for r in middle}
    unit_rows = [r for r in counted if r["g"] == 0]
    unit_rows.sort(key=lambda r: (positions.get(r["unit_id"], 0), r["unit_id"]))  # the county's order
    units = [UnitFigures(r["unit_id"], _counts(r)) for r in unit_rows]
    for unit in units:
        unit.counts.median_hours_to_close = _hours(median_of.get((0, unit.unit_id)))
    totals = TaskCounts(**{name: sum(int(r[name] or 0) for r in unit_rows) for name in COUNT_NAMES})
    totals.median_hours_to_close = _hours(median_of.get((1, None)))
    per_month = {months[r["m"] - 1]: _counts(r) for r in counted if r["g"] == 1 and r["m"] and r["m"] <= len(months)}
    trend = [MonthFigures(m, per_month.get(m, TaskCounts())) for m in months]
    return TaskSummary(units, totals, trend, await _duty_list(duty_rows, months))


def _pg_month(sql: Sql, period: Period, column: str) -> str:
    """The month of the period a moment falls in (1, 2 ...): a binary search over the month starts."""
    return f"width_bucket({column}, {sql.param(month_starts(period))}::timestamptz[])"


def _pg_count_columns(sql: Sql) -> str:
    """_count_columns' figures, each a count with a FILTER (cheaper per row than SUM over a CASE)."""
    now, soon = sql.param(clock.now()), sql.param(due_soon_until())
    live = f"t.status IN {OPEN_SQL}"
    return (
        "COUNT(*) AS total, "
        f"COUNT(*) FILTER (WHERE {live}) AS open, "
        f"COUNT(*) FILTER (WHERE {live} AND t.due_at >= {now} AND t.due_at <= {soon}) AS due_soon, "
        f"COUNT(*) FILTER (WHERE {live} AND t.due_at < {now}) AS overdue, "
        "COUNT(*) FILTER (WHERE t.escalation_level >= 1) AS escalated, "
        "COUNT(*) FILTER (WHERE t.status = 'DONE' AND t.completed_at <= t.due_at) AS done_on_time, "
        "COUNT(*) FILTER (WHERE t.status = 'DONE' AND t.completed_at > t.due_at) AS done_late, "
        "COUNT(*) FILTER (WHERE t.status = 'DONE') AS done, "
        f"COUNT(*) FILTER (WHERE t.status = 'DONE' OR t.due_at < {now}) AS judged"
    )


async def _pg_counts(period: Period, scope: Scope) -> list[dict[str, Any]]:
    """One pass over the period's tasks: a row per unit (g 0) and a row per month (g 1)."""
    sql = Sql("postgres")
    month = _pg_month(sql, period, "t.due_at")
    where = _task_where(sql, period, scope)
    statement = (
        f"SELECT GROUPING(t.assignee_unit_id) AS g, t.assignee_unit_id AS unit_id, t.m, {_pg_count_columns(sql)} "
        "FROM (SELECT t.assignee_unit_id, t.status, t.due_at, t.completed_at, t.escalation_level, "
        f"{month} AS m FROM task t WHERE {where}) t "
        "GROUP BY GROUPING SETS ((t.assignee_unit_id), (t.m))"
    )
    return await rows(statement, sql)


async def _unit_positions() -> dict[int, int]:
    """The county's order of units (a few thousand rows at most)."""
    return {r["id"]: r["position"] for r in await rows("SELECT u.id, u.position FROM unit u", Sql("postgres"))}


async def _pg_duties(period: Period, scope: Scope) -> list[dict[str, Any]]:
    """Per duty (g 0): the units owing it, those with every task done, the others' ids in the county's
    order, its tasks and the done ones; per duty and month (g 1): its tasks and the done ones."""
    sql = Sql("postgres")
    month = _pg_month(sql, period, "t.due_at")
    where = _task_where(sql, period, scope, "t.duty_id IS NOT NULL")
    statement = (
        "SELECT y.g, y.duty_id, y.m, COUNT(*) AS owing, COUNT(*) FILTER (WHERE y.n = y.done) AS done_units, "
        "SUM(y.n) AS n, SUM(y.done) AS done, "
        "array_agg(y.unit_id ORDER BY u.position, y.unit_id) FILTER (WHERE y.n > y.done) AS not_done "
        "FROM (SELECT GROUPING(x.assignee_unit_id) AS g, x.duty_id, x.assignee_unit_id AS unit_id, x.m, COUNT(*) AS n, "
        "COUNT(*) FILTER (WHERE x.status = 'DONE') AS done "
        f"FROM (SELECT t.duty_id, t.assignee_unit_id, t.status, {month} AS m FROM task t WHERE {where}) x "
        "GROUP BY GROUPING SETS ((x.duty_id, x.assignee_unit_id), (x.duty_id, x.m))) y "
        "LEFT JOIN unit u ON u.id = y.unit_id GROUP BY y.g, y.duty_id, y.m"
    )
    return await rows(statement, sql)


async def _pg_medians(period: Period, scope: Scope) -> list[dict[str, Any]]:
    sql = Sql("postgres")
    seconds = sql.seconds("t.completed_at", "t.created_at")
    where = _task_where(sql, period, scope, "t.status = 'DONE' AND t.completed_at IS NOT NULL")
    statement = (
        f"SELECT GROUPING(t.assignee_unit_id) AS g, t.assignee_unit_id AS unit_id, "
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds}) AS median FROM task t WHERE {where} "
        "GROUP BY GROUPING SETS ((t.assignee_unit_id), ())"
    )
    return await sorted_rows(statement, sql)


async def _duty_list(duty_rows: list[dict[str, Any]], months: list[str]) -> list[DutyFigures]:
    per_duty = {r["duty_id"]: r for r in duty_rows if r["g"] == 0}
    per_month: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for row in duty_rows:
        if row["g"] == 1 and row["m"] and row["m"] <= len(months):
            per_month[row["duty_id"]][months[row["m"] - 1]] = (int(row["n"]), int(row["done"] or 0))
    found = []
    for duty in await Duty.filter(id__in=list(per_duty)).order_by("position", "id"):
        row = per_duty[duty.id]
        found.append(
            DutyFigures(
                duty=duty,
                owing_units=int(row["owing"]),
                done_units=int(row["done_units"]),
                not_done_unit_ids=list(row["not_done"] or []),
                tasks=int(row["n"]),
                done_tasks=int(row["done"] or 0),
                trend=[(m, *per_month[duty.id].get(m, (0, 0))) for m in months],
            )
        )
    return found


# -- cases and the ladder ----------------------------------------------------------------------------


@dataclass
class CaseGroup:
    kind: str
    stage: str
    township_id: int
    active: int
    open: int
    opened: int
    closed: int


@dataclass
class CaseMonth:
    month: str
    opened: int
    closed: int


@dataclass
class StepFigures:
    rule: Rule
    expected_school_days: int  # 0: the same day; 1: the next school day ...
    count: int
    done: int
    within_expectation: int
    overdue: int
    median_hours: float | None
    slowest_hours: float | None
    trend: list[tuple[str, int, int]] = field(default_factory=list)  # (month created, steps, within expectation)

    @property
    def share_within_expectation(self) -> float | None:
        return round(self.within_expectation / self.done, 4) if self.done else None


async def _case_ids_sql(scope: Scope) -> str | None:
    """The scope's cases as SQL over integers (a subtree's, or the ids the viewer may see); None: every case."""
    if scope.viewer is None:
        if scope.case_units is None:
            return None
        units = Sql("").ids(sorted(scope.case_units))
        return f"SELECT c2.id FROM dropout_case c2 WHERE c2.township_id IN {units} OR c2.school_id IN {units}"
    ids = await Case.filter(case_scope_condition(scope)).values_list("id", flat=True)
    return Sql("").ids(sorted(ids))[1:-1]


async def case_groups(period: Period, scope: Scope) -> list[CaseGroup]:
    sql = Sql(dialect())
    start, end = sql.param(period.start), sql.param(period.end)
    narrowed = await _case_ids_sql(scope)
    extra = f" AND c.id IN ({narrowed})" if narrowed else ""
    statement = (
        "SELECT c.kind, c.stage, c.township_id, COUNT(*) AS active, "
        "SUM(CASE WHEN c.status = 'OPEN' THEN 1 ELSE 0 END) AS open, "
        f"SUM(CASE WHEN c.opened_at >= {start} THEN 1 ELSE 0 END) AS opened, "
        f"SUM(CASE WHEN c.closed_at <= {end} THEN 1 ELSE 0 END) AS closed "
        f"FROM dropout_case c WHERE c.opened_at <= {end} AND (c.closed_at IS NULL OR c.closed_at >= {start}){extra} "
        "GROUP BY c.kind, c.stage, c.township_id"
    )
    return [
        CaseGroup(
            r["kind"], r["stage"], r["township_id"], *(int(r[k] or 0) for k in ("active", "open", "opened", "closed"))
        )
        for r in await rows(statement, sql)
    ]


CASE_KEYS = ("kind", "stage", "township_id", "")  # "": every case of the scope, under the key None


async def case_counts(period: Period, scope: Scope) -> dict[str, dict[Any, tuple[int, int, int, int]]]:
    """Cases active, open, opened and closed in the period by kind, by stage, by township and in all
    ({"kind": {kind: (active, open, opened, closed)}, ..., "": {None: (...)}}): case_groups' rows summed
    (a few hundred rows at county scale; a GROUPING SETS statement saved 3.6 ms of the overview's 190)."""
    merged: dict[str, dict[Any, list[int]]] = {key: {} for key in CASE_KEYS}
    for group in await case_groups(period, scope):
        values = (group.active, group.open, group.opened, group.closed)
        for key in CASE_KEYS:
            row = merged[key].setdefault(getattr(group, key) if key else None, [0, 0, 0, 0])
            for i, value in enumerate(values):
                row[i] += value
    return {key: {k: (v[0], v[1], v[2], v[3]) for k, v in by.items()} for key, by in merged.items()}


async def case_trend(period: Period, scope: Scope) -> list[CaseMonth]:
    sql = Sql(dialect())
    start, end = sql.param(period.start), sql.param(period.end)
    narrowed = await _case_ids_sql(scope)
    extra = f" AND c.id IN ({narrowed})" if narrowed else ""
    opened_month, closed_month = sql.month("c.opened_at"), sql.month("c.closed_at")
    statement = (
        f"SELECT 'opened' AS what, {opened_month} AS month, COUNT(*) AS n FROM dropout_case c "
        f"WHERE c.opened_at >= {start} AND c.opened_at <= {end}{extra} GROUP BY {opened_month} "
        f"UNION ALL SELECT 'closed', {closed_month}, COUNT(*) FROM dropout_case c "
        f"WHERE c.closed_at >= {start} AND c.closed_at <= {end}{extra} GROUP BY {closed_month}"
    )
    counts: dict[tuple[str, str], int] = {(r["what"], r["month"]): int(r["n"]) for r in await rows(statement, sql)}
    return [CaseMonth(m, counts.get(("opened", m), 0), counts.get(("closed", m), 0)) for m in period.months()]


def _step_where(sql: Sql, period: Period, scope: Scope, extra: str = "") -> str:
    parts = [
        "t.case_id IS NOT NULL",
        "t.rule_id IS NOT NULL",
        "t.status <> 'CANCELLED'",
        f"t.created_at >= {sql.param(period.start)}",
        f"t.created_at <= {sql.param(period.end)}",
    ]
    if scope.unit_ids is not None:
        parts.append(f"t.assignee_unit_id IN {sql.ids(sorted(scope.unit_ids))}")
    if extra:
        parts.append(extra)
    return " AND ".join(parts)


async def step_figures(period: Period, scope: Scope) -> list[StepFigures]:
    """Each ladder step created in the period: how long it took to close against its expected due."""
    if scope.unit_ids is not None and not scope.unit_ids:
        return []
    sql = Sql(dialect())
    now = sql.param(clock.now())
    months_of_period = period.months()
    postgres = sql.dialect == "postgres"  # there the month by a search over the month starts, not to_char
    month = _pg_month(sql, period, "t.created_at") if postgres else sql.month("t.created_at")
    where = _step_where(sql, period, scope)
    statement = (
        f"SELECT t.rule_id, {month} AS month, COUNT(*) AS n, "
        "SUM(CASE WHEN t.status = 'DONE' THEN 1 ELSE 0 END) AS done, "
        "SUM(CASE WHEN t.status = 'DONE' AND t.completed_at <= t.due_at THEN 1 ELSE 0 END) AS within, "
        f"SUM(CASE WHEN t.status IN {OPEN_SQL} AND t.due_at < {now} THEN 1 ELSE 0 END) AS overdue "
        f"FROM task t WHERE {where} GROUP BY t.rule_id, {month}"
    )
    timing_sql = Sql(dialect())
    timing_where = _step_where(timing_sql, period, scope, "t.status = 'DONE' AND t.completed_at IS NOT NULL")
    found_rows, timing = await asyncio.gather(
        rows(statement, sql),
        medians(timing_sql, timing_sql.seconds("t.completed_at", "t.created_at"), "t.rule_id", "task t", timing_where),
    )
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    months: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    for row in found_rows:
        values = [int(row[k] or 0) for k in ("n", "done", "within", "overdue")]
        totals[row["rule_id"]] = [a + b for a, b in zip(totals[row["rule_id"]], values, strict=True)]
        name = months_of_period[min(row["month"], len(months_of_period)) - 1] if postgres else row["month"]
        months[row["rule_id"]][name] = (values[0], values[2])
    rules = await Rule.filter(id__in=list(totals), kind=RuleKind.LADDER_STEP).order_by("position", "id")
    found = []
    for rule in rules:
        n, done, within, overdue = totals[rule.id]
        median, slowest = timing.get(rule.id, (None, None))
        found.append(
            StepFigures(
                rule=rule,
                expected_school_days=int(rule.spec.get("due", 0)),
                count=n,
                done=done,
                within_expectation=within,
                overdue=overdue,
                median_hours=_hours(median),
                slowest_hours=_hours(slowest),
                trend=[(m, *months[rule.id].get(m, (0, 0))) for m in months_of_period],
            )
        )
    return found


def step_condition(rule_id: int, period: Period) -> Q:
    """The tasks behind a ladder step's figures (with task_condition for done / within the expectation)."""
    return Q(rule_id=rule_id, case_id__not_isnull=True, created_at__gte=period.start, created_at__lte=period.end)
