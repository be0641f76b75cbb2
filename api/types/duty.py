"""The duty register as the API shows it."""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.context import Info
from api.ids import global_id
from api.types.enums import PartyRoleEnum, TriggerKindEnum, UnitKindEnum
from api.types.node import Node
from models.duties import Duty, PartyRole


@strawberry.type
class DutyTrigger:
    kind: TriggerKindEnum  # type: ignore[valid-type]
    text: str


@strawberry.type
class DeadlineRule:
    rule: str = strawberry.field(
        description="none | annual MM-DD | monthly D | quarterly +Nd | term-start +Nd | after-event +Nd"
    )
    text: str
    is_default: bool = strawberry.field(
        description="True where the plan sets no deadline and this is the county's setting."
    )


@strawberry.type(name="DutyParty", description="An owner or cooperator of a duty: one unit, or every unit of a kind.")
class DutyPartyType:
    role: PartyRoleEnum  # type: ignore[valid-type]
    unit_kind: UnitKindEnum | None  # type: ignore[valid-type]
    _unit_id: strawberry.Private[int | None]

    @strawberry.field
    async def unit(self, info: Info) -> Annotated[UnitType, strawberry.lazy("api.types.unit")] | None:  # noqa: F821
        from api.types.unit import UnitType

        if self._unit_id is None:
            return None
        return UnitType.from_row(await info.context.loaders.unit.load(self._unit_id))


@strawberry.type(name="Duty", description="A duty of the plan: clause, owners, cooperators, trigger and deadline.")
class DutyType(Node):
    code: str
    clause: str = strawberry.field(description="Where the plan says it, e.g. 四(一)4.")
    title: str
    text: str
    trigger: DutyTrigger
    deadline: DeadlineRule
    _pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Duty) -> DutyType:
        return cls(
            id=global_id("Duty", row.id),
            code=row.code,
            clause=row.clause,
            title=row.title,
            text=row.text,
            trigger=DutyTrigger(kind=row.trigger_kind, text=row.trigger_text),
            deadline=DeadlineRule(rule=row.deadline_rule, text=row.deadline_text, is_default=row.deadline_is_default),
            _pk=row.id,
        )

    async def _parties(self, info: Info, role: PartyRole) -> list[DutyPartyType]:
        rows = await info.context.loaders.duty_parties.load(self._pk)
        return [DutyPartyType(role=p.role, unit_kind=p.unit_kind, _unit_id=p.unit_id) for p in rows if p.role == role]

    @strawberry.field(description="Who answers for the duty.")
    async def owners(self, info: Info) -> list[DutyPartyType]:
        return await self._parties(info, PartyRole.OWNER)

    @strawberry.field(description="Who works with the owners.")
    async def cooperators(self, info: Info) -> list[DutyPartyType]:
        return await self._parties(info, PartyRole.COOPERATOR)
