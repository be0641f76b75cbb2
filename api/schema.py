"""The published schema: Query and Mutation, with parser and validation caches."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext
from strawberry.types.execution import StreamExecutionResult
from strawberry.types.graphql import OperationType

from api.audit import AuditedWrite, AuditRefusedWrites
from api.errors import FaultCode, public_error
from api.import_queries import ImportQueries
from api.limits import CostLimit, RefuseNul
from api.mutations.accountability import AccountabilityMutations
from api.mutations.cases import CaseMutations
from api.mutations.duty_calendar import DutyCalendarMutations
from api.mutations.facts import FactMutations
from api.mutations.office_report import OfficeReportMutations
from api.mutations.population import PopulationMutations
from api.mutations.registers import RegisterMutations
from api.mutations.reveal import RevealMutations
from api.mutations.students import StudentMutations
from api.mutations.tasks import TaskMutations
from api.mutations.webhooks import WebhookMutations, WebhookQueries
from api.office_queries import OfficeQueries
from api.queries import AuditQueries, PolicyQueries
from api.queries import Query as BaseQuery
from api.registers import PopulationQueries
from api.scalars import SCALAR_OVERRIDES
from api.subscriptions import Subscription
from api.types.accountability import AccountabilityMeasureType
from api.types.case import CaseType, DropoutReportType, PersuasionRecordType, ReportRoutingType
from api.types.duty import DutyType
from api.types.fact import FactType
from api.types.imports import ImportRunType
from api.types.office_report import OfficeReportType
from api.types.population import CrossCheckFindingType, CrossCheckRunType, HouseholdBookType, ResidentType
from api.types.registers import (
    GraduateHandoverType,
    HandoverLineType,
    RegisterQueries,
    RollMovementType,
    SchoolClassType,
)
from api.types.rule import RuleType
from api.types.student import StudentType
from api.types.task import TaskType
from api.types.unit import PersonType, UnitType
from api.types.user import UserType
from api.types.webhook import WebhookDeliveryType, WebhookEndpointType
from config import settings


@strawberry.type
class Query(
    BaseQuery,
    PolicyQueries,
    AuditQueries,
    ImportQueries,
    RegisterQueries,
    WebhookQueries,
    OfficeQueries,
    PopulationQueries,
):
    pass


@strawberry.type
class Mutation(
    TaskMutations,
    CaseMutations,
    StudentMutations,
    FactMutations,
    DutyCalendarMutations,
    RevealMutations,
    AccountabilityMutations,
    OfficeReportMutations,
    PopulationMutations,
    RegisterMutations,
    WebhookMutations,
):
    pass


class CountySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Only the unforeseen are logged, once: by the HTTP view (api.app), over WebSocket by PublicErrors."""


class PublicErrors(SchemaExtension):
    """Over WebSocket, errors read as over HTTP (api.app): coded, and the unforeseen masked and logged."""

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        errors = getattr(result, "errors", None)
        if errors:
            request_id = getattr(self.execution_context.context, "request_id", None) or uuid.uuid4().hex[:12]
            result.errors = [_as_error(e, public_error(e, request_id)) for e in errors]  # type: ignore[union-attr]
        yield


class SubscriptionsOnlyOverWebSocket(SchemaExtension):
    """Queries and mutations go over HTTP, where the rate and body limits apply; a socket carries subscriptions."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        over_socket = isinstance(getattr(context.context, "request", None), WebSocket)
        if over_socket and context.operation_type is not OperationType.SUBSCRIPTION:
            message = "WebSocket 只用于订阅；查询和变更请用 HTTP POST /graphql (only subscriptions over WebSocket)"
            context.result = GraphQLExecutionResult(
                data=None, errors=[GraphQLError(message, extensions={"code": FaultCode.BAD_USER_INPUT.value})]
            )
        yield


def _as_error(original: GraphQLError, shown: dict[str, object]) -> GraphQLError:
    return GraphQLError(
        str(shown["message"]),
        nodes=original.nodes,
        path=original.path,
        extensions=shown.get("extensions"),  # type: ignore[arg-type]
    )


def extensions() -> list[Callable[[], SchemaExtension]]:
    limits = settings()
    # The limiters' rule classes are made once: new classes per request would defeat the validation cache.
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    chosen: list[Callable[[], SchemaExtension]] = [
        AuditRefusedWrites,  # first, so that it sees what every other extension refused
        lambda: ParserCache(maxsize=256),
        lambda: MaxTokensLimiter(max_token_count=limits.max_query_tokens),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=256),
        CostLimit,
        RefuseNul,
        PublicErrors,
        SubscriptionsOnlyOverWebSocket,
    ]
    if not limits.introspection:
        chosen.append(DisableIntrospection)
    return chosen


for _field in Mutation.__strawberry_definition__.fields:  # every write is audited, refused or not
    _field.extensions.append(AuditedWrite())

schema = CountySchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[
        UnitType,
        PersonType,
        DutyType,
        UserType,
        TaskType,
        StudentType,
        CaseType,
        PersuasionRecordType,
        DropoutReportType,
        ReportRoutingType,
        FactType,
        RuleType,
        ImportRunType,
        AccountabilityMeasureType,
        OfficeReportType,
        SchoolClassType,
        RollMovementType,
        GraduateHandoverType,
        HandoverLineType,
        WebhookEndpointType,
        WebhookDeliveryType,
        HouseholdBookType,
        CrossCheckRunType,
        CrossCheckFindingType,
        ResidentType,
    ],
    extensions=extensions(),
    scalar_overrides=SCALAR_OVERRIDES,
)


def schema_sdl() -> str:
    return schema.as_str() + "\n"
