"""The household book (学户册: book → pages → lines) and the cross-check (runs and findings).

Citizen IDs and phones are always masked here, as everywhere (studentReveal shows a pupil's whole).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from api.context import Info, require_viewer
from api.ids import global_id
from api.types.connection import Connection, page_size, paged
from api.types.nested_lists import CENSUS_PAGE_LINES, RESIDENT_HISTORY, nested_page, replaced_by
from api.types.node import Node
from api.types.student import GenderEnum
from api.types.unit import UnitType
from models import clock
from models.citizen_id import mask, mask_phone
from models.paging import SortKey, keyset_page
from models.population import (
    AgeBand,
    CensusBook,
    CensusLine,
    CensusLineStatus,
    CensusPage,
    CrossCheckFinding,
    CrossCheckRun,
    CrossCheckRunStatus,
    FindingKind,
    FindingStatus,
    Resident,
    ResidentVersion,
    VillageGroup,
    VillageGroupKind,
)
from tasks.access import case_visible

if TYPE_CHECKING:
    from api.types.case import CaseType

CensusLineStatusEnum = strawberry.enum(CensusLineStatus, name="CensusLineStatus")
VillageGroupKindEnum = strawberry.enum(VillageGroupKind, name="VillageGroupKind")
FindingKindEnum = strawberry.enum(FindingKind, name="CrossCheckFindingKind")
FindingStatusEnum = strawberry.enum(FindingStatus, name="CrossCheckFindingStatus")
AgeBandEnum = strawberry.enum(AgeBand, name="AgeBand")
RunStatusEnum = strawberry.enum(CrossCheckRunStatus, name="CrossCheckRunStatus")
PAGE_ORDER = (SortKey("position"), SortKey("id"))


async def _unit(info: Info, pk: int | None) -> UnitType | None:
    row = await info.context.loaders.unit.load(pk) if pk else None
    return UnitType.from_row(row) if row else None


@strawberry.type(name="VillageGroup", description="村民小组 or 小区: the unit of one household book.")
class VillageGroupType:
    name: str
    kind: VillageGroupKindEnum  # type: ignore[valid-type]
    _row: strawberry.Private[VillageGroup]

    @strawberry.field(description="The village or community it belongs to.")
    async def village(self, info: Info) -> UnitType | None:
        return await _unit(info, self._row.village_id)

    @strawberry.field(description="The school whose catchment covers it (it makes the August census).")
    async def school(self, info: Info) -> UnitType | None:
        return await _unit(info, self._row.school_id)


@strawberry.type(name="HouseholdLine", description="One line per person aged 0-18.")
class HouseholdLineType:
    position: int
    citizen_id: str = strawberry.field(description="Masked: region and last four.")
    name: str
    gender: GenderEnum  # type: ignore[valid-type]
    birth_date: dt.date
    relation: str = strawberry.field(description="与户主关系")
    status: CensusLineStatusEnum  # type: ignore[valid-type]
    school_text: str = strawberry.field(description="就读学校 as written")
    grade_text: str
    guardian_name: str
    guardian_phone: str = strawberry.field(description="Masked.")
    remark: str
    _row: strawberry.Private[CensusLine]

    @classmethod
    def from_row(cls, row: CensusLine) -> HouseholdLineType:
        return cls(
            position=row.position,
            citizen_id=mask(row.citizen_id),
            name=row.name,
            gender=row.gender,
            birth_date=row.birth_date,
            relation=row.relation,
            status=row.status,
            school_text=row.school_text,
            grade_text=row.grade_text,
            guardian_name=row.guardian_name,
            guardian_phone=mask_phone(row.guardian_phone) if row.guardian_phone else "",
            remark=row.remark,
            _row=row,
        )

    @strawberry.field(description="The county school the child attends, as the census has it.")
    async def school(self, info: Info) -> UnitType | None:
        return await _unit(info, self._row.school_id)


@strawberry.type(name="HouseholdPage", description="One page per household.")
class HouseholdPageType:
    household_number: str = strawberry.field(description="户号")
    head_name: str = strawberry.field(description="户主")
    address: str
    _row: strawberry.Private[CensusPage]

    @strawberry.field(
        description="The persons of the household, in the sheet's order.",
        deprecation_reason=replaced_by("linesConnection"),
    )
    async def lines(self, info: Info) -> list[HouseholdLineType]:
        return [HouseholdLineType.from_row(r) for r in await info.context.loaders.census_lines.load(self._row.id)]

    @strawberry.field(description="The persons of the household, in the sheet's order.")
    async def lines_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[HouseholdLineType]:
        viewer = require_viewer(info)
        return await nested_page(CENSUS_PAGE_LINES, viewer, self._row.id, first, after, HouseholdLineType.from_row)


@strawberry.type(name="HouseholdBook", description="学户册 (四(二)4): one book per village group or compound and year.")
class HouseholdBookType(Node):
    year: int
    _row: strawberry.Private[CensusBook]

    @classmethod
    def from_row(cls, row: CensusBook) -> HouseholdBookType:
        return cls(id=global_id("HouseholdBook", row.id), year=row.year, _row=row)

    @strawberry.field
    async def village_group(self, info: Info) -> VillageGroupType:
        group = await info.context.loaders.village_group.load(self._row.village_group_id)
        assert group is not None  # RESTRICT: a group with a book is never deleted
        return VillageGroupType(name=group.name, kind=group.kind, _row=group)

    @strawberry.field(description="The school that made the book.")
    async def school(self, info: Info) -> UnitType | None:
        return await _unit(info, self._row.school_id)

    @strawberry.field(description="How many persons the book lists.")
    async def line_count(self) -> int:
        return await CensusLine.filter(book_id=self._row.id).count()

    @strawberry.field(description="The book's pages, one per household, in order.")
    async def pages(self, first: int | None = None, after: str | None = None) -> Connection[HouseholdPageType]:
        size = page_size(first)
        query = CensusPage.filter(book_id=self._row.id)

        def wrap(row: object) -> HouseholdPageType:
            assert isinstance(row, CensusPage)
            return HouseholdPageType(
                household_number=row.household_number, head_name=row.head_name, address=row.address, _row=row
            )

        return await paged(lambda: keyset_page([query], PAGE_ORDER, size, after), wrap)

    @strawberry.field(description="Where to download the book as a spreadsheet (GET with your bearer token).")
    def download_path(self) -> str:
        return f"/exports/household-book/{self.id}.xlsx"


@strawberry.type(name="ResidentVersion", description="One version of a resident as a source gave it.")
class ResidentVersionType:
    version: int
    source: str
    as_of: dt.date
    changed: list[str] = strawberry.field(description="The fields this version changed (all of them for version 1).")
    recorded_at: dt.datetime

    @classmethod
    def from_row(cls, row: ResidentVersion) -> ResidentVersionType:
        return cls(
            version=row.version,
            source=row.source,
            as_of=row.as_of,
            changed=list(row.changed),
            recorded_at=clock.local(row.recorded_at),
        )


@strawberry.type(name="Resident", description="人口信息库: a resident aged 0-18 as the latest source has them.")
class ResidentType(Node):
    citizen_id: str = strawberry.field(description="Masked: region and last four.")
    name: str
    gender: GenderEnum  # type: ignore[valid-type]
    birth_date: dt.date
    registered_address: str = strawberry.field(description="户籍地址")
    actual_address: str = strawberry.field(description="现住址")
    living_here: bool = strawberry.field(description="False: lives outside the county.")
    source: str
    as_of: dt.date
    version: int
    _row: strawberry.Private[Resident]

    @classmethod
    def from_row(cls, row: Resident) -> ResidentType:
        return cls(
            id=global_id("Resident", row.id),
            citizen_id=mask(row.citizen_id),
            name=row.name,
            gender=row.gender,
            birth_date=row.birth_date,
            registered_address=row.registered_address,
            actual_address=row.actual_address,
            living_here=row.living_here,
            source=row.source,
            as_of=row.as_of,
            version=row.version,
            _row=row,
        )

    @strawberry.field(description="Township of registration.")
    async def township(self, info: Info) -> UnitType | None:
        return await _unit(info, self._row.township_id)

    @strawberry.field(description="Village or community of registration.")
    async def village(self, info: Info) -> UnitType | None:
        return await _unit(info, self._row.village_id)

    @strawberry.field(description="村民小组 or 小区.")
    async def village_group(self, info: Info) -> VillageGroupType | None:
        group = await info.context.loaders.village_group.load(self._row.village_group_id or 0)
        return VillageGroupType(name=group.name, kind=group.kind, _row=group) if group else None

    @strawberry.field(
        description="Every version the sources gave, oldest first (the register's history).",
        deprecation_reason=replaced_by("historyConnection"),
    )
    async def history(self) -> list[ResidentVersionType]:
        rows = await ResidentVersion.filter(resident_id=self._row.id).order_by("version")
        return [ResidentVersionType.from_row(r) for r in rows]

    @strawberry.field(description="Every version the sources gave, oldest first (the register's history).")
    async def history_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ResidentVersionType]:
        viewer = require_viewer(info)
        return await nested_page(RESIDENT_HISTORY, viewer, self._row.id, first, after, ResidentVersionType.from_row)


@strawberry.type(name="CrossCheckRun", description="One run of 学籍系统和人口信息库比对核查 (四(一)3).")
class CrossCheckRunType(Node):
    as_of: dt.date
    status: RunStatusEnum  # type: ignore[valid-type]
    started_at: dt.datetime
    finished_at: dt.datetime | None
    summary: JSON = strawberry.field(
        description="Per kind: found, opened, closed; casesOpened, casesClosed, tasksCreated, studentsRecorded."
    )
    error: str | None

    @classmethod
    def from_row(cls, row: CrossCheckRun) -> CrossCheckRunType:
        summary = {_camel(k): v for k, v in (row.summary or {}).items()}
        return cls(
            id=global_id("CrossCheckRun", row.id),
            as_of=row.as_of,
            status=row.status,
            started_at=clock.local(row.started_at),
            finished_at=clock.local(row.finished_at) if row.finished_at else None,
            summary=summary,
            error=row.error,
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@strawberry.type(name="CrossCheckFinding", description="What a cross-check found, with its evidence; closed when gone.")
class CrossCheckFindingType(Node):
    kind: FindingKindEnum  # type: ignore[valid-type]
    band: AgeBandEnum | None  # type: ignore[valid-type]
    status: FindingStatusEnum  # type: ignore[valid-type]
    citizen_id: str = strawberry.field(description="Masked: region and last four.")
    name: str
    evidence: JSON
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    close_reason: str | None
    close_evidence: str | None
    _row: strawberry.Private[CrossCheckFinding]

    @classmethod
    def from_row(cls, row: CrossCheckFinding) -> CrossCheckFindingType:
        return cls(
            id=global_id("CrossCheckFinding", row.id),
            kind=row.kind,
            band=row.band,
            status=row.status,
            citizen_id=mask(row.citizen_id),
            name=row.name,
            evidence=row.evidence,
            opened_at=clock.local(row.opened_at),
            closed_at=clock.local(row.closed_at) if row.closed_at else None,
            close_reason=row.close_reason,
            close_evidence=row.close_evidence,
            _row=row,
        )

    @strawberry.field(description="Township of registration (or where the child lives).")
    async def township(self, info: Info) -> UnitType | None:
        return await _unit(info, self._row.township_id)

    @strawberry.field(description="The school of the roll, or the catchment school.")
    async def school(self, info: Info) -> UnitType | None:
        return await _unit(info, self._row.school_id)

    @strawberry.field(description="The unit asked to act on it.")
    async def acting_unit(self, info: Info) -> UnitType | None:
        return await _unit(info, self._row.unit_id)

    @strawberry.field(description="The case it opened or belongs to, if you may see it.")
    async def case(self, info: Info) -> Annotated[CaseType, strawberry.lazy("api.types.case")] | None:
        from api.types.case import CaseType

        if self._row.case_id is None:
            return None
        row = await info.context.loaders.case.load(self._row.case_id)
        return CaseType.from_row(row) if row and await case_visible(require_viewer(info), row) else None

    @strawberry.field(description="The run that found it.")
    async def run(self, info: Info) -> CrossCheckRunType:
        row = await info.context.loaders.crosscheck_run.load(self._row.run_id)
        assert row is not None  # RESTRICT: a run with findings is never deleted
        return CrossCheckRunType.from_row(row)
