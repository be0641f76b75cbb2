"""Cases, their timeline, persuasion records (附件2) and reports (附件3)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import strawberry

from api.context import Info, require_viewer
from api.ids import global_id
from api.types.connection import Connection
from api.types.nested_lists import (
    CASE_ABSENCES,
    CASE_PERSUASIONS,
    CASE_REPORTS,
    CASE_TASKS,
    CASE_TIMELINE,
    REPORT_ROUTING,
    nested_page,
    replaced_by,
)
from api.types.node import Node
from api.types.student import StudentType
from api.types.task import TaskType
from api.types.unit import UnitType
from api.types.user import UserType
from models import clock
from models.cases import (
    Case,
    CaseEvent,
    CaseKind,
    CaseStage,
    CaseStatus,
    DropoutReport,
    PersuasionKind,
    PersuasionRecord,
    PersuasionResult,
    ReportRouting,
)
from models.children import Student
from models.tasks import Task

CaseKindEnum = strawberry.enum(CaseKind, name="CaseKind")
CaseStatusEnum = strawberry.enum(CaseStatus, name="CaseStatus")
CaseStageEnum = strawberry.enum(CaseStage, name="CaseStage")
PersuasionKindEnum = strawberry.enum(PersuasionKind, name="PersuasionKind")
PersuasionResultEnum = strawberry.enum(PersuasionResult, name="PersuasionResult")


async def _user(info: Info, user_id: int | None) -> UserType | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user.load(user_id)
    return UserType.from_row(row) if row else None


@strawberry.type(name="CaseEvent", description="A line of a case's timeline.")
class CaseEventType:
    at: dt.datetime
    action: str
    detail: str
    _actor_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: CaseEvent) -> CaseEventType:
        return cls(at=clock.local(row.at), action=row.action, detail=row.detail, _actor_id=row.actor_id)

    @strawberry.field(description="Who did it; null for the system's workers.")
    async def actor(self, info: Info) -> UserType | None:
        return await _user(info, self._actor_id)


@strawberry.type(name="Absence")
class AbsenceType:
    day: dt.date
    note: str


@strawberry.type(name="PersuasionRecord", description="劝学记录表 (附件2).")
class PersuasionRecordType(Node):
    kind: PersuasionKindEnum  # type: ignore[valid-type]
    result: PersuasionResultEnum  # type: ignore[valid-type]
    held_at: dt.datetime
    persuaders: str
    process: str
    family_situation: str
    parents_attitude: str
    student_attitude: str
    school_opinion: str
    document_url: str = strawberry.field(description="GET with your bearer token: the form as a DOCX, ready to print.")
    _row: strawberry.Private[PersuasionRecord]

    @classmethod
    def from_row(cls, row: PersuasionRecord) -> PersuasionRecordType:
        gid = global_id("PersuasionRecord", row.id)
        return cls(
            id=gid,
            kind=row.kind,
            result=row.result,
            held_at=clock.local(row.held_at),
            persuaders=row.persuaders,
            process=row.process,
            family_situation=row.family_situation,
            parents_attitude=row.parents_attitude,
            student_attitude=row.student_attitude,
            school_opinion=row.school_opinion,
            document_url=f"/documents/{gid}.docx",
            _row=row,
        )

    @strawberry.field
    async def recorded_by(self, info: Info) -> UserType | None:
        return await _user(info, self._row.recorded_by_id)

    @strawberry.field
    async def case(self, info: Info) -> CaseType:
        return CaseType.from_row(await info.context.loaders.case.load(self._row.case_id))


@strawberry.type(name="ReportRouting", description="A line of the report's routing table: one copy, one receiver.")
class ReportRoutingType(Node):
    sent_at: dt.datetime
    sender_name: str
    received_at: dt.datetime | None
    receiver_name: str | None
    receiver_contact: str | None
    result: str | None = strawberry.field(description="处理结果, recorded by the receiver.")
    result_at: dt.datetime | None
    _row: strawberry.Private[ReportRouting]

    @classmethod
    def from_row(cls, row: ReportRouting) -> ReportRoutingType:
        def local(moment: dt.datetime | None) -> dt.datetime | None:
            return clock.local(moment) if moment else None

        return cls(
            id=global_id("ReportRouting", row.id),
            sent_at=clock.local(row.sent_at),
            sender_name=row.sender_name,
            received_at=local(row.received_at),
            receiver_name=row.receiver_name,
            receiver_contact=row.receiver_contact,
            result=row.result,
            result_at=local(row.result_at),
            _row=row,
        )

    @strawberry.field
    async def receiver(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.receiver_id))

    @strawberry.field(description="GET with your bearer token: this receiver's copy of the report as a DOCX.")
    def document_url(self) -> str:
        report, receiver = global_id("DropoutReport", self._row.report_id), global_id("Unit", self._row.receiver_id)
        return f"/documents/{report}.docx?receiver={quote(receiver)}"


@strawberry.type(name="DropoutReport", description="疑似辍学学生劝学返校报告单 (附件3), in three copies.")
class DropoutReportType(Node):
    absent_from: dt.date
    absent_to: dt.date
    persuasion_count: int
    situation: str
    contact_person: str
    contact_phone: str
    filed_at: dt.datetime
    document_url: str = strawberry.field(description="GET with your bearer token: the form as a DOCX, ready to print.")
    _row: strawberry.Private[DropoutReport]

    @classmethod
    def from_row(cls, row: DropoutReport) -> DropoutReportType:
        gid = global_id("DropoutReport", row.id)
        return cls(
            id=gid,
            absent_from=row.absent_from,
            absent_to=row.absent_to,
            persuasion_count=row.persuasion_count,
            situation=row.situation,
            contact_person=row.contact_person,
            contact_phone=row.contact_phone,
            filed_at=clock.local(row.filed_at),
            document_url=f"/documents/{gid}.docx",
            _row=row,
        )

    @strawberry.field
    async def filed_by(self, info: Info) -> UserType | None:
        return await _user(info, self._row.filed_by_id)

    @strawberry.field(
        description="The routing table: one line per receiving unit.",
        deprecation_reason=replaced_by("routingConnection"),
    )
    async def routing(self, info: Info) -> list[ReportRoutingType]:
        rows = await info.context.loaders.visible_under(require_viewer(info), ReportRouting, "report_id").load(
            self._row.id
        )
        return [ReportRoutingType.from_row(r) for r in rows]

    @strawberry.field(description="The routing table: one line per receiving unit.")
    async def routing_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ReportRoutingType]:
        return await nested_page(
            REPORT_ROUTING, require_viewer(info), self._row.id, first, after, ReportRoutingType.from_row
        )


@strawberry.type
class FollowUp:
    name: str
    phone: str | None


@strawberry.type(name="Case", description="A case of suspected dropout (附件1) and everything done about it.")
class CaseType(Node):
    kind: CaseKindEnum  # type: ignore[valid-type]
    status: CaseStatusEnum  # type: ignore[valid-type]
    stage: CaseStageEnum  # type: ignore[valid-type]
    absent_since: dt.date = strawberry.field(description="First school day of the current absence.")
    episode: int = strawberry.field(description="1, then +1 each time the case is reopened.")
    escalation_level: int = strawberry.field(description="0, or how many levels up the case has gone (四(二)6).")
    follow_up: FollowUp | None = strawberry.field(description="The named person following the case (专人跟进).")
    returned_on: dt.date | None
    close_reason: str | None
    close_evidence: str | None
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    version: int
    _row: strawberry.Private[Case]

    @classmethod
    def from_row(cls, row: Case) -> CaseType:
        return cls(
            id=global_id("Case", row.id),
            kind=row.kind,
            status=row.status,
            stage=row.stage,
            absent_since=row.absent_since,
            episode=row.episode,
            escalation_level=row.escalation_level,
            follow_up=FollowUp(name=row.follow_up_name, phone=row.follow_up_phone) if row.follow_up_name else None,
            returned_on=row.returned_on,
            close_reason=row.close_reason,
            close_evidence=row.close_evidence,
            opened_at=clock.local(row.opened_at),
            closed_at=clock.local(row.closed_at) if row.closed_at else None,
            version=row.version,
            _row=row,
        )

    @strawberry.field(description="School days of unexplained absence so far (to the day before the return).")
    async def absence_days(self, info: Info) -> int:
        return await info.context.loaders.absence_days.load(self._row.id)

    @strawberry.field
    def student(self, info: Info) -> StudentType:
        student = self._row.__dict__.get("_student")  # fetched with a queue page
        if isinstance(student, Student):
            return StudentType.from_row(student)
        return self._load_student(info)  # type: ignore[return-value]

    async def _load_student(self, info: Info) -> StudentType:
        return StudentType.from_row(await info.context.loaders.student.load(self._row.student_id))

    @strawberry.field
    async def school(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.school_id))

    @strawberry.field(description="Township of the student's household registration.")
    async def township(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.township_id))

    @strawberry.field(deprecation_reason=replaced_by("absencesConnection"))
    async def absences(self, info: Info) -> list[AbsenceType]:
        rows = await info.context.loaders.case_absences.load(self._row.id)
        return [AbsenceType(day=a.day, note=a.note) for a in rows]

    @strawberry.field(description="The days the pupil was absent, earliest first.")
    async def absences_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[AbsenceType]:
        return await nested_page(
            CASE_ABSENCES,
            require_viewer(info),
            self._row.id,
            first,
            after,
            lambda a: AbsenceType(day=a.day, note=a.note),
        )

    @strawberry.field(
        description="The ladder's tasks and any others about this case, soonest due first.",
        deprecation_reason=replaced_by("tasksConnection"),
    )
    async def tasks(self, info: Info) -> list[TaskType]:
        loader = info.context.loaders.visible_under(require_viewer(info), Task, "case_id", ("due_at", "id"))
        return [TaskType.from_row(t) for t in await loader.load(self._row.id)]

    @strawberry.field(description="The ladder's tasks and any others about this case, soonest due first.")
    async def tasks_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[TaskType]:
        return await nested_page(CASE_TASKS, require_viewer(info), self._row.id, first, after, TaskType.from_row)

    @strawberry.field(
        description="Everything that happened, oldest first.", deprecation_reason=replaced_by("timelineConnection")
    )
    async def timeline(self, info: Info) -> list[CaseEventType]:
        return [CaseEventType.from_row(e) for e in await info.context.loaders.case_events.load(self._row.id)]

    @strawberry.field(description="Everything that happened, oldest first.")
    async def timeline_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[CaseEventType]:
        return await nested_page(
            CASE_TIMELINE, require_viewer(info), self._row.id, first, after, CaseEventType.from_row
        )

    @strawberry.field(deprecation_reason=replaced_by("persuasionRecordsConnection"))
    async def persuasion_records(self, info: Info) -> list[PersuasionRecordType]:
        loader = info.context.loaders.visible_under(
            require_viewer(info), PersuasionRecord, "case_id", ("held_at", "id")
        )
        rows = await loader.load(self._row.id)
        return [PersuasionRecordType.from_row(r) for r in rows]

    @strawberry.field(description="劝学记录: the persuasion records, in the order they were held.")
    async def persuasion_records_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PersuasionRecordType]:
        return await nested_page(
            CASE_PERSUASIONS, require_viewer(info), self._row.id, first, after, PersuasionRecordType.from_row
        )

    @strawberry.field(deprecation_reason=replaced_by("reportsConnection"))
    async def reports(self, info: Info) -> list[DropoutReportType]:
        rows = await info.context.loaders.visible_under(require_viewer(info), DropoutReport, "case_id").load(
            self._row.id
        )
        return [DropoutReportType.from_row(r) for r in rows]

    @strawberry.field(description="The dropout reports filed on this case, oldest first.")
    async def reports_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[DropoutReportType]:
        return await nested_page(
            CASE_REPORTS, require_viewer(info), self._row.id, first, after, DropoutReportType.from_row
        )
