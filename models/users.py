"""People who sign in, and their bearer tokens (stored hashed)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.units import Unit


class UserRole(StrEnum):
    LIAISON = "LIAISON"  # a unit's 联络员: works the unit's task queue
    UNIT_LEADER = "UNIT_LEADER"  # the head of a unit (局长, 镇长 ...)
    HEAD_TEACHER = "HEAD_TEACHER"  # 班主任
    SCHOOL_OFFICE = "SCHOOL_OFFICE"  # 教务处
    SCHOOL_LEADER = "SCHOOL_LEADER"  # 分管中层领导 / 教学副校长
    PRINCIPAL = "PRINCIPAL"  # 校长 (园长)
    OFFICE = "OFFICE"  # the leading-group office: sees and steers every task
    ADMIN = "ADMIN"


class User(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="users", on_delete=fields.RESTRICT
    )
    role = fields.CharEnumField(UserRole, max_length=16)
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "app_user"

    @property
    def sees_every_unit(self) -> bool:
        return self.role in (UserRole.OFFICE, UserRole.ADMIN)


class Token(Model):
    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    prefix = fields.CharField(max_length=12)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "token"
