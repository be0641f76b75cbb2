"""The dropout ledger (辍学学生工作台账, 四(二)7): a case marked 确认辍学 or 联系不上 with evidence, and its
later 劝返复学. The ledger of a school or township is the cases with such marks that the viewer may see
(tasks/access.py's case filter), listed over GraphQL and downloadable as a spreadsheet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from tortoise.expressions import Q, Subquery
from tortoise.transactions import in_transaction

from models import clock
from models.cases import Case, CaseKind, CaseStatus
from models.children import Student
from models.paging import Page, SortKey, keyset_page
from models.registers import LedgerEntry, LedgerMark
from models.units import Unit, UnitKind
from models.users import User, UserRole
from tasks.access import case_visible, steers, visible_cases
from tasks.errors import DomainError, ErrorCode, required_text
from tasks.ladder.cases import close_returned

LEDGER_KEYS = (SortKey("id"),)
LEDGER_MARKERS = {UserRole.SCHOOL_OFFICE, UserRole.SCHOOL_LEADER, UserRole.PRINCIPAL}
MARK_WORDS = {
    LedgerMark.CONFIRMED_DROPOUT: "确认辍学",
    LedgerMark.UNREACHABLE: "联系不上",
    LedgerMark.PERSUADED_BACK: "劝返复学",
}
KIND_WORDS = {
    CaseKind.NOT_ENROLLED_GRADE1: "适龄未入一年级",
    CaseKind.GRADE7_NOT_REPORTED: "七年级未报到",
    CaseKind.ABSENT_WITHOUT_REASON: "无故不到校",
    CaseKind.HIGH_SCHOOL_DROPOUT: "普高中途退学",
}


async def mark_case(user: User, case_id: int, mark: LedgerMark, day: date | None, evidence: str) -> LedgerEntry:
    """A ledger line on the case. 劝返复学 only after 确认辍学 or 联系不上, and it closes the case (销号)."""
    case = await Case.get_or_none(id=case_id)
    if case is None or not await case_visible(user, case):
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这个个案 (case not found)", "id")
    if not (steers(user) or (user.unit_id == case.school_id and user.role in LEDGER_MARKERS)):
        raise DomainError(
            ErrorCode.FORBIDDEN, "只有个案所在学校的教务处、分管领导或校长可以登记台账 (school office)", "id"
        )
    day = day or clock.today()
    if day > clock.today():
        raise DomainError(ErrorCode.INVALID, "日期不能晚于今天 (the day is in the future)", "day")
    proof = required_text(evidence, "evidence")
    last = await LedgerEntry.filter(case_id=case.id).order_by("-id").first()
    if last is not None and day < last.day:
        raise DomainError(ErrorCode.INVALID, f"日期早于台账上一条（{last.day}）(before the last line)", "day")
    if mark is LedgerMark.PERSUADED_BACK:
        if last is None or last.mark is LedgerMark.PERSUADED_BACK:
            raise DomainError(
                ErrorCode.INVALID_TRANSITION,
                "先登记确认辍学或联系不上，才能登记劝返复学 (mark the dropout first)",
                "mark",
            )
    elif last is not None and last.mark is mark:
        raise DomainError(ErrorCode.DUPLICATE, f"台账已登记“{MARK_WORDS[mark]}” (already marked)", "mark")
    async with in_transaction():
        entry = await LedgerEntry.create(
            case_id=case.id,
            mark=mark,
            day=day,
            evidence=proof,
            recorded_by=user,
            recorded_by_name=user.name,
            recorded_at=clock.now(),
        )
        if mark is LedgerMark.PERSUADED_BACK and case.status is CaseStatus.OPEN:
            await close_returned(case, user, day, f"劝返复学：{proof}")
    return entry


async def ledger_unit(user: User, unit_id: int) -> Unit:
    unit = await Unit.get_or_none(id=unit_id)
    if unit is None or unit.kind not in (UnitKind.SCHOOL, UnitKind.TOWNSHIP):
        raise DomainError(ErrorCode.NOT_FOUND, "台账按学校或乡镇查看 (a school or township)", "unitId")
    return unit


def ledger_filter(user: User, unit: Unit) -> Q:
    """Cases of the unit with a ledger line, that the viewer may see."""
    of_unit = Q(school_id=unit.id) if unit.kind is UnitKind.SCHOOL else Q(township_id=unit.id)
    marked = Q(id__in=Subquery(LedgerEntry.all().values("case_id")))
    return of_unit & marked & visible_cases(user)


async def ledger_page(user: User, unit: Unit, first: int, after: str | None) -> Page[Case]:
    return await keyset_page([Case.filter(ledger_filter(user, unit))], LEDGER_KEYS, first, after)


async def entries_of(case_ids: Sequence[int]) -> dict[int, list[LedgerEntry]]:
    found: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in await LedgerEntry.filter(case_id__in=list(case_ids)).order_by("id"):
        found[entry.case_id].append(entry)
    return found


@dataclass(frozen=True)
class LedgerRow:
    """One line of the spreadsheet: a case and its marks."""

    student: Student
    case: Case
    school: str
    township: str
    entries: list[LedgerEntry]

    @property
    def current(self) -> LedgerMark:
        return self.entries[-1].mark


async def ledger_rows(user: User, unit: Unit) -> list[LedgerRow]:
    cases = await Case.filter(ledger_filter(user, unit)).order_by("id")
    students = {s.id: s for s in await Student.filter(id__in=[c.student_id for c in cases])}
    names = dict(
        await Unit.filter(id__in={c.school_id for c in cases} | {c.township_id for c in cases}).values_list(
            "id", "name"
        )
    )
    entries = await entries_of([c.id for c in cases])
    return [
        LedgerRow(students[c.student_id], c, names.get(c.school_id, ""), names.get(c.township_id, ""), entries[c.id])
        for c in cases
    ]
