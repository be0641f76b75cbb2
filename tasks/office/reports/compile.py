"""What each report says, compiled from the registers when its period is over.

- 普九月报 (四(二)6): one school's pupils 在校 at the start of the month, arrivals, departures,
  suspensions, returns from suspension, dropouts and returns, and at the end, with every line.
- The education bureau's quarterly 通报 (四(二)6): the same flows for every school of the county over
  the quarter, and the cases of suspected dropout per township.
- The supervision office's evaluation of a township (五(一)): each criterion of the policy file
  measured (the targets, duty tasks done by their deadline, ladder steps done within the plan's
  time), with suggested points; the supervision office records its own scores and remarks on filing.
"""

from __future__ import annotations

import calendar
from datetime import date
from typing import Any

from models import clock
from models.cases import Case
from models.units import SchoolLevel, Unit, UnitKind
from tasks.office import owing, targets
from tasks.office.policy import office_policy
from tasks.office.reports.roll import Flows, roll_flows
from tasks.office.sql import Sql, dialect, rows

COMPULSORY = (SchoolLevel.PRIMARY, SchoolLevel.JUNIOR_MIDDLE, SchoolLevel.NINE_YEAR)


def month_span(key: str) -> tuple[date, date]:
    year, month = int(key[:4]), int(key[5:7])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def quarter_span(key: str) -> tuple[date, date]:
    year, quarter = int(key[:4]), int(key[-1])
    first = date(year, 3 * quarter - 2, 1)
    return first, month_span(f"{year}-{3 * quarter:02d}")[1]


def year_span(key: str) -> tuple[date, date]:
    return date(int(key[:4]), 8, 1), date(int(key[5:9]), 7, 31)


def _lines(flows: Flows) -> list[dict[str, Any]]:
    return [
        {"day": line.day.isoformat(), "kind": line.kind, "name": line.name, "grade": line.grade, "detail": line.detail}
        for line in flows.lines
    ]


async def compile_monthly(school: Unit, key: str) -> dict[str, Any]:
    first, last = month_span(key)
    flows = (await roll_flows([school.id], first, last, {school.id: school.name}))[school.id]
    return {
        "school": school.name,
        "period": key,
        "label": f"{first.year}年{first.month}月",
        "figures": flows.as_dict(),
        "lines": _lines(flows),
    }


async def compile_quarterly(key: str) -> dict[str, Any]:
    first, last = quarter_span(key)
    schools = await Unit.filter(kind=UnitKind.SCHOOL, school_level__in=list(COMPULSORY)).order_by("position", "id")
    names = dict(await Unit.all().values_list("id", "name"))
    flows = await roll_flows([s.id for s in schools], first, last, names)
    totals = Flows()
    for one in flows.values():
        totals.add(one)
    period = owing.Period(first, last)
    groups = await owing.case_groups(period, owing.Scope(None, None, None))
    by_township: dict[int, dict[str, int]] = {}
    for group in groups:
        row = by_township.setdefault(group.township_id, {"active": 0, "opened": 0, "closed": 0, "open": 0})
        for name in ("active", "opened", "closed", "open"):
            row[name] += getattr(group, name)
    townships = await Unit.filter(kind=UnitKind.TOWNSHIP).order_by("position", "id")
    return {
        "period": key,
        "label": f"{first.year}年第{key[-1]}季度",
        "from": first.isoformat(),
        "to": last.isoformat(),
        "schools": [{"school": s.name, **flows[s.id].as_dict()} for s in schools],
        "totals": totals.as_dict(),
        "townships": [
            {"township": t.name, **by_township.get(t.id, {"active": 0, "opened": 0, "closed": 0, "open": 0})}
            for t in townships
        ],
    }


async def _ladder_timeliness(township_id: int, period: owing.Period) -> tuple[int, int]:
    """Ladder steps of the township's cases created in the period: (done by their deadline, done or overdue)."""
    sql = Sql(dialect())
    start, end, now = sql.param(period.start), sql.param(period.end), sql.param(clock.now())
    statement = (
        "SELECT SUM(CASE WHEN t.status = 'DONE' AND t.completed_at <= t.due_at THEN 1 ELSE 0 END) AS good, "
        f"SUM(CASE WHEN t.status = 'DONE' OR t.due_at < {now} THEN 1 ELSE 0 END) AS judged "
        "FROM task t JOIN dropout_case c ON c.id = t.case_id "
        f"WHERE t.rule_id IS NOT NULL AND t.status <> 'CANCELLED' AND c.township_id = {int(township_id)} "
        f"AND t.created_at >= {start} AND t.created_at <= {end}"
    )
    found = await rows(statement, sql)
    return int(found[0]["good"] or 0), int(found[0]["judged"] or 0)


async def compile_evaluation(township: Unit, key: str) -> dict[str, Any]:
    first, last = year_span(key)
    day = min(clock.today(), last)
    period = owing.Period(first, last)
    tree = await owing.subtree(township.id)
    duties = await owing.total_figures(period, owing.Scope(tree, tree, None))
    good, judged = await _ladder_timeliness(township.id, period)
    figures = {f.spec.code: f for f in (await targets.target_figures(day, [township.id])).get(township.id, [])}
    criteria = []
    for criterion in (await office_policy()).evaluation:
        if criterion.measure.startswith("target:"):
            figure = figures.get(criterion.measure[7:])
            value = figure.value if figure else None
            goal = figure.spec.target if figure else 1.0
            basis = f"{figure.numerator}/{figure.denominator}" if figure else "—"
        elif criterion.measure == "duty-compliance":
            value, goal = duties.share_done_by_deadline, 1.0
            basis = f"{duties.done_on_time}/{duties.judged}"
        else:
            value, goal = (round(good / judged, 4) if judged else None), 1.0
            basis = f"{good}/{judged}"
        suggested = criterion.points if value is None else round(criterion.points * min(1.0, value / goal), 1)
        criteria.append(
            {
                "code": criterion.code,
                "name": criterion.name,
                "points": criterion.points,
                "measure": criterion.measure,
                "value": value,
                "target": goal,
                "basis": basis,
                "suggested": suggested,
            }
        )
    open_cases = await Case.filter(township_id=township.id, status="OPEN").count()
    return {
        "township": township.name,
        "period": key,
        "label": f"{key}学年",
        "asOf": day.isoformat(),
        "criteria": criteria,
        "suggestedTotal": round(sum(c["suggested"] for c in criteria), 1),
        "openCases": open_cases,
    }
