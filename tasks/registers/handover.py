"""The graduate handover of 四(二)5: a primary school's graduates go on a roster to the designated middle
school, which signs for it (签字交接) and registers each graduate as they report (升学).

In the first week of term (the policy's `roll.grade7_report_school_days` school days from the middle
school's term start) the primary school remains responsible for a graduate who has not reported; after it
the middle school. A graduate still not registered then opens a GRADE7_NOT_REPORTED case at the middle
school by itself (a daily sweep; running it twice opens nothing twice).
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from models import clock
from models.cases import Case, CaseKind, CaseStatus
from models.children import Student
from models.registers import GraduateHandover, HandoverLine, MovementKind, RollStatus
from models.units import SchoolLevel, Unit, UnitKind
from models.users import User
from tasks.access import sees, steers
from tasks.errors import DomainError, ErrorCode, required_text
from tasks.ladder.cases import close_returned, open_case_by_rule
from tasks.registers.movements import ROLL_MANAGERS, placed_at, roll_conflict, roll_settings, write_movement
from tasks.school_days import SchoolDayCache, SchoolDays, school_days

log = logging.getLogger("kongchuo.registers")
SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
PRIMARY_LEVELS = {SchoolLevel.PRIMARY}


def _manager(user: User, school_id: int) -> bool:
    return steers(user) or (user.unit_id == school_id and user.role in ROLL_MANAGERS)


async def _term_start(middle_school_id: int, school_year: str) -> date | None:
    cache = SchoolDayCache()
    await cache.preload([school_year], school_ids=[middle_school_id])
    first = date(int(school_year[:4]), 8, 1)
    days = cache.for_school(middle_school_id, first, first + timedelta(days=300))
    return min((t.start for t in days.terms), default=None)


async def prepare_handover(
    user: User, primary_school_id: int, school_year: str, term_start: date | None = None
) -> GraduateHandover:
    """Put the school's graduates not yet on a roster of that year on its roster to the designated middle
    school (made on first call; a later call adds graduates recorded since)."""
    school = await Unit.get_or_none(id=primary_school_id)
    if school is None or school.kind is not UnitKind.SCHOOL:
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这所学校 (school not found)", "schoolId")
    if not _manager(user, school.id):
        raise DomainError(ErrorCode.FORBIDDEN, "只有本校教务处、分管领导或校长可以办理交接 (school office)", "schoolId")
    if school.school_level not in PRIMARY_LEVELS or school.designated_middle_school_id is None:
        raise DomainError(ErrorCode.INVALID, "这所学校没有对口初中 (no designated middle school)", "schoolId")
    match = SCHOOL_YEAR.match(school_year.strip())
    if match is None or int(match.group(2)) != int(match.group(1)) + 1:
        raise DomainError(ErrorCode.INVALID, "学年写作2026-2027 (school year like 2026-2027)", "schoolYear")
    year = school_year.strip()
    middle_id = school.designated_middle_school_id
    start = term_start or await _term_start(middle_id, year)
    if start is None:
        raise DomainError(ErrorCode.REQUIRED, "该学年没有校历，请填写开学日期 (term start)", "termStart")
    on_rosters = Subquery(
        HandoverLine.filter(handover_id__in=Subquery(GraduateHandover.filter(school_year=year).values("id"))).values(
            "student_id"
        )
    )
    graduates = await Student.filter(school_id=school.id, roll_status=RollStatus.GRADUATED.value).exclude(
        id__in=on_rosters
    )
    async with in_transaction():
        handover, made = await GraduateHandover.get_or_create(
            primary_school_id=school.id,
            middle_school_id=middle_id,
            school_year=year,
            defaults={"term_start": start, "created_by": user, "created_at": clock.now()},
        )
        if not made and term_start is not None and handover.acknowledged_at is None:
            await GraduateHandover.filter(id=handover.id).update(term_start=term_start)
        if graduates:
            await HandoverLine.bulk_create([HandoverLine(handover_id=handover.id, student_id=s.id) for s in graduates])
    return await GraduateHandover.get(id=handover.id)


async def _handover_for(user: User, handover_id: int) -> GraduateHandover:
    handover = await GraduateHandover.get_or_none(id=handover_id)
    if handover is None or not await sees(user, GraduateHandover, handover.id):
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这份交接名册 (roster not found)", "id")
    if not _manager(user, handover.middle_school_id):
        raise DomainError(
            ErrorCode.WRONG_SCHOOL, "只有接收的初中可以签收和登记 (only the receiving middle school)", "id"
        )
    return handover


async def acknowledge_handover(user: User, handover_id: int, signed_by_name: str) -> GraduateHandover:
    """签字交接: the middle school signs for the roster."""
    handover = await _handover_for(user, handover_id)
    name = required_text(signed_by_name, "signedByName", 100)
    updated = await GraduateHandover.filter(id=handover.id, acknowledged_at=None).update(
        acknowledged_at=clock.now(), acknowledged_by_id=user.id, signed_by_name=name
    )
    if not updated:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "名册已签收 (already acknowledged)", "id")
    return await GraduateHandover.get(id=handover.id)


async def register_graduate(user: User, line_id: int, day: date | None, evidence: str = "") -> HandoverLine:
    """The graduate reported at the middle school: 升学 onto its roll, grade 7; an open case closes."""
    line = await HandoverLine.get_or_none(id=line_id)
    if line is None:
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这名毕业生 (not on a roster)", "id")
    handover = await _handover_for(user, line.handover_id)
    if line.registered_on is not None:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "已登记报到 (already registered)", "id")
    day = day or clock.today()
    if day > clock.today():
        raise DomainError(ErrorCode.INVALID, "日期不能晚于今天 (the day is in the future)", "day")
    student = await Student.get(id=line.student_id)
    status = RollStatus(student.roll_status)
    if status is not RollStatus.GRADUATED:
        raise roll_conflict(status, MovementKind.PROMOTE)
    proof = evidence.strip() or "按交接名册到校报到"
    async with in_transaction():
        updated = await HandoverLine.filter(id=line.id, registered_on=None).update(registered_on=day)
        if not updated:
            raise DomainError(ErrorCode.STALE_VERSION, "已被他人登记 (registered meanwhile)", "id")
        values = {"school_id": handover.middle_school_id, "other_school_id": handover.primary_school_id, "grade": 7}
        await write_movement(
            user, student, MovementKind.PROMOTE, day, proof, "", status, values, placed_at(handover.middle_school_id, 7)
        )
        if line.case_id is not None:
            case = await Case.get(id=line.case_id)
            if case.status is CaseStatus.OPEN:
                await close_returned(case, user, day, f"已到对口初中报到：{proof}")
    return await HandoverLine.get(id=line.id)


def last_primary_day(days: SchoolDays, handover: GraduateHandover, limit: int) -> date | None:
    """The last school day the primary school answers for a graduate who has not reported."""
    return days.nth(handover.term_start, limit)


async def responsible_school_id(handover: GraduateHandover, day: date) -> int:
    limit = (await roll_settings())["grade7_report_school_days"]
    days = await school_days(handover.middle_school_id, handover.term_start, handover.term_start + timedelta(days=90))
    last = last_primary_day(days, handover, limit)
    return handover.primary_school_id if last is None or day <= last else handover.middle_school_id


async def handover_sweep(today: date) -> int:
    """Open GRADE7_NOT_REPORTED for every graduate not registered after the first week; returns how many."""
    limit = (await roll_settings())["grade7_report_school_days"]
    opened = 0
    for handover in await GraduateHandover.filter(term_start__lt=today).order_by("id"):
        days = await school_days(handover.middle_school_id, handover.term_start, today)
        last = last_primary_day(days, handover, limit)
        if last is None or last >= today:
            continue
        since = days.nth(last + timedelta(days=1), 1, horizon_days=max(1, (today - last).days)) or today
        lines = await HandoverLine.filter(handover_id=handover.id, registered_on=None, case_id=None).order_by("id")
        middle = await Unit.get(id=handover.middle_school_id)
        for line in lines:
            student = await Student.get(id=line.student_id)
            if student.roll_status != RollStatus.GRADUATED.value:
                continue  # left, transferred or enrolled elsewhere since
            async with in_transaction():
                case, _ = await open_case_by_rule(
                    student,
                    CaseKind.GRADE7_NOT_REPORTED,
                    since,
                    f"小学毕业生未在开学{limit}个上课日内到{middle.name}报到，自动立案",
                    school_id=handover.middle_school_id,
                )
                updated = await HandoverLine.filter(id=line.id, case_id=None).update(case_id=case.id)
            opened += updated
    if opened:
        log.info("handover sweep as of %s: %d GRADE7_NOT_REPORTED case(s) opened", today, opened)
    return opened
