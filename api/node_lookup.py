"""node(id:) and nodes(ids:): each type's rows through tasks/access.py's gate, nothing else."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from inspect import isawaitable
from typing import Any

from api.context import Info
from api.ids import BadGlobalId, parse_global_id
from api.types.accountability import AccountabilityMeasureType
from api.types.case import CaseType, DropoutReportType, PersuasionRecordType, ReportRoutingType
from api.types.duty import DutyType
from api.types.fact import FactType
from api.types.imports import ImportRunType
from api.types.node import Node
from api.types.office_report import OfficeReportType
from api.types.population import CrossCheckFindingType, CrossCheckRunType, HouseholdBookType, ResidentType
from api.types.registers import GraduateHandoverType, RollMovementType, SchoolClassType, handover_line
from api.types.rule import RuleType
from api.types.student import StudentType
from api.types.task import TaskType
from api.types.unit import PersonType, UnitType
from api.types.user import UserType
from api.types.webhook import WebhookDeliveryType, WebhookEndpointType
from models.users import User
from tasks.access import GATES

# GraphQL type name -> how a visible row becomes that type. Which rows are visible is not decided here:
# every name must have its gate in tasks/access.py (tests/test_visibility_walk.py checks both ways).
NODE_TYPES: dict[str, Callable[[Any], Node | Awaitable[Node]]] = {
    "Unit": UnitType.from_row,
    "Person": PersonType.from_row,
    "Duty": DutyType.from_row,
    "User": UserType.from_row,
    "Task": TaskType.from_row,
    "Case": CaseType.from_row,
    "Student": StudentType.from_row,
    "PersuasionRecord": PersuasionRecordType.from_row,
    "DropoutReport": DropoutReportType.from_row,
    "ReportRouting": ReportRoutingType.from_row,
    "Fact": FactType.from_row,
    "Rule": RuleType.from_row,
    "SchoolClass": SchoolClassType.from_row,
    "RollMovement": RollMovementType.from_row,
    "GraduateHandover": GraduateHandoverType.from_row,
    "HandoverLine": handover_line,
    "ImportRun": ImportRunType.from_row,
    "WebhookEndpoint": WebhookEndpointType.from_row,
    "WebhookDelivery": WebhookDeliveryType.from_row,
    "AccountabilityMeasure": AccountabilityMeasureType.from_row,
    "OfficeReport": OfficeReportType.from_row,
    "HouseholdBook": HouseholdBookType.from_row,
    "CrossCheckFinding": CrossCheckFindingType.from_row,
    "CrossCheckRun": CrossCheckRunType.from_row,
    "Resident": ResidentType.from_row,
}


async def resolve_node(info: Info, viewer: User, node_id: str) -> Node | None:
    """Unknown, malformed and forbidden ids all answer null, so an id leaks nothing."""
    try:
        type_name, pk = parse_global_id(node_id)
    except BadGlobalId:
        return None
    make, gate = NODE_TYPES.get(type_name), GATES.get(type_name)
    if make is None or gate is None:
        return None
    row = await info.context.loaders.visible(viewer, gate.model).load(pk)
    if row is None:
        return None
    made = make(row)
    return await made if isawaitable(made) else made  # type: ignore[return-value]
