"""Imports as the API shows them: a run's progress, its DHIS2-style summary, and each bad row."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON

from api.context import Info
from api.ids import global_id
from api.types.connection import Connection, page_size, paged
from api.types.node import Node
from api.types.unit import UnitType
from models import clock
from models.imports import ImportChange, ImportConflict, ImportKind, ImportRun, ImportStatus
from models.paging import SortKey, keyset_page
from tasks.registers.imports.run import progress_of

ImportKindEnum = strawberry.enum(
    ImportKind, name="ImportKind", description="POPULATION: 公安局人口数据; ROLL: 学籍; CENSUS: 学户册普查表"
)
ImportStatusEnum = strawberry.enum(ImportStatus, name="ImportStatus")
CONFLICT_ORDER = (SortKey("line"), SortKey("id"))
CHANGE_ORDER = (SortKey("id"),)


@strawberry.type(description="What a newer file changed about someone already known: the values before and after.")
class ImportChangeType:
    line: int
    subject: str = strawberry.field(description="student (residents keep their versions in the register).")
    changes: JSON = strawberry.field(description="{field: [before, after]}")

    @classmethod
    def from_row(cls, row: ImportChange) -> ImportChangeType:
        return cls(line=row.line, subject=row.subject, changes=row.changes)


@strawberry.type(description="One bad row: where it is (line, column), what it holds, and why it was not taken.")
class ImportConflictType:
    line: int = strawberry.field(description="As a spreadsheet numbers it: 1 is the header line.")
    column: str = strawberry.field(description="The column's header as the file writes it.")
    value: str = strawberry.field(description="The cell as read (citizen IDs masked).")
    code: str = strawberry.field(
        description="REQUIRED, BAD_CHECK_DIGIT, ID_AS_NUMBER, ID_LOST_X, ID_FLOAT_SUFFIX, BAD_ID, BAD_BIRTH_DATE, "
        "UNKNOWN_SCHOOL, UNKNOWN_TOWNSHIP, UNKNOWN_VILLAGE, VILLAGE_NOT_IN_TOWNSHIP, DUPLICATE_IN_FILE, DUPLICATE, "
        "NOT_YOURS, BAD_DATE, BAD_GENDER, BAD_GRADE, BAD_PHONE, TOO_LONG, INVALID ..."
    )
    message: str

    @classmethod
    def from_row(cls, row: ImportConflict) -> ImportConflictType:
        return cls(line=row.line, column=row.column, value=row.value, code=row.code, message=row.message)


@strawberry.type(name="ImportRun", description="An uploaded file and what the worker made of it.")
class ImportRunType(Node):
    kind: ImportKindEnum  # type: ignore[valid-type]
    file_name: str
    sha256: str
    size_bytes: float
    status: ImportStatusEnum  # type: ignore[valid-type]
    as_of: dt.date | None = strawberry.field(description="The day the file speaks for, if the uploader said.")
    dry_run: bool = strawberry.field(description="Reported only; nothing written.")
    atomic: bool = strawberry.field(description="All or nothing: one bad row and nothing is written.")
    uploaded_by_name: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    rows_total: int | None = strawberry.field(description="Data rows in the file, once it is opened.")
    rows_done: int
    progress: float = strawberry.field(description="0 to 1; 1 when finished.")
    imported: int = strawberry.field(description="New people written (or that would be, in a dry run).")
    updated: int = strawberry.field(description="People changed; their earlier values are kept.")
    unchanged: int
    ignored: int = strawberry.field(description="Rows not taken.")
    conflict_count: int
    error_code: str = strawberry.field(description="Why the whole file was refused or failed; empty otherwise.")
    error: str
    summary: JSON = strawberry.field(
        description="DHIS2-style: status, importCount {imported updated ignored deleted}, conflicts (first 100)."
    )
    _row: strawberry.Private[ImportRun]

    @classmethod
    def from_row(cls, row: ImportRun) -> ImportRunType:
        local = lambda moment: clock.local(moment) if moment else None  # noqa: E731
        return cls(
            id=global_id("ImportRun", row.id),
            kind=row.kind,
            file_name=row.file_name,
            sha256=row.sha256,
            size_bytes=float(row.size_bytes),
            status=row.status,
            as_of=row.as_of,
            dry_run=row.dry_run,
            atomic=row.atomic,
            uploaded_by_name=row.uploaded_by_name,
            created_at=clock.local(row.created_at),
            started_at=local(row.started_at),
            finished_at=local(row.finished_at),
            rows_total=row.rows_total,
            rows_done=row.rows_done,
            progress=progress_of(row),
            imported=row.imported,
            updated=row.updated,
            unchanged=row.unchanged,
            ignored=row.ignored,
            conflict_count=row.conflict_count,
            error_code=row.error_code,
            error=row.error,
            summary=row.summary,
            _row=row,
        )

    @strawberry.field(description="The unit whose data it is.")
    async def unit(self, info: Info) -> UnitType | None:
        if self._row.unit_id is None:
            return None
        row = await info.context.loaders.unit.load(self._row.unit_id)
        return UnitType.from_row(row) if row else None

    @strawberry.field(description="The earlier values of the pupils this file updated, by line.")
    async def changes(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ImportChangeType]:
        size = page_size(first)
        query = ImportChange.filter(run_id=self._row.id)
        return await paged(lambda: keyset_page([query], CHANGE_ORDER, size, after), ImportChangeType.from_row)

    @strawberry.field(description="Each bad row, by line (the first 10,000 are kept).")
    async def conflicts(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ImportConflictType]:
        size = page_size(first)
        query = ImportConflict.filter(run_id=self._row.id)
        return await paged(lambda: keyset_page([query], CONFLICT_ORDER, size, after), ImportConflictType.from_row)
