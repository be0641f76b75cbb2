"""Special-group facts and events about a child or household (四(一)4, 四(一)5, 四(一)7).

Each fact has a date, a source and a reason; recorded by mistake, it is withdrawn (never
deleted), and the tasks it created that are not done are cancelled with that reason.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.children import Household, Student
from models.users import User


class FactKind(StrEnum):
    DISABILITY = "DISABILITY"  # 残疾 (details: disability_kind, graded)
    FAMILY_IN_DIFFICULTY = "FAMILY_IN_DIFFICULTY"  # 家庭经济困难 / 低保
    LEFT_BEHIND = "LEFT_BEHIND"  # 留守儿童
    PRISONER_PARENT = "PRISONER_PARENT"  # 服刑人员未成年子女
    DISABLED_PARENT = "DISABLED_PARENT"  # 残疾人子女
    MIGRANT = "MIGRANT"  # 随迁子女
    ORPHAN = "ORPHAN"  # 孤儿
    GUARDIAN_REFUSES = "GUARDIAN_REFUSES"  # 监护人拒不送学
    CHILD_WORKING = "CHILD_WORKING"  # 发现务工 (details: employer)
    FAMILY_MOVED_AWAY = "FAMILY_MOVED_AWAY"  # 举家外出 (details: destination)


class DisabilityKind(StrEnum):
    VISUAL = "VISUAL"
    HEARING = "HEARING"
    INTELLECTUAL = "INTELLECTUAL"
    OTHER = "OTHER"


class FactStatus(StrEnum):
    ACTIVE = "ACTIVE"
    WITHDRAWN = "WITHDRAWN"


class Fact(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(FactKind, max_length=32)
    student: fields.ForeignKeyRelation[Student] = fields.ForeignKeyField(
        "models.Student", related_name="facts", on_delete=fields.RESTRICT
    )
    household: fields.ForeignKeyRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="facts", on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(FactStatus, max_length=16, default=FactStatus.ACTIVE)
    noted_on = fields.DateField()
    source = fields.CharField(max_length=200)
    reason = fields.TextField()
    disability_kind = fields.CharEnumField(DisabilityKind, max_length=16, null=True)
    graded = fields.BooleanField(null=True)
    detail = fields.CharField(max_length=300, default="")  # employer, destination ...
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="recorded_facts", null=True, on_delete=fields.SET_NULL
    )
    recorded_at = fields.DatetimeField()
    withdrawn_at = fields.DatetimeField(null=True)
    withdrawn_reason = fields.TextField(null=True)

    class Meta:
        table = "fact"
        indexes = (
            Index(fields=("status", "id"), name="fact_status_idx"),
            Index(fields=("student_id", "id"), name="fact_student_idx"),
        )
