"""The published schema: Query and Mutation, with parser and validation caches."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import GraphQLError
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

from api.audit import AuditedWrite
from api.limits import CostLimit
from api.mutations.cases import CaseMutations
from api.mutations.duty_calendar import DutyCalendarMutations
from api.mutations.facts import FactMutations
from api.mutations.reveal import RevealMutations
from api.mutations.students import StudentMutations
from api.mutations.tasks import TaskMutations
from api.queries import AuditQueries, PolicyQueries
from api.queries import Query as BaseQuery
from api.subscriptions import Subscription
from api.types.case import CaseType, DropoutReportType, PersuasionRecordType, ReportRoutingType
from api.types.duty import DutyType
from api.types.fact import FactType
from api.types.rule import RuleType
from api.types.student import StudentType
from api.types.task import TaskType
from api.types.unit import PersonType, UnitType
from api.types.user import UserType
from config import settings


@strawberry.type
class Query(BaseQuery, PolicyQueries, AuditQueries):
    pass


@strawberry.type
class Mutation(TaskMutations, CaseMutations, StudentMutations, FactMutations, DutyCalendarMutations, RevealMutations):
    pass


class CountySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are logged once, by the HTTP view, and only the unforeseen ones (api.app)."""


def extensions() -> list[Callable[[], SchemaExtension]]:
    limits = settings()
    # The limiters' rule classes are made once: new classes per request would defeat the validation cache.
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    chosen: list[Callable[[], SchemaExtension]] = [
        lambda: ParserCache(maxsize=256),
        lambda: MaxTokensLimiter(max_token_count=limits.max_query_tokens),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=256),
        CostLimit,
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
    ],
    extensions=extensions(),
)


def schema_sdl() -> str:
    return schema.as_str() + "\n"
