"""node(id:) and nodes(ids:): one lookup per type, and nothing the viewer may not see."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from api.context import Info
from api.ids import BadGlobalId, parse_global_id
from api.types.case import CaseType, DropoutReportType, PersuasionRecordType, ReportRoutingType
from api.types.duty import DutyType
from api.types.fact import FactType
from api.types.node import Node
from api.types.registers import CrossCheckFindingType, CrossCheckRunType, HouseholdBookType, ResidentType
from api.types.rule import RuleType
from api.types.student import StudentType
from api.types.task import TaskType
from api.types.unit import PersonType, UnitType
from api.types.user import UserType
from models.cases import DropoutReport, PersuasionRecord, ReportRouting
from models.population import CensusBook, CrossCheckFinding, CrossCheckRun, Resident
from models.users import User
from tasks.access import (
    case_visible,
    fact_visible,
    student_visible,
    visible_census_books,
    visible_findings,
    visible_residents,
)
from tasks.queue.workflow import visible_task


async def _unit(info: Info, viewer: User, pk: int) -> Node | None:
    row = await info.context.loaders.unit.load(pk)
    return UnitType.from_row(row) if row else None


async def _person(info: Info, viewer: User, pk: int) -> Node | None:
    row = await info.context.loaders.person.load(pk)
    return PersonType.from_row(row) if row else None


async def _duty(info: Info, viewer: User, pk: int) -> Node | None:
    row = await info.context.loaders.duty.load(pk)
    return DutyType.from_row(row) if row else None


async def _user(info: Info, viewer: User, pk: int) -> Node | None:
    row = await info.context.loaders.user.load(pk)
    if row is None or not (viewer.sees_every_unit or row.unit_id == viewer.unit_id):
        return None
    return UserType.from_row(row)


async def _task(info: Info, viewer: User, pk: int) -> Node | None:
    row = await visible_task(viewer, pk)
    return TaskType.from_row(row) if row else None


async def _case(info: Info, viewer: User, pk: int) -> Node | None:
    row = await info.context.loaders.case.load(pk)
    return CaseType.from_row(row) if row and await case_visible(viewer, row) else None


async def _student(info: Info, viewer: User, pk: int) -> Node | None:
    row = await info.context.loaders.student.load(pk)
    return StudentType.from_row(row) if row and await student_visible(viewer, row) else None


async def _persuasion_record(info: Info, viewer: User, pk: int) -> Node | None:
    row = await PersuasionRecord.get_or_none(id=pk)
    return PersuasionRecordType.from_row(row) if row and await _case(info, viewer, row.case_id) else None


async def _report(info: Info, viewer: User, pk: int) -> Node | None:
    row = await DropoutReport.get_or_none(id=pk)
    return DropoutReportType.from_row(row) if row and await _case(info, viewer, row.case_id) else None


async def _routing(info: Info, viewer: User, pk: int) -> Node | None:
    row = await ReportRouting.get_or_none(id=pk)
    if row is None:
        return None
    report = await DropoutReport.get(id=row.report_id)
    return ReportRoutingType.from_row(row) if await _case(info, viewer, report.case_id) else None


async def _fact(info: Info, viewer: User, pk: int) -> Node | None:
    row = await info.context.loaders.fact.load(pk)
    student = await info.context.loaders.student.load(row.student_id) if row else None
    if row is None or student is None or not await student_visible(viewer, student):
        return None
    return FactType.from_row(row) if await fact_visible(viewer, row, student) else None


async def _rule(info: Info, viewer: User, pk: int) -> Node | None:
    row = await info.context.loaders.rule.load(pk)
    return RuleType.from_row(row) if row else None


async def _household_book(info: Info, viewer: User, pk: int) -> Node | None:
    row = await CensusBook.filter(visible_census_books(viewer), id=pk).first()
    return HouseholdBookType.from_row(row) if row else None


async def _finding(info: Info, viewer: User, pk: int) -> Node | None:
    row = await CrossCheckFinding.filter(visible_findings(viewer), id=pk).first()
    return CrossCheckFindingType.from_row(row) if row else None


async def _crosscheck_run(info: Info, viewer: User, pk: int) -> Node | None:
    row = await CrossCheckRun.get_or_none(id=pk)
    return CrossCheckRunType.from_row(row) if row else None


async def _resident(info: Info, viewer: User, pk: int) -> Node | None:
    row = await Resident.filter(visible_residents(viewer), id=pk).first()
    return ResidentType.from_row(row) if row else None


RESOLVERS: dict[str, Callable[[Info, User, int], Awaitable[Node | None]]] = {
    "Unit": _unit,
    "Person": _person,
    "Duty": _duty,
    "User": _user,
    "Task": _task,
    "Case": _case,
    "Student": _student,
    "PersuasionRecord": _persuasion_record,
    "DropoutReport": _report,
    "ReportRouting": _routing,
    "Fact": _fact,
    "Rule": _rule,
    "HouseholdBook": _household_book,
    "CrossCheckFinding": _finding,
    "CrossCheckRun": _crosscheck_run,
    "Resident": _resident,
}


async def resolve_node(info: Info, viewer: User, node_id: str) -> Node | None:
    """Unknown, malformed and forbidden ids all answer null, so an id leaks nothing."""
    try:
        type_name, pk = parse_global_id(node_id)
    except BadGlobalId:
        return None
    resolver = RESOLVERS.get(type_name)
    return await resolver(info, viewer, pk) if resolver else None
