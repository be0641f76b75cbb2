"""The plan's targets (二) for a small made-up township, counted by hand; the children behind a figure."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from api.ids import global_id
from models import clock
from models.accounts import create_user, issue_token
from models.cases import Case, CaseKind
from models.children import Gender, Student
from models.citizen_id import check_char
from models.facts import DisabilityKind, Fact, FactKind
from models.population import Resident
from models.registers import LeaveReason, LedgerMark, MovementKind, TransferScope
from models.units import Unit
from models.users import User, UserRole
from tasks.children.students import StudentData, create_student
from tasks.registers.ledger import mark_case
from tasks.registers.movements import MovementData, record_movement
from tests.support import data_of, gql, sign_in

_serial = itertools.count(1)
TARGETS = """query($town: ID!, $year: String) { targets(schoolYear: $year, townshipId: $town) {
  asOf schoolYear county { code numerator denominator value met }
  townships { township { code } figures { code target numerator denominator value met line
    counted: children { totalCount nodes { name } } missing: children(counted: false) { nodes { name } } } } } }"""


def citizen_id(born: date) -> str:
    first17 = f"652323{born:%Y%m%d}{next(_serial) % 1000:03d}"
    return first17 + check_char(first17)


async def pupil(town: Unit, name: str, grade: int, born: date = date(2016, 3, 3)) -> Student:
    school = await Unit.get(code="demo-primary-1")
    student = await create_student(
        StudentData(name=name, gender=Gender.MALE, birth_date=born, citizen_id=citizen_id(born), school_id=school.id,
                    grade=grade, township_id=town.id)
    )  # fmt: skip
    await resident(town, name, born, student.citizen_id)
    return student


async def resident(town: Unit, name: str, born: date, cid: str | None = None) -> Resident:
    return await Resident.create(
        citizen_id=cid or citizen_id(born), name=name, gender=Gender.MALE, birth_date=born, township=town,
        source="police", as_of=date(2026, 7, 31),
    )  # fmt: skip


async def move(office: User, student: Student, kind: MovementKind, day: date, **more: Any) -> None:
    with clock.as_of(clock.parse_moment("2026-10-19")):
        await record_movement(office, student.id, MovementData(kind=kind, day=day, evidence="证明材料", **more))


async def fact(student: Student, kind: FactKind, disability: DisabilityKind | None = None) -> None:
    await Fact.create(
        kind=kind, student=student, household_id=student.household_id, noted_on=date(2026, 9, 1), source="残联",
        reason="登记", disability_kind=disability, recorded_at=clock.now(),
    )  # fmt: skip


async def test_targets_of_a_made_up_township_as_counted_by_hand(client) -> None:
    town = await Unit.get(code="shitizi")  # counted as differences: pupils of other tests may live there too
    office_user = await create_user(await Unit.get(code="leading-group-office"), UserRole.OFFICE, "办公室")
    office = await issue_token(office_user)
    variables = {"town": global_id("Unit", town.id), "year": "2026-2027"}
    with clock.as_of(clock.parse_moment("2026-10-20")):
        before = data_of(await gql(client, TARGETS, variables, office))["targets"]
    base = {f["code"]: (f["numerator"], f["denominator"]) for f in before["townships"][0]["figures"]}
    await pupil(town, "甲", 3)
    await resident(town, "乙", date(2015, 1, 1))  # on no roll: not counted
    r4 = await pupil(town, "丙", 4)
    await move(office_user, r4, MovementKind.LEAVE, date(2026, 9, 20), leave_reason=LeaveReason.DEATH)
    r5 = await pupil(town, "丁", 4)
    await move(
        office_user, r5, MovementKind.TRANSFER_OUT, date(2026, 9, 21), scope=TransferScope.OTHER_PROVINCE,
        other_place="外省某校",
    )  # fmt: skip
    await resident(town, "戊", date(2021, 5, 5))  # five years old: not of school age
    r7 = await pupil(town, "己", 2)
    await fact(r7, FactKind.DISABILITY, DisabilityKind.VISUAL)
    r8 = await pupil(town, "庚", 5)
    await fact(r8, FactKind.DISABILITY, DisabilityKind.HEARING)
    await fact(r8, FactKind.LEFT_BEHIND)
    await move(office_user, r8, MovementKind.LEAVE, date(2026, 9, 25), leave_reason=LeaveReason.OTHER)
    # The primary cohort (grade 6): one on the roll, one suspended, one confirmed dropout, one gone out of county.
    p1 = await pupil(town, "六甲", 6, date(2014, 3, 3))
    p2 = await pupil(town, "六乙", 6, date(2014, 3, 3))
    await move(office_user, p2, MovementKind.SUSPEND, date(2026, 9, 10), expected_return=date(2027, 3, 1))
    p3 = await pupil(town, "六丙", 6, date(2014, 3, 3))
    case = await Case.create(
        student=p3, kind=CaseKind.ABSENT_WITHOUT_REASON, school_id=p3.school_id, township=town,
        absent_since=date(2026, 9, 14), opened_at=clock.parse_moment("2026-09-14"),
    )  # fmt: skip
    with clock.as_of(clock.parse_moment("2026-10-19")):
        await mark_case(office_user, case.id, LedgerMark.CONFIRMED_DROPOUT, date(2026, 10, 8), "多次劝返未果")
    p4 = await pupil(town, "六丁", 6, date(2014, 3, 3))
    await move(
        office_user, p4, MovementKind.TRANSFER_OUT, date(2026, 9, 21), scope=TransferScope.OTHER_COUNTY,
        other_place="昌吉市某校",
    )  # fmt: skip

    with clock.as_of(clock.parse_moment("2026-10-20")):
        view = data_of(await gql(client, TARGETS, variables, office))["targets"]
    assert (view["asOf"], view["schoolYear"]) == ("2026-10-20", "2026-2027")
    figures = {f["code"]: f for f in view["townships"][0]["figures"]}

    def added(code: str) -> tuple[int, int]:
        return figures[code]["numerator"] - base[code][0], figures[code]["denominator"] - base[code][1]

    # In: 甲 己 丁 (转出外省: enrolled elsewhere) 六甲 六乙 六丙 六丁; not: 乙, 庚 (left); 丙 died: out of both.
    assert added("enrolment") == (7, 9)
    enrolment = figures["enrolment"]
    assert enrolment["met"] is False and enrolment["line"] == "township"
    assert enrolment["value"] == round(enrolment["numerator"] / enrolment["denominator"], 4)
    assert "庚" in {n["name"] for n in enrolment["missing"]["nodes"]}  # the pupil; 乙 is on no roll
    assert {"甲", "己", "丁"} <= {n["name"] for n in enrolment["counted"]["nodes"]}
    assert added("disabled-enrolment") == (1, 2)
    assert added("care-groups-enrolment") == (0, 1)
    # 六甲 and 六乙 (suspended) retained, 六丙 dropped out; 六丁 left the county: out of both.
    assert added("primary-retention") == (2, 3)
    primary = figures["primary-retention"]
    assert primary["target"] == 0.95 and primary["met"] is False
    assert "六丙" in [n["name"] for n in primary["missing"]["nodes"]]
    assert "六丁" not in [n["name"] for n in primary["counted"]["nodes"] + primary["missing"]["nodes"]]
    assert added("junior-retention") == (0, 0)
    assert view["county"][0]["numerator"] == figures["enrolment"]["numerator"]  # the county of the townships asked
    assert p1.id  # on the roll

    township_liaison = await sign_in("dafeng")
    with clock.as_of(clock.parse_moment("2026-10-20")):
        theirs = data_of(await gql(client, TARGETS, {"town": global_id("Unit", town.id)}, township_liaison))
    assert theirs["targets"]["townships"] == []  # another township's figures are not theirs
