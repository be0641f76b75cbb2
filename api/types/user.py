"""People who sign in."""

from __future__ import annotations

import strawberry

from api.context import Info
from api.ids import global_id
from api.types.enums import UserRoleEnum
from api.types.node import Node
from api.types.unit import UnitType
from models.users import User


@strawberry.type(name="User", description="Someone who signs in: a unit's liaison, the office, an administrator.")
class UserType(Node):
    name: str
    role: UserRoleEnum  # type: ignore[valid-type]
    _unit_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: User) -> UserType:
        return cls(id=global_id("User", row.id), name=row.name, role=row.role, _unit_id=row.unit_id)

    @strawberry.field
    async def unit(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._unit_id))
