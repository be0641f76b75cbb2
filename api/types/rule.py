"""Rules and policy settings as the API shows them: why a task exists."""

from __future__ import annotations

import strawberry
from strawberry.scalars import JSON

from api.context import Info
from api.ids import global_id
from api.types.duty import DutyType
from api.types.node import Node
from models.rules import Rule, RuleKind

RuleKindEnum = strawberry.enum(RuleKind, name="RuleKind")


@strawberry.type(name="Rule", description="A rule of the county's policy file: a ladder step or a rule about a child.")
class RuleType(Node):
    code: str
    kind: RuleKindEnum  # type: ignore[valid-type]
    title: str
    clause: str = strawberry.field(description="Where the plan says it, e.g. 四(一)4 or 附件1 三(三).")
    spec: JSON = strawberry.field(description="The rule as the policy file writes it: steps, units, deadlines.")
    _row: strawberry.Private[Rule]

    @classmethod
    def from_row(cls, row: Rule) -> RuleType:
        return cls(
            id=global_id("Rule", row.id),
            code=row.code,
            kind=row.kind,
            title=row.title,
            clause=row.clause,
            spec=row.spec,
            _row=row,
        )

    @strawberry.field(description="The duty of the plan the rule carries out.")
    async def duty(self, info: Info) -> DutyType | None:
        if self._row.duty_id is None:
            return None
        row = await info.context.loaders.duty.load(self._row.duty_id)
        return DutyType.from_row(row) if row else None
