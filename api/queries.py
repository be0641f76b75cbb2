"""The root Query type."""

from __future__ import annotations

import asyncio
import datetime as dt

import strawberry
from tortoise.queryset import QuerySet

from api.context import Info, require_viewer
from api.errors import BadUserInput, Forbidden
from api.ids import BadGlobalId, parse_global_id
from api.node_lookup import resolve_node
from api.types.audit import AuditEntryType, AuditFilter
from api.types.case import CaseKindEnum, CaseStageEnum, CaseStatusEnum, CaseType
from api.types.connection import Connection, page_size, paged
from api.types.duty import DutyType
from api.types.duty_calendar import DigestType, DutyCalendarPreview
from api.types.enums import TaskOrderEnum, UnitKindEnum
from api.types.node import Node
from api.types.rule import RuleKindEnum, RuleType
from api.types.student import StudentType
from api.types.task import TaskFilter, TaskType, criteria_of, task_connection
from api.types.unit import UnitType
from api.types.viewer import Viewer
from config import settings
from models import clock
from models.audit import AuditEntry
from models.paging import SortKey, keyset_page
from models.rules import Digest, Rule
from models.units import Unit, UnitKind
from tasks.duties.calendar import plan_school_year
from tasks.duties.register import duties_page
from tasks.ladder.case_queries import NEWEST_FIRST, CaseCriteria, case_page, student_page
from tasks.queue.lists import TaskOrder

UNIT_ORDER = (SortKey("position"), SortKey("id"))
CODE_LENGTH = Unit._meta.fields_map["code"].max_length


def _pk(value: strawberry.ID, type_name: str, argument: str) -> int:
    try:
        return parse_global_id(value, type_name)[1]
    except BadGlobalId as exc:
        raise BadUserInput(f"{argument}: {exc}") from exc


def _moment(value: dt.datetime, argument: str) -> dt.datetime:
    try:
        return clock.aware(value)
    except OverflowError as exc:  # 0001-01-01 in county time is before the first moment Python can hold in UTC
        raise BadUserInput(f"{argument}: {value.isoformat()} 超出可用范围 (out of range)") from exc


@strawberry.type
class Query:
    @strawberry.field(description="Any object by its global id; null if it does not exist or is not yours to see.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await resolve_node(info, require_viewer(info), id)

    @strawberry.field(description="Several objects by global id, in the order asked; null where node(id:) would be.")
    async def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
        viewer = require_viewer(info)
        if len(ids) > settings().max_page_size:
            raise BadUserInput(
                f"ids: 一次最多 {settings().max_page_size} 个 (at most {settings().max_page_size} at once)"
            )
        return list(await asyncio.gather(*(resolve_node(info, viewer, i) for i in ids)))

    @strawberry.field(description="The signed-in user.")
    def viewer(self, info: Info) -> Viewer:
        return Viewer(_user=require_viewer(info))

    @strawberry.field(description="Units of the county, in the plan's order.")
    async def units(
        self,
        info: Info,
        kind: UnitKindEnum | None = None,  # type: ignore[valid-type]
        parent_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[UnitType]:
        require_viewer(info)
        size = page_size(first)
        query = unit_query(kind, parent_id)
        return await paged(lambda: keyset_page([query], UNIT_ORDER, size, after), UnitType.from_row)

    @strawberry.field(description="One unit by its stable code, e.g. education, dafeng.")
    async def unit(self, info: Info, code: str) -> UnitType | None:
        require_viewer(info)
        query = unit_by_code(code)
        row = await query.get_or_none() if query is not None else None
        return UnitType.from_row(row) if row else None

    @strawberry.field(description="The duty register; with ownerUnitId, the duties that unit owns.")
    async def duties(
        self,
        info: Info,
        owner_unit_id: strawberry.ID | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[DutyType]:
        require_viewer(info)
        size = page_size(first)
        owner = None
        if owner_unit_id is not None:
            owner = await Unit.get_or_none(id=_pk(owner_unit_id, "Unit", "ownerUnitId"))
            if owner is None:
                raise BadUserInput("ownerUnitId: 没有这个单位 (no such unit)")
        return await paged(lambda: duties_page(owner, size, after), DutyType.from_row)

    @strawberry.field(description="Tasks: every task for the office; your unit's own and shared tasks otherwise.")
    async def tasks(
        self,
        info: Info,
        filter: TaskFilter | None = None,
        order_by: TaskOrderEnum = TaskOrder.DUE_SOONEST,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TaskType]:
        return await task_connection(require_viewer(info), criteria_of(filter), order_by, first, after)

    @strawberry.field(
        description="Cases you may see: your school's, your township's, those with tasks for you; all for the office."
    )
    async def cases(
        self,
        info: Info,
        filter: CaseFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CaseType]:
        viewer = require_viewer(info)
        size = page_size(first)
        criteria = case_criteria(filter)
        return await paged(lambda: case_page(viewer, criteria, size, after), CaseType.from_row)

    @strawberry.field(description="One case by its global id; null if it does not exist or is not yours to see.")
    async def case(self, info: Info, id: strawberry.ID) -> CaseType | None:
        node = await resolve_node(info, require_viewer(info), id)
        return node if isinstance(node, CaseType) else None

    @strawberry.field(description="Students you may see, by id order.")
    async def students(
        self,
        info: Info,
        filter: StudentFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[StudentType]:
        viewer = require_viewer(info)
        size = page_size(first)
        school = _pk(filter.school_id, "Unit", "filter.schoolId") if filter and filter.school_id else None
        name = filter.name if filter else None
        return await paged(lambda: student_page(viewer, school, name, size, after), StudentType.from_row)


def unit_query(kind: UnitKind | None, parent_id: strawberry.ID | None) -> QuerySet[Unit]:
    """Query.units' rows (the compiled reads, api/compiled/sql_plan.py, render the same queryset)."""
    query = Unit.all()
    if kind is not None:
        query = query.filter(kind=kind)
    if parent_id is not None:
        query = query.filter(parent_id=_pk(parent_id, "Unit", "parentId"))
    return query


def unit_by_code(code: str) -> QuerySet[Unit] | None:
    """Query.unit's row; None for a code longer than any unit's."""
    return Unit.filter(code=code) if len(code) <= CODE_LENGTH else None


@strawberry.input(description="Narrow the case list; fields combine with AND.")
class CaseFilter:
    status: CaseStatusEnum | None = None  # type: ignore[valid-type]
    stage: CaseStageEnum | None = None  # type: ignore[valid-type]
    kind: CaseKindEnum | None = None  # type: ignore[valid-type]
    school_id: strawberry.ID | None = None
    township_id: strawberry.ID | None = None
    student_id: strawberry.ID | None = None
    overdue_step: bool | None = strawberry.field(default=None, description="Has a ladder task past its deadline.")


@strawberry.input
class StudentFilter:
    school_id: strawberry.ID | None = None
    name: str | None = strawberry.field(default=None, description="Part of the name.")


def case_criteria(value: CaseFilter | None) -> CaseCriteria:
    if value is None:
        return CaseCriteria()

    def pk(raw: strawberry.ID | None, type_name: str, field: str) -> int | None:
        return _pk(raw, type_name, f"filter.{field}") if raw else None

    return CaseCriteria(
        status=value.status,
        stage=value.stage,
        kind=value.kind,
        school_id=pk(value.school_id, "Unit", "schoolId"),
        township_id=pk(value.township_id, "Unit", "townshipId"),
        student_id=pk(value.student_id, "Student", "studentId"),
        overdue_step=value.overdue_step,
    )


@strawberry.type
class PolicyQueries:
    @strawberry.field(description="The rules of the county's policy file: ladder steps and rules about a child.")
    async def rules(self, info: Info, kind: RuleKindEnum | None = None) -> list[RuleType]:  # type: ignore[valid-type]
        require_viewer(info)
        query = Rule.all().order_by("kind", "position", "id")
        if kind is not None:
            query = query.filter(kind=kind)
        return [RuleType.from_row(r) for r in await query]

    @strawberry.field(description="What generating a school year's duty calendar would create. Nothing is written.")
    async def duty_calendar_preview(self, info: Info, school_year: str) -> DutyCalendarPreview:
        require_viewer(info)
        try:
            return DutyCalendarPreview.of(await plan_school_year(school_year))
        except ValueError as exc:
            raise BadUserInput(f"schoolYear: {exc}") from exc

    @strawberry.field(description="A unit's digest of a day (yours unless you are the office); null if none was sent.")
    async def digest(self, info: Info, day: dt.date, unit_id: strawberry.ID | None = None) -> DigestType | None:
        viewer = require_viewer(info)
        unit = _pk(unit_id, "Unit", "unitId") if unit_id else viewer.unit_id
        if unit != viewer.unit_id and not viewer.sees_every_unit:
            return None
        row = await Digest.get_or_none(unit_id=unit, day=day)
        return DigestType(day=row.day, _row=row) if row else None


@strawberry.type
class AuditQueries:
    @strawberry.field(description="The audit trail, newest first (leading-group office and administrators).")
    async def audit_trail(
        self, info: Info, filter: AuditFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[AuditEntryType]:
        viewer = require_viewer(info)
        if not viewer.sees_every_unit:
            raise Forbidden("只有领导小组办公室和管理员可以查阅审计记录 (office and administrators only)")
        size = page_size(first)
        query = AuditEntry.all()
        if filter is not None:
            if filter.action is not None:
                query = query.filter(action=filter.action)
            if filter.actor_id is not None:
                query = query.filter(actor_id=_pk(filter.actor_id, "User", "filter.actorId"))
            for name, text in (("operation", filter.operation), ("target", filter.target)):
                if text and len(text) > AuditEntry._meta.fields_map[name].max_length:
                    raise BadUserInput(f"filter.{name}: 太长 (too long)")
            if filter.operation:
                query = query.filter(operation=filter.operation)
            if filter.target:
                query = query.filter(target=filter.target)
            if filter.since is not None:
                query = query.filter(at__gte=_moment(filter.since, "filter.since"))
            if filter.until is not None:
                query = query.filter(at__lt=_moment(filter.until, "filter.until"))
        return await paged(lambda: keyset_page([query], NEWEST_FIRST, size, after), AuditEntryType.from_row)
