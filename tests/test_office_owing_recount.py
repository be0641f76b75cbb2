"""Who owes what over many tasks: the overview's figures equal the same figures counted again in Python.

The database counts the figures in few passes (on PostgreSQL the units and the months in one grouped pass,
the duties aggregated per duty in the database); this test makes two hundred tasks of every kind of
state over eight units, three duties and three months, and recounts each figure from the task rows.
Completion times are whole minutes, so the medians in hours round the same way everywhere.
"""

from __future__ import annotations

import random
import statistics
from datetime import date, datetime, timedelta
from typing import Any

from models import clock
from models.duties import Duty
from models.tasks import Task, TaskKind, TaskStatus
from models.units import Unit
from models.users import UserRole
from tests.office_support import AS_OF
from tests.support import data_of, gql, sign_in

FIGURES = "total open dueSoon overdue escalated doneOnTime doneLate medianHoursToClose shareDoneByDeadline"
OVERVIEW = f"""query($from: Date!, $to: Date!) {{ owing(from: $from, to: $to) {{
  totals {{ {FIGURES} }}
  trend {{ month figures {{ {FIGURES} }} }}
  units {{ unit {{ code }} figures {{ {FIGURES} }} }}
  duties {{ duty {{ code }} owingUnits doneUnits taskCount doneTaskCount unitsNotDone {{ code }}
    trend {{ month taskCount doneCount }} }}
}} }}"""
FIRST, LAST = date(2026, 9, 1), date(2026, 11, 30)
LIVE = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)
NO_MEDIAN = {"medianHoursToClose": None}


async def many_tasks(units: list[Unit], duties: list[Duty]) -> None:
    shuffle = random.Random(20260901)
    statuses = [TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.DONE, TaskStatus.DONE, TaskStatus.CANCELLED]
    for n in range(200):
        due = clock.end_of_day(FIRST + timedelta(days=shuffle.randint(-10, 100)))  # some outside the period
        created = due - timedelta(minutes=shuffle.randint(60, 40 * 24 * 60))
        status = shuffle.choice(statuses)
        completed = created + timedelta(minutes=shuffle.randint(1, 50 * 24 * 60)) if status == TaskStatus.DONE else None
        if n % 7 == 0:  # done, its completion time unknown (imported): neither on time nor late
            status, completed = TaskStatus.DONE, None
        duty = shuffle.choice([None, *duties])
        task = await Task.create(
            title=f"recount {n}",
            kind=TaskKind.DUTY if duty else TaskKind.MANUAL,
            status=status,
            due_at=due,
            assignee_unit=shuffle.choice(units),
            duty=duty,
            escalation_level=shuffle.choice([0, 0, 1, 2]),
            completed_at=completed,
        )
        await Task.filter(id=task.id).update(created_at=created)


def counted(tasks: list[dict[str, Any]], now: datetime, soon: datetime) -> dict[str, Any]:
    """The figures of TaskFigures, from the rows (docs/figures.md)."""
    done = [t for t in tasks if t["status"] == TaskStatus.DONE]
    on_time = sum(1 for t in done if t["completed_at"] is not None and t["completed_at"] <= t["due_at"])
    judged = sum(1 for t in tasks if t["status"] == TaskStatus.DONE or t["due_at"] < now)
    closing = [(t["completed_at"] - t["created_at"]).total_seconds() for t in done if t["completed_at"] is not None]
    return {
        "total": len(tasks),
        "open": sum(1 for t in tasks if t["status"] in LIVE),
        "dueSoon": sum(1 for t in tasks if t["status"] in LIVE and now <= t["due_at"] <= soon),
        "overdue": sum(1 for t in tasks if t["status"] in LIVE and t["due_at"] < now),
        "escalated": sum(1 for t in tasks if t["escalation_level"] >= 1),
        "doneOnTime": on_time,
        "doneLate": sum(1 for t in done if t["completed_at"] is not None and t["completed_at"] > t["due_at"]),
        "medianHoursToClose": round(statistics.median(closing) / 3600.0, 2) if closing else None,
        "shareDoneByDeadline": round(on_time / judged, 4) if judged else None,
    }


async def test_the_overview_equals_a_recount_of_its_tasks(client) -> None:
    every_unit = await Unit.all().order_by("position", "id")
    units = every_unit[1::3][:8]
    duties = (await Duty.all().order_by("position", "id"))[:3]
    await many_tasks(units, duties)
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    with clock.as_of(clock.parse_moment(AS_OF)):
        now, soon = clock.now(), clock.end_of_day(clock.today() + timedelta(days=7))
        result = data_of(await gql(client, OVERVIEW, {"from": str(FIRST), "to": str(LAST)}, office))["owing"]

    start, end = clock.start_of_day(FIRST), clock.end_of_day(LAST)
    rows = await Task.filter(due_at__gte=start, due_at__lte=end).exclude(status=TaskStatus.CANCELLED).values()
    assert len(rows) > 100
    order = {u.id: i for i, u in enumerate(every_unit)}
    code = {u.id: u.code for u in every_unit}
    owing_units = sorted({t["assignee_unit_id"] for t in rows}, key=order.__getitem__)

    assert result["totals"] == counted(rows, now, soon)
    assert [(r["unit"]["code"], r["figures"]) for r in result["units"]] == [
        (code[u], counted([t for t in rows if t["assignee_unit_id"] == u], now, soon)) for u in owing_units
    ]
    month_of = {t["id"]: clock.local(t["due_at"]).strftime("%Y-%m") for t in rows}
    assert result["trend"] == [  # a month has no median of its own
        {"month": m, "figures": {**counted([t for t in rows if month_of[t["id"]] == m], now, soon), **NO_MEDIAN}}
        for m in ("2026-09", "2026-10", "2026-11")
    ]

    expected_duties = []
    for duty in await Duty.filter(id__in={t["duty_id"] for t in rows if t["duty_id"]}).order_by("position", "id"):
        mine = [t for t in rows if t["duty_id"] == duty.id]
        owing = sorted({t["assignee_unit_id"] for t in mine}, key=order.__getitem__)
        not_done = [u for u in owing if any(t["status"] != TaskStatus.DONE for t in mine if t["assignee_unit_id"] == u)]
        expected_duties.append(
            {
                "duty": {"code": duty.code},
                "owingUnits": len(owing),
                "doneUnits": len(owing) - len(not_done),
                "taskCount": len(mine),
                "doneTaskCount": sum(1 for t in mine if t["status"] == TaskStatus.DONE),
                "unitsNotDone": [{"code": code[u]} for u in not_done],
                "trend": [
                    {
                        "month": m,
                        "taskCount": sum(1 for t in mine if month_of[t["id"]] == m),
                        "doneCount": sum(1 for t in mine if month_of[t["id"]] == m and t["status"] == TaskStatus.DONE),
                    }
                    for m in ("2026-09", "2026-10", "2026-11")
                ],
            }
        )
    assert len(expected_duties) == 3
    assert result["duties"] == expected_duties
