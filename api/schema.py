"""The published schema: Query and Mutation, with parser and validation caches."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from api.mutations.cases import CaseMutations
from api.mutations.duty_calendar import DutyCalendarMutations
from api.mutations.facts import FactMutations
from api.mutations.students import StudentMutations
from api.mutations.tasks import TaskMutations
from api.queries import PolicyQueries
from api.queries import Query as BaseQuery
from api.types.case import CaseType, DropoutReportType, PersuasionRecordType, ReportRoutingType
from api.types.duty import DutyType
from api.types.fact import FactType
from api.types.rule import RuleType
from api.types.student import StudentType
from api.types.task import TaskType
from api.types.unit import PersonType, UnitType
from api.types.user import UserType


@strawberry.type
class Query(BaseQuery, PolicyQueries):
    pass


@strawberry.type
class Mutation(TaskMutations, CaseMutations, StudentMutations, FactMutations, DutyCalendarMutations):
    pass


class CountySchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Errors are logged once, by the HTTP view, and only the unforeseen ones (api.app)."""


schema = CountySchema(
    query=Query,
    mutation=Mutation,
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
    extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)],
)


def schema_sdl() -> str:
    return schema.as_str() + "\n"
