"""Units of the county's organisation, and the people in them."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import strawberry

from api.context import Info, require_viewer
from api.ids import global_id
from api.types.connection import Connection, page_size, paged
from api.types.enums import MemberRoleEnum, SchoolLevelEnum, TaskOrderEnum, UnitKindEnum
from api.types.nested_lists import (
    PERSON_MEMBERSHIPS,
    UNIT_CHILDREN,
    UNIT_HANDOVERS,
    UNIT_INCOMING_TRANSFERS,
    UNIT_MEMBERS,
    nested_page,
    replaced_by,
)
from api.types.node import Node
from models.units import Membership, Person, Unit
from models.users import User
from tasks.duties.register import duties_page
from tasks.queue.lists import TaskOrder

if TYPE_CHECKING:
    from api.types.duty import DutyType
    from api.types.registers import GraduateHandoverType, RollMovementType, SchoolClassType
    from api.types.task import TaskFilter, TaskType


@strawberry.type(name="Person", description="A person named in the plan (section 三) or a demo person.")
class PersonType(Node):
    name: str
    title: str
    is_demo: bool
    _pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: Person) -> PersonType:
        return cls(id=global_id("Person", row.id), name=row.name, title=row.title, is_demo=row.is_demo, _pk=row.id)

    @strawberry.field(deprecation_reason=replaced_by("membershipsConnection"))
    async def memberships(self, info: Info) -> list[MemberType]:
        rows = await info.context.loaders.person_memberships.load(self._pk)
        return [MemberType.from_row(m) for m in rows]

    @strawberry.field(description="The person's roles in the county's units, in each unit's order.")
    async def memberships_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[MemberType]:
        return await nested_page(PERSON_MEMBERSHIPS, require_viewer(info), self._pk, first, after, MemberType.from_row)


@strawberry.type(name="Member", description="A person's role in a unit.")
class MemberType:
    role: MemberRoleEnum  # type: ignore[valid-type]
    _row: strawberry.Private[Membership]

    @classmethod
    def from_row(cls, row: Membership) -> MemberType:
        return cls(role=row.role, _row=row)

    @strawberry.field
    async def person(self, info: Info) -> PersonType:
        return PersonType.from_row(await info.context.loaders.person.load(self._row.person_id))

    @strawberry.field
    async def unit(self, info: Info) -> UnitType:
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.unit_id))


@strawberry.type(name="Unit", description="A unit of the county: department, township, village, school ...")
class UnitType(Node):
    code: str = strawberry.field(description="Stable, readable code (README: Unit codes).")
    name: str
    kind: UnitKindEnum  # type: ignore[valid-type]
    school_level: SchoolLevelEnum | None  # type: ignore[valid-type]
    is_demo: bool = strawberry.field(description="True for the demo villages and schools; the plan names none.")
    _row: strawberry.Private[Unit]

    @classmethod
    def from_row(cls, row: Unit) -> UnitType:
        return cls(
            id=global_id("Unit", row.id),
            code=row.code,
            name=row.name,
            kind=row.kind,
            school_level=row.school_level,
            is_demo=row.is_demo,
            _row=row,
        )

    @classmethod
    def shown(cls, row: Unit, info: Info) -> UnitType:
        """The request's one UnitType of this unit: a page of tasks names the same few owners many times."""
        made = info.context.shown.get((cls, row.id))
        if made is None:
            made = info.context.shown[(cls, row.id)] = cls.from_row(row)
        return made  # type: ignore[return-value]

    @strawberry.field
    async def parent(self, info: Info) -> UnitType | None:
        if self._row.parent_id is None:
            return None
        return UnitType.from_row(await info.context.loaders.unit.load(self._row.parent_id))

    @strawberry.field(deprecation_reason=replaced_by("childrenConnection"))
    async def children(self, info: Info) -> list[UnitType]:
        return [UnitType.from_row(u) for u in await info.context.loaders.unit_children.load(self._row.id)]

    @strawberry.field(description="The units under this one, in the county's order.")
    async def children_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[UnitType]:
        return await nested_page(UNIT_CHILDREN, require_viewer(info), self._row.id, first, after, UnitType.from_row)

    @strawberry.field(deprecation_reason=replaced_by("membersConnection"))
    async def members(self, info: Info) -> list[MemberType]:
        return [MemberType.from_row(m) for m in await info.context.loaders.unit_members.load(self._row.id)]

    @strawberry.field(description="The unit's people and their roles, in the unit's order.")
    async def members_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[MemberType]:
        return await nested_page(UNIT_MEMBERS, require_viewer(info), self._row.id, first, after, MemberType.from_row)

    @strawberry.field(description="Duties this unit owns, by name or as every unit of its kind.")
    async def duties(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[DutyType, strawberry.lazy("api.types.duty")]]:
        from api.types.duty import DutyType

        size = page_size(first)
        return await paged(lambda: duties_page(self._row, size, after), DutyType.from_row)

    @strawberry.field(description="This unit's tasks that the viewer may see.")
    async def tasks(
        self,
        info: Info,
        filter: Annotated[TaskFilter, strawberry.lazy("api.types.task")] | None = None,
        order_by: TaskOrderEnum = TaskOrder.DUE_SOONEST,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[TaskType, strawberry.lazy("api.types.task")]]:
        from api.types.task import criteria_of, task_connection

        criteria = replace(criteria_of(filter), assignee_unit_id=self._row.id)
        return await task_connection(require_viewer(info), criteria, order_by, first, after)

    @strawberry.field(
        description="A school's classes (班级) the viewer may see: its staff, a head teacher only their own."
    )
    async def classes(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[SchoolClassType, strawberry.lazy("api.types.registers")]]:
        from api.types.registers import classes_of

        return await classes_of(require_viewer(info), self._row.id, first, after)

    @strawberry.field(
        description="四(二)5: the graduate handover rosters this school sends or receives, newest first.",
        deprecation_reason=replaced_by("handoversConnection"),
    )
    async def handovers(
        self, info: Info
    ) -> list[Annotated[GraduateHandoverType, strawberry.lazy("api.types.registers")]]:
        from tortoise.expressions import Q

        from api.types.registers import GraduateHandoverType
        from models.registers import GraduateHandover
        from tasks.access import visible

        ours = Q(primary_school_id=self._row.id) | Q(middle_school_id=self._row.id)
        rows = await GraduateHandover.filter(ours, visible(GraduateHandover, require_viewer(info))).order_by("-id")
        return [GraduateHandoverType.from_row(r) for r in rows]

    @strawberry.field(
        description="四(二)5: the graduate handover rosters this school sends or receives that the viewer may see, "
        "newest first."
    )
    async def handovers_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[GraduateHandoverType, strawberry.lazy("api.types.registers")]]:
        from api.types.registers import GraduateHandoverType

        viewer = require_viewer(info)
        return await nested_page(UNIT_HANDOVERS, viewer, self._row.id, first, after, GraduateHandoverType.from_row)

    @strawberry.field(
        description="转入待确认: transfers to this school from another school of the county whose arrival it has not "
        "confirmed yet (transferArrivalConfirm); for the school and the office.",
        deprecation_reason=replaced_by("incomingTransfersConnection"),
    )
    async def incoming_transfers(
        self, info: Info
    ) -> list[Annotated[RollMovementType, strawberry.lazy("api.types.registers")]]:
        from api.types.registers import RollMovementType
        from models.registers import MovementKind, RollMovement, TransferScope

        if not confirms_arrivals(require_viewer(info), self._row.id):
            return []
        rows = await RollMovement.filter(
            kind=MovementKind.TRANSFER_OUT,
            scope=TransferScope.IN_COUNTY,
            other_school_id=self._row.id,
            arrival_confirmed_at=None,
        ).order_by("day", "id")
        return [RollMovementType.from_row(r) for r in rows]

    @strawberry.field(
        description="转入待确认: transfers to this school from another school of the county whose arrival it has not "
        "confirmed yet (transferArrivalConfirm), oldest day first; for the school and the office, empty for others."
    )
    async def incoming_transfers_connection(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[RollMovementType, strawberry.lazy("api.types.registers")]]:
        from api.types.registers import RollMovementType

        viewer = require_viewer(info)
        school_id = self._row.id if confirms_arrivals(viewer, self._row.id) else 0  # no unit has id 0: no rows
        return await nested_page(UNIT_INCOMING_TRANSFERS, viewer, school_id, first, after, RollMovementType.from_row)


def confirms_arrivals(viewer: User, school_id: int) -> bool:
    """The school a pupil moves to confirms the arrival; the offices that see every unit follow it."""
    return viewer.sees_every_unit or viewer.unit_id == school_id
