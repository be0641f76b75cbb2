"""The county's organisation: units, the people in them and their roles."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class UnitKind(StrEnum):
    LEADING_GROUP = "LEADING_GROUP"
    LEADING_GROUP_OFFICE = "LEADING_GROUP_OFFICE"
    COUNTY_GOVERNMENT = "COUNTY_GOVERNMENT"
    DEPARTMENT = "DEPARTMENT"
    SUB_OFFICE = "SUB_OFFICE"
    TOWNSHIP = "TOWNSHIP"
    VILLAGE = "VILLAGE"
    SCHOOL = "SCHOOL"


class SchoolLevel(StrEnum):
    KINDERGARTEN = "KINDERGARTEN"
    PRIMARY = "PRIMARY"
    JUNIOR_MIDDLE = "JUNIOR_MIDDLE"
    NINE_YEAR = "NINE_YEAR"
    HIGH_SCHOOL = "HIGH_SCHOOL"
    VOCATIONAL = "VOCATIONAL"


class MemberRole(StrEnum):
    LEADER = "LEADER"  # 组长
    DEPUTY_LEADER = "DEPUTY_LEADER"  # 副组长
    MEMBER = "MEMBER"  # 成员
    OFFICE_DIRECTOR = "OFFICE_DIRECTOR"  # 办公室主任
    OFFICE_DEPUTY_DIRECTOR = "OFFICE_DEPUTY_DIRECTOR"  # 办公室副主任
    HEAD = "HEAD"  # head of a unit (局长, 镇长, 理事长, 主席 ...)
    LIAISON = "LIAISON"  # 联络员


class Unit(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharEnumField(UnitKind, max_length=32, db_index=True)
    parent: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    school_level = fields.CharEnumField(SchoolLevel, max_length=32, null=True)
    is_demo = fields.BooleanField(default=False)
    # A primary school's graduates go to this junior middle school (四(二)5).
    designated_middle_school: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="feeder_schools", null=True, on_delete=fields.SET_NULL
    )
    position = fields.IntField(default=0)

    class Meta:
        table = "unit"
        indexes = (Index(fields=("parent_id", "position", "id"), name="unit_parent_idx"),)
        ordering = ["position", "id"]


class Person(Model):
    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    title = fields.CharField(max_length=200)
    is_demo = fields.BooleanField(default=False)

    class Meta:
        table = "person"


class Membership(Model):
    """A person's role in a unit. One person may hold several (马明艳: 副组长 and office 主任)."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="memberships", on_delete=fields.CASCADE
    )
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="memberships", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(MemberRole, max_length=32)
    position = fields.IntField(default=0)

    class Meta:
        table = "membership"
        indexes = (Index(fields=("unit_id", "position", "id"), name="membership_unit_idx"),)
        unique_together = (("person", "unit", "role"),)
        ordering = ["position", "id"]
