"""Mutations on cases: absenceRecord, attendanceReturn, caseOpen, caseClose, caseReopen,
persuasionRecordAdd, dropoutReportFile, reportReceiptAcknowledge, reportResultRecord, caseFollowUpAssign."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from api.context import Info, require_viewer
from api.errors import UserError, user_error
from api.mutations.common import pk_of
from api.types.case import (
    CaseKindEnum,
    CaseType,
    DropoutReportType,
    PersuasionKindEnum,
    PersuasionRecordType,
    PersuasionResultEnum,
    ReportRoutingType,
)
from models.cases import Case
from models.users import User
from tasks.errors import DomainError
from tasks.ladder import cases
from tasks.machinery import dispatch


@strawberry.type
class CasePayload:
    case: CaseType | None
    user_errors: list[UserError]


@strawberry.type
class AbsenceRecordPayload(CasePayload):
    pass


@strawberry.type
class AttendanceReturnPayload(CasePayload):
    pass


@strawberry.type
class CaseOpenPayload(CasePayload):
    pass


@strawberry.type
class CaseClosePayload(CasePayload):
    pass


@strawberry.type
class CaseReopenPayload(CasePayload):
    pass


@strawberry.type
class CaseFollowUpAssignPayload(CasePayload):
    pass


@strawberry.type
class PersuasionRecordAddPayload:
    persuasion_record: PersuasionRecordType | None
    case: CaseType | None
    user_errors: list[UserError]


@strawberry.type
class DropoutReportFilePayload:
    report: DropoutReportType | None
    case: CaseType | None
    user_errors: list[UserError]


@strawberry.type
class ReportRoutingPayload:
    routing: ReportRoutingType | None
    user_errors: list[UserError]


@strawberry.type
class ReportReceiptAcknowledgePayload(ReportRoutingPayload):
    pass


@strawberry.type
class ReportResultRecordPayload(ReportRoutingPayload):
    pass


@strawberry.input
class AbsenceRecordInput:
    day: dt.date | None = strawberry.field(default=None, description="The school day missed; today if left out.")
    note: str = ""


@strawberry.input
class AttendanceReturnInput:
    day: dt.date | None = strawberry.field(default=None, description="The day the student was back; today if left out.")
    evidence: str = strawberry.field(description="What shows the student is back (销号依据).")


@strawberry.input
class CaseOpenInput:
    kind: CaseKindEnum  # type: ignore[valid-type]
    day: dt.date | None = None
    note: str = ""


@strawberry.input
class CaseCloseInput:
    reason: str
    evidence: str


@strawberry.input
class CaseReopenInput:
    reason: str
    day: dt.date | None = None


@strawberry.input
class CaseFollowUpAssignInput:
    name: str
    phone: str = ""


@strawberry.input
class PersuasionRecordAddInput:
    kind: PersuasionKindEnum  # type: ignore[valid-type]
    result: PersuasionResultEnum  # type: ignore[valid-type]
    persuaders: str = strawberry.field(description="劝学人员")
    process: str = strawberry.field(description="劝学过程")
    held_at: dt.datetime | None = None
    family_situation: str = ""
    parents_attitude: str = ""
    student_attitude: str = ""
    school_opinion: str = ""


@strawberry.input
class DropoutReportFileInput:
    situation: str = strawberry.field(description="基本情况")
    contact_person: str
    contact_phone: str
    absent_to: dt.date | None = None


@strawberry.input
class ReportReceiptAcknowledgeInput:
    receiver_name: str
    receiver_contact: str


@strawberry.input
class ReportResultRecordInput:
    result: str = strawberry.field(description="处理结果")


async def _case_change(
    info: Info, payload: type[CasePayload], act: Callable[[User], Awaitable[Case]], nudge: bool = True
) -> Any:
    viewer = require_viewer(info)
    try:
        case = await act(viewer)
    except DomainError as error:
        return payload(case=None, user_errors=[user_error(error)])
    if nudge:
        await dispatch.nudge()
    return payload(case=CaseType.from_row(case), user_errors=[])


@strawberry.type
class CaseMutations:
    @strawberry.mutation(description="An unexplained absence of a student (id): opens the case or joins the open one.")
    async def absence_record(
        self, info: Info, id: strawberry.ID, input: AbsenceRecordInput | None = None
    ) -> AbsenceRecordPayload:
        given = input or AbsenceRecordInput()
        return await _case_change(
            info,
            AbsenceRecordPayload,
            lambda u: cases.record_absence(u, pk_of(id, "Student", "id"), given.day, given.note),
        )

    @strawberry.mutation(description="The student of case (id) is back: ladder tasks cancelled, case closed (销号).")
    async def attendance_return(
        self, info: Info, id: strawberry.ID, input: AttendanceReturnInput
    ) -> AttendanceReturnPayload:
        return await _case_change(
            info,
            AttendanceReturnPayload,
            lambda u: cases.record_return(u, pk_of(id, "Case", "id"), input.day, input.evidence),
        )

    @strawberry.mutation(description="Open a case of any kind of 附件1 for a student (id) by hand.")
    async def case_open(self, info: Info, id: strawberry.ID, input: CaseOpenInput) -> CaseOpenPayload:
        return await _case_change(
            info,
            CaseOpenPayload,
            lambda u: cases.open_case(u, pk_of(id, "Student", "id"), input.kind, input.day, input.note),
        )

    @strawberry.mutation(description="Close a case without a return (e.g. confirmed transfer), with the evidence.")
    async def case_close(self, info: Info, id: strawberry.ID, input: CaseCloseInput) -> CaseClosePayload:
        return await _case_change(
            info, CaseClosePayload, lambda u: cases.close_case(u, pk_of(id, "Case", "id"), input.reason, input.evidence)
        )

    @strawberry.mutation(description="Reopen a closed case: the child is absent again; the ladder starts over.")
    async def case_reopen(self, info: Info, id: strawberry.ID, input: CaseReopenInput) -> CaseReopenPayload:
        return await _case_change(
            info, CaseReopenPayload, lambda u: cases.reopen_case(u, pk_of(id, "Case", "id"), input.day, input.reason)
        )

    @strawberry.mutation(description="Name the person who follows the case until the child is back (专人跟进).")
    async def case_follow_up_assign(
        self, info: Info, id: strawberry.ID, input: CaseFollowUpAssignInput
    ) -> CaseFollowUpAssignPayload:
        return await _case_change(
            info,
            CaseFollowUpAssignPayload,
            lambda u: cases.assign_follow_up(u, pk_of(id, "Case", "id"), input.name, input.phone),
            nudge=False,
        )

    @strawberry.mutation(description="Add a persuasion record (劝学记录表) to case (id).")
    async def persuasion_record_add(
        self, info: Info, id: strawberry.ID, input: PersuasionRecordAddInput
    ) -> PersuasionRecordAddPayload:
        viewer = require_viewer(info)
        try:
            record = await cases.add_persuasion_record(
                viewer,
                pk_of(id, "Case", "id"),
                cases.PersuasionData(
                    kind=input.kind,
                    result=input.result,
                    held_at=input.held_at,
                    persuaders=input.persuaders,
                    process=input.process,
                    family_situation=input.family_situation,
                    parents_attitude=input.parents_attitude,
                    student_attitude=input.student_attitude,
                    school_opinion=input.school_opinion,
                ),
            )
        except DomainError as error:
            return PersuasionRecordAddPayload(persuasion_record=None, case=None, user_errors=[user_error(error)])
        await dispatch.nudge()
        case = await Case.get(id=record.case_id)
        return PersuasionRecordAddPayload(
            persuasion_record=PersuasionRecordType.from_row(record), case=CaseType.from_row(case), user_errors=[]
        )

    @strawberry.mutation(description="File the suspected-dropout report (附件3) of case (id) to its three receivers.")
    async def dropout_report_file(
        self, info: Info, id: strawberry.ID, input: DropoutReportFileInput
    ) -> DropoutReportFilePayload:
        viewer = require_viewer(info)
        try:
            report = await cases.file_report(
                viewer,
                pk_of(id, "Case", "id"),
                cases.ReportData(
                    situation=input.situation,
                    contact_person=input.contact_person,
                    contact_phone=input.contact_phone,
                    absent_to=input.absent_to,
                ),
            )
        except DomainError as error:
            return DropoutReportFilePayload(report=None, case=None, user_errors=[user_error(error)])
        await dispatch.nudge()
        case = await Case.get(id=report.case_id)
        return DropoutReportFilePayload(
            report=DropoutReportType.from_row(report), case=CaseType.from_row(case), user_errors=[]
        )

    @strawberry.mutation(description="The receiving unit acknowledges its copy of the report (routing id).")
    async def report_receipt_acknowledge(
        self, info: Info, id: strawberry.ID, input: ReportReceiptAcknowledgeInput
    ) -> ReportReceiptAcknowledgePayload:
        viewer = require_viewer(info)
        try:
            routing = await cases.acknowledge_receipt(
                viewer, pk_of(id, "ReportRouting", "id"), input.receiver_name, input.receiver_contact
            )
        except DomainError as error:
            return ReportReceiptAcknowledgePayload(routing=None, user_errors=[user_error(error)])
        await dispatch.nudge()
        return ReportReceiptAcknowledgePayload(routing=ReportRoutingType.from_row(routing), user_errors=[])

    @strawberry.mutation(description="The receiving unit records what it did about the report (处理结果).")
    async def report_result_record(
        self, info: Info, id: strawberry.ID, input: ReportResultRecordInput
    ) -> ReportResultRecordPayload:
        viewer = require_viewer(info)
        try:
            routing = await cases.record_result(viewer, pk_of(id, "ReportRouting", "id"), input.result)
        except DomainError as error:
            return ReportResultRecordPayload(routing=None, user_errors=[user_error(error)])
        return ReportResultRecordPayload(routing=ReportRoutingType.from_row(routing), user_errors=[])
