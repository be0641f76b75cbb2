"""Reports the product writes (普九月报, the quarterly 通报, the supervision evaluation) as the API shows them."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON

from api.context import Info
from api.ids import global_id
from api.types.node import Node
from api.types.task import TaskType
from api.types.unit import UnitType
from api.types.user import UserType
from models import clock
from models.office import OfficeReport, ReportKind, ReportStatus
from tasks.queue.workflow import visible_task

ReportKindEnum = strawberry.enum(
    ReportKind, name="OfficeReportKind", description="MONTHLY 普九月报, QUARTERLY 通报, EVALUATION 督导评估."
)
ReportStatusEnum = strawberry.enum(ReportStatus, name="OfficeReportStatus")


@strawberry.type(
    name="OfficeReport",
    description="A report compiled by the worker for a calendar task; filing it completes the task.",
)
class OfficeReportType(Node):
    kind: ReportKindEnum  # type: ignore[valid-type]
    title: str
    period: str = strawberry.field(description="2026-09, 2026-Q3 or 2026-2027.")
    period_start: dt.date
    period_end: dt.date
    status: ReportStatusEnum  # type: ignore[valid-type]
    content: JSON = strawberry.field(description="The figures and lines, as compiled (also in the downloads).")
    scores: JSON = strawberry.field(description="Evaluation: the supervision office's score per criterion code.")
    remarks: str
    generated_at: dt.datetime
    filed_at: dt.datetime | None
    xlsx_url: str = strawberry.field(description="GET with your bearer token: the report as a spreadsheet.")
    docx_url: str = strawberry.field(description="GET with your bearer token: the report as a document.")
    _row: strawberry.Private[OfficeReport]

    @classmethod
    def from_row(cls, row: OfficeReport) -> OfficeReportType:
        pk = global_id("OfficeReport", row.id)
        return cls(
            id=pk,
            kind=row.kind,
            title=row.title,
            period=row.period,
            period_start=row.period_start,
            period_end=row.period_end,
            status=row.status,
            content=row.content,
            scores=row.scores,
            remarks=row.remarks,
            generated_at=clock.local(row.generated_at),
            filed_at=clock.local(row.filed_at) if row.filed_at else None,
            xlsx_url=f"/exports/office-reports/{pk}.xlsx",
            docx_url=f"/exports/office-reports/{pk}.docx",
            _row=row,
        )

    @strawberry.field(description="The unit that files it: the school, the education bureau, the supervision office.")
    async def unit(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.unit_id))

    @strawberry.field(description="Evaluation: the township evaluated.")
    async def subject(self, info: Info) -> UnitType | None:
        if self._row.subject_id is None:
            return None
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.subject_id))

    @strawberry.field(description="The calendar task the report answers; done when the report is filed.")
    async def task(self, info: Info) -> TaskType | None:
        if self._row.task_id is None or info.context.viewer is None:
            return None
        row = await visible_task(info.context.viewer, self._row.task_id)
        return TaskType.from_row(row) if row else None

    @strawberry.field(description="Who filed it.")
    async def filed_by(self, info: Info) -> UserType | None:
        if self._row.filed_by_id is None:
            return None
        row = await info.context.loaders.user.load(self._row.filed_by_id)
        return UserType.from_row(row) if row else None
