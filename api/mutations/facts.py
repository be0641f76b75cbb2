"""factRecord and factWithdraw."""

from __future__ import annotations

import datetime as dt

import strawberry

from api.context import Info, require_viewer
from api.errors import UserError, user_error
from api.mutations.common import pk_of
from api.types.fact import DisabilityKindEnum, FactKindEnum, FactType
from tasks.children.facts import FactData, record_fact, withdraw_fact
from tasks.errors import DomainError
from tasks.machinery import dispatch


@strawberry.input
class FactRecordInput:
    kind: FactKindEnum  # type: ignore[valid-type]
    source: str = strawberry.field(description="Who or what reported it (e.g. 村委会摸排, 残联数据).")
    reason: str
    noted_on: dt.date | None = None
    disability_kind: DisabilityKindEnum | None = None  # type: ignore[valid-type]
    graded: bool | None = strawberry.field(default=None, description="Disability: already graded (等级认定)?")
    detail: str = strawberry.field(
        default="", description="Employer (CHILD_WORKING) or destination (FAMILY_MOVED_AWAY)."
    )


@strawberry.input
class FactWithdrawInput:
    reason: str


@strawberry.type
class FactRecordPayload:
    fact: FactType | None
    user_errors: list[UserError]


@strawberry.type
class FactWithdrawPayload:
    fact: FactType | None
    user_errors: list[UserError]


@strawberry.type
class FactMutations:
    @strawberry.mutation(description="Record a fact about student (id); the county's rules turn it into tasks.")
    async def fact_record(self, info: Info, id: strawberry.ID, input: FactRecordInput) -> FactRecordPayload:
        viewer = require_viewer(info)
        data = FactData(
            kind=input.kind,
            noted_on=input.noted_on,
            source=input.source,
            reason=input.reason,
            disability_kind=input.disability_kind,
            graded=input.graded,
            detail=input.detail,
        )
        try:
            fact = await record_fact(viewer, pk_of(id, "Student", "id"), data)
        except DomainError as error:
            return FactRecordPayload(fact=None, user_errors=[user_error(error)])
        await dispatch.nudge()
        return FactRecordPayload(fact=FactType.from_row(fact), user_errors=[])

    @strawberry.mutation(
        description="Withdraw a fact recorded by mistake: its open tasks are cancelled with the reason."
    )
    async def fact_withdraw(self, info: Info, id: strawberry.ID, input: FactWithdrawInput) -> FactWithdrawPayload:
        viewer = require_viewer(info)
        try:
            fact = await withdraw_fact(viewer, pk_of(id, "Fact", "id"), input.reason)
        except DomainError as error:
            return FactWithdrawPayload(fact=None, user_errors=[user_error(error)])
        return FactWithdrawPayload(fact=FactType.from_row(fact), user_errors=[])
