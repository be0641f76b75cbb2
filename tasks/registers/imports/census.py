"""A school's census sheets (学户册 lines, 四(二)4): one line per person of 0-18, per household, per
village group or compound, into the household book of the year (tasks/registers/population.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.population import CensusLineStatus
from models.units import UnitKind
from tasks.registers.imports import checks
from tasks.registers.imports.base import (
    Conflict,
    FileRefused,
    Outcome,
    RowChecker,
    RunContext,
    Values,
    without_writing,
)
from tasks.registers.imports.checks import RowCode
from tasks.registers.imports.population import group_kind, resident_cells
from tasks.registers.population import CensusRow, upsert_census_lines

STATUSES = {
    CensusLineStatus.IN_SCHOOL: ("在校", "在读", "在校就读", "就读", "在校生"),
    CensusLineStatus.PRESCHOOL: ("在园", "学前", "幼儿园", "在园幼儿"),
    CensusLineStatus.NOT_ENROLLED: ("未入学", "辍学", "失学", "未就读"),
    CensusLineStatus.OUT_OF_COUNTY: ("县外就读", "外地就读", "县外"),
    CensusLineStatus.DEFERRED: ("缓学", "免学", "缓学免学", "因病缓学"),
    CensusLineStatus.HOME_TEACHING: ("送教上门",),
    CensusLineStatus.UNDER_AGE: ("未到入学年龄", "未到龄", "适龄前"),
}
STATUS_WORDS = {word: status for status, words in STATUSES.items() for word in words}


@dataclass
class CensusRecord:
    line: int
    citizen_id: str
    row: CensusRow


class CensusImporter:
    def __init__(self, context: RunContext) -> None:
        if context.unit is None or context.unit.kind is not UnitKind.SCHOOL:
            raise FileRefused(RowCode.NOT_YOURS, "普查表须以学校名义导入 (census sheets are imported for a school)")
        self.context = context
        self.school = context.unit

    def parse(self, line: int, value: Values) -> tuple[CensusRecord | None, Sequence[Conflict]]:
        check = RowChecker(line)
        cells = resident_cells(check, value, self.context)
        attending = checks.text(value("school"))
        attending_id = None
        if attending:
            found = self.context.directory.find(UnitKind.SCHOOL, attending)
            attending_id = found[0].id if len(found) == 1 else None
        status_text = checks.text(value("status"))
        status = STATUS_WORDS.get(status_text, CensusLineStatus.OTHER)
        if cells is None or check.conflicts:
            return None, check.conflicts
        township, village = cells["place"]  # type: ignore[misc]
        if village is None:
            message = "村（社区）不能为空 (village required)"
            return None, [Conflict(line, "village", "", RowCode.REQUIRED, message)]
        group = str(cells["group"])
        if not group:
            return None, [Conflict(line, "group", "", RowCode.REQUIRED, "村民小组/小区不能为空 (required)")]
        household = str(cells["household_number"]) or f"户主:{cells['household_head']}"
        row = CensusRow(
            year=(self.context.as_of or self.context.today).year,
            school_id=self.school.id,
            village_id=village.id,
            village_group=group,
            household_number=household[:40],
            citizen_id=cells["citizen_id"],  # type: ignore[arg-type]
            name=cells["name"],  # type: ignore[arg-type]
            gender=cells["gender"],  # type: ignore[arg-type]
            birth_date=cells["born"],  # type: ignore[arg-type]
            township_id=township.id,
            village_group_kind=group_kind(group),
            head_name=cells["household_head"],  # type: ignore[arg-type]
            address=cells["home_address"] or cells["registration_address"],  # type: ignore[arg-type]
            relation=cells["relation_to_head"],  # type: ignore[arg-type]
            status=status,
            attending_school_id=attending_id,
            school_text=attending[:200],
            grade_text=checks.text(value("grade"))[:32],
            guardian_name=cells["guardian"],  # type: ignore[arg-type]
            guardian_phone=cells["phone"],  # type: ignore[arg-type]
            remark=cells["remark"],  # type: ignore[arg-type]
        )
        return CensusRecord(line, row.citizen_id, row), []

    async def apply(self, records: Sequence[object], *, write: bool) -> Outcome:
        rows = [r.row for r in records]  # type: ignore[attr-defined]
        source = f"census:{self.school.code}"

        async def work():  # type: ignore[no-untyped-def]
            return await upsert_census_lines(rows, source, self.context.as_of or self.context.today)

        summary = await work() if write else await without_writing(work)
        return Outcome(imported=summary.imported, updated=summary.updated, unchanged=summary.unchanged)
