"""node(id:) and nodes(ids:): one lookup per type, and nothing the viewer may not see."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from api.context import Info
from api.ids import BadGlobalId, parse_global_id
from api.types.accountability import AccountabilityMeasureType
from api.types.case import CaseType, DropoutReportType, PersuasionRecordType, ReportRoutingType
from api.types.duty import DutyType
from api.types.fact import FactType
from api.types.node import Node
from api.types.office_report import OfficeReportType
from api.types.population import CrossCheckFindingType, CrossCheckRunType, HouseholdBookType
from api.types.registers import (
    GraduateHandoverType,
    RollMovementType,
    SchoolClassType,
    handover_line,
)
from api.types.rule import RuleType
from api.types.student import StudentType
from api.types.task import TaskType
from api.types.unit import PersonType, UnitType
from api.types.user import UserType
from models.cases import DropoutReport, PersuasionRecord, ReportRouting
from models.office import AccountabilityMeasure, OfficeReport
from models.population import CensusBook, CrossCheckFinding, CrossCheckRun
from models.registers import GraduateHandover, HandoverLine, RollMovement, SchoolClass
from models.users import User
from tasks.access import case_visible, fact_visible, student_visible, visible_census_books, visible_findings
from tasks.office.accountability import measure_visible
from tasks.office.reports.generate import report_visible
from tasks.queue.workflow import visible_task
from tasks.registers.classes import class_visible
from tasks.registers.handover import handover_visible
from tasks.registers.movements import movement_visible


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


async def _school_class(info: Info, viewer: User, pk: int) -> Node | None:
    row = await SchoolClass.get_or_none(id=pk)
    return SchoolClassType.from_row(row) if row and class_visible(viewer, row) else None


async def _movement(info: Info, viewer: User, pk: int) -> Node | None:
    row = await RollMovement.get_or_none(id=pk)
    student = await info.context.loaders.student.load(row.student_id) if row else None
    if row is None or student is None:
        return None
    if movement_visible(viewer, row, student) or await student_visible(viewer, student):
        return RollMovementType.from_row(row)
    return None


async def _handover(info: Info, viewer: User, pk: int) -> Node | None:
    row = await GraduateHandover.get_or_none(id=pk)
    return GraduateHandoverType.from_row(row) if row and handover_visible(viewer, row) else None


async def _handover_line(info: Info, viewer: User, pk: int) -> Node | None:
    row = await HandoverLine.get_or_none(id=pk)
    if row is None or not handover_visible(viewer, await GraduateHandover.get(id=row.handover_id)):
        return None
    return await handover_line(row)


async def _rule(info: Info, viewer: User, pk: int) -> Node | None:
    row = await info.context.loaders.rule.load(pk)
    return RuleType.from_row(row) if row else None


async def _measure(info: Info, viewer: User, pk: int) -> Node | None:
    row = await AccountabilityMeasure.get_or_none(id=pk)
    return AccountabilityMeasureType.from_row(row) if row and await measure_visible(viewer, row) else None


async def _household_book(info: Info, viewer: User, pk: int) -> Node | None:
    row = await CensusBook.filter(visible_census_books(viewer), id=pk).first()
    return HouseholdBookType.from_row(row) if row else None


async def _finding(info: Info, viewer: User, pk: int) -> Node | None:
    row = await CrossCheckFinding.filter(visible_findings(viewer), id=pk).first()
    return CrossCheckFindingType.from_row(row) if row else None


async def _crosscheck_run(info: Info, viewer: User, pk: int) -> Node | None:
    row = await CrossCheckRun.get_or_none(id=pk)
    return CrossCheckRunType.from_row(row) if row else None


async def _office_report(info: Info, viewer: User, pk: int) -> Node | None:
    row = await OfficeReport.get_or_none(id=pk)
    return OfficeReportType.from_row(row) if row and await report_visible(viewer, row) else None


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
    "AccountabilityMeasure": _measure,
    "OfficeReport": _office_report,
    "SchoolClass": _school_class,
    "RollMovement": _movement,
    "GraduateHandover": _handover,
    "HandoverLine": _handover_line,
    "HouseholdBook": _household_book,
    "CrossCheckFinding": _finding,
    "CrossCheckRun": _crosscheck_run,
}


async def resolve_node(info: Info, viewer: User, node_id: str) -> Node | None:
    """Unknown, malformed and forbidden ids all answer null, so an id leaks nothing."""
    try:
        type_name, pk = parse_global_id(node_id)
    except BadGlobalId:
        return None
    resolver = RESOLVERS.get(type_name)
    return await resolver(info, viewer, pk) if resolver else None
