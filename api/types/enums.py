"""The model enums, published in the schema under the same names."""

from __future__ import annotations

import strawberry

from models.duties import PartyRole, TriggerKind
from models.tasks import TaskKind, TaskStatus
from models.units import MemberRole, SchoolLevel, UnitKind
from models.users import UserRole
from tasks.queue.lists import TaskOrder

UnitKindEnum = strawberry.enum(UnitKind, name="UnitKind")
SchoolLevelEnum = strawberry.enum(SchoolLevel, name="SchoolLevel")
MemberRoleEnum = strawberry.enum(MemberRole, name="MemberRole")
TriggerKindEnum = strawberry.enum(TriggerKind, name="TriggerKind")
PartyRoleEnum = strawberry.enum(PartyRole, name="PartyRole")
TaskStatusEnum = strawberry.enum(TaskStatus, name="TaskStatus")
TaskKindEnum = strawberry.enum(TaskKind, name="TaskKind")
UserRoleEnum = strawberry.enum(UserRole, name="UserRole")
TaskOrderEnum = strawberry.enum(TaskOrder, name="TaskOrder")
