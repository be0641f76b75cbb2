"""The roll's flows at a school over a span of days, compiled from its movements (学籍异动).

A pupil is 在校 at a school on a day when the latest movement up to that day leaves them ENROLLED
there; before their first movement they are at the school that movement left from (a 转入 from
outside the county: at no school). Each movement in the span that takes a pupil into 在校 at the
school is an arrival (转入, 升学 into it) or a 复学; each that takes one out is a departure (转出,
升学 out of it, 毕业, leaving) or a 休学. So the end always equals the start plus arrivals and
returns from suspension, less departures and suspensions. Dropouts and returns are the ledger's
确认辍学 and 劝返复学 lines of the school's cases in the span.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from tortoise.expressions import Q, Subquery

from models.cases import Case
from models.children import Student
from models.registers import LedgerEntry, LedgerMark, MovementKind, RollMovement, RollStatus
from tasks.registers.movements import MOVEMENT_WORDS, status_after

INTO = {MovementKind.TRANSFER_IN, MovementKind.PROMOTE}


@dataclass
class Line:
    day: date
    kind: str  # 转入, 转出, 休学, 复学, 升学, 毕业, 离校, 辍学, 劝返
    name: str
    grade: int | None
    detail: str


@dataclass
class Flows:
    start: int = 0
    arrived: int = 0
    left: int = 0
    suspended: int = 0
    resumed: int = 0
    dropped_out: int = 0
    returned: int = 0
    end: int = 0
    lines: list[Line] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start,
            "in": self.arrived,
            "out": self.left,
            "suspended": self.suspended,
            "resumed": self.resumed,
            "droppedOut": self.dropped_out,
            "returned": self.returned,
            "end": self.end,
        }

    def add(self, other: Flows) -> None:
        for name in ("start", "arrived", "left", "suspended", "resumed", "dropped_out", "returned", "end"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _from_school(movement: RollMovement) -> int | None:
    return movement.other_school_id if movement.kind in INTO else movement.school_id


def _place(student: Student, movements: Sequence[RollMovement], day: date) -> tuple[int | None, RollStatus]:
    done = [m for m in movements if m.day <= day]
    if done:
        return done[-1].school_id, status_after(done[-1])
    if movements:
        return _from_school(movements[0]), RollStatus.ENROLLED
    return student.school_id, RollStatus.ENROLLED


def _detail(movement: RollMovement, names: dict[int, str]) -> str:
    other = names.get(movement.other_school_id or 0) or movement.other_place
    return f"{MOVEMENT_WORDS[movement.kind]}{'：' + other if other else ''}"


async def roll_flows(school_ids: Iterable[int], first: date, last: date, names: dict[int, str]) -> dict[int, Flows]:
    """For each school, the pupils 在校 the day before `first` and on `last`, and every flow between."""
    schools = set(school_ids)
    involved = Subquery(
        RollMovement.filter(Q(school_id__in=schools) | Q(other_school_id__in=schools)).values("student_id")
    )
    students = await Student.filter(Q(school_id__in=schools) | Q(id__in=involved)).only(
        "id", "name", "school_id", "grade"
    )
    by_student: dict[int, list[RollMovement]] = defaultdict(list)
    for movement in await RollMovement.filter(student_id__in=[s.id for s in students]).order_by("day", "id"):
        by_student[movement.student_id].append(movement)
    found = {school: Flows() for school in schools}
    before = first - timedelta(days=1)
    for student in students:
        movements = by_student.get(student.id, [])
        at_start = _place(student, movements, before)
        if at_start[0] in found and at_start[1] is RollStatus.ENROLLED:
            found[at_start[0]].start += 1
        at_end = _place(student, movements, last)
        if at_end[0] in found and at_end[1] is RollStatus.ENROLLED:
            found[at_end[0]].end += 1
        state = at_start
        for movement in movements:
            if not first <= movement.day <= last:
                continue
            after = (movement.school_id, status_after(movement))
            was_in, now_in = state[1] is RollStatus.ENROLLED, after[1] is RollStatus.ENROLLED
            if was_in and state[0] in found and (not now_in or after[0] != state[0]):
                flows = found[state[0]]
                if movement.kind is MovementKind.SUSPEND:
                    flows.suspended += 1
                else:
                    flows.left += 1
            if now_in and after[0] in found and (not was_in or state[0] != after[0]):
                flows = found[after[0]]
                if movement.kind is MovementKind.RESUME:
                    flows.resumed += 1
                else:
                    flows.arrived += 1
            for school in {movement.school_id, movement.other_school_id} & set(found):
                found[school].lines.append(
                    Line(movement.day, MOVEMENT_WORDS[movement.kind], student.name, movement.grade or student.grade,
                         _detail(movement, names))
                )  # fmt: skip
            state = after
    entries = await LedgerEntry.filter(
        case__school_id__in=schools,
        day__gte=first,
        day__lte=last,
        mark__in=[LedgerMark.CONFIRMED_DROPOUT, LedgerMark.PERSUADED_BACK],
    ).values_list("case_id", "mark", "day", "evidence")
    cases = {
        pk: (school, pupil)
        for pk, school, pupil in await Case.filter(id__in=[e[0] for e in entries]).values_list(
            "id", "school_id", "student_id"
        )
    }
    pupils = {
        pk: (name, grade)
        for pk, name, grade in await Student.filter(id__in=[p for _, p in cases.values()]).values_list(
            "id", "name", "grade"
        )
    }
    for case_id, mark, day, evidence in entries:
        school, pupil = cases[case_id]
        name, grade = pupils[pupil]
        flows = found[school]
        if mark == LedgerMark.CONFIRMED_DROPOUT:
            flows.dropped_out += 1
            flows.lines.append(Line(day, "辍学", name, grade, f"确认辍学：{evidence}"))
        else:
            flows.returned += 1
            flows.lines.append(Line(day, "劝返", name, grade, f"劝返复学：{evidence}"))
    for flows in found.values():
        flows.lines.sort(key=lambda line: (line.day, line.kind, line.name))
    return found
