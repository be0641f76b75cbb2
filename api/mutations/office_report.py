"""officeReportFile: send a compiled report (and, for the evaluation, the supervision office's scores)."""

from __future__ import annotations

import strawberry

from api.context import Info, require_viewer
from api.errors import UserError, user_error
from api.mutations.common import pk_of
from api.types.office_report import OfficeReportType
from tasks.errors import DomainError, ErrorCode
from tasks.office.reports.generate import file_report


@strawberry.input(description="The supervision office's score for one criterion of the evaluation.")
class CriterionScoreInput:
    criterion: str = strawberry.field(description="The criterion's code in the policy file.")
    score: float


@strawberry.input
class OfficeReportFileInput:
    remarks: str = strawberry.field(default="", description="Remarks (the supervision office's opinion).")
    scores: list[CriterionScoreInput] = strawberry.field(
        default_factory=list, description="Evaluation only: a score for every criterion."
    )


@strawberry.type
class OfficeReportFilePayload:
    report: OfficeReportType | None
    user_errors: list[UserError]


@strawberry.type
class OfficeReportMutations:
    @strawberry.mutation(description="File a compiled report: it is sent, and its calendar task is completed.")
    async def office_report_file(
        self, info: Info, id: strawberry.ID, input: OfficeReportFileInput | None = None
    ) -> OfficeReportFilePayload:
        viewer = require_viewer(info)
        given = input or OfficeReportFileInput()
        try:
            scores: dict[str, float] = {}
            for item in given.scores:
                if item.criterion in scores:
                    raise DomainError(
                        ErrorCode.DUPLICATE,
                        f"{item.criterion} 评分重复 (scored twice)",
                        "scores",
                    )
                scores[item.criterion] = item.score
            report = await file_report(viewer, pk_of(id, "OfficeReport", "id"), given.remarks, scores)
        except DomainError as error:
            return OfficeReportFilePayload(report=None, user_errors=[user_error(error)])
        return OfficeReportFilePayload(report=OfficeReportType.from_row(report), user_errors=[])
