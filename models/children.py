"""Children and their households: the people the whole programme is for.

Students are minors; citizen IDs, phones and addresses are sensitive personal information.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.units import Unit
from models.users import User


class Gender(StrEnum):
    MALE = "MALE"
    FEMALE = "FEMALE"


class GuardianRelation(StrEnum):
    FATHER = "FATHER"
    MOTHER = "MOTHER"
    OTHER = "OTHER"


class Household(Model):
    """一户: the household of registration (户籍地) and where the family lives."""

    id = fields.IntField(primary_key=True)
    township: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="registered_households", on_delete=fields.RESTRICT
    )
    village: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="village_households", null=True, on_delete=fields.RESTRICT
    )
    registration_place = fields.CharField(max_length=200, default="")
    home_address = fields.CharField(max_length=300, default="")
    family_situation = fields.TextField(default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "household"
        indexes = (
            Index(fields=("township_id", "id"), name="household_township_idx"),
            Index(fields=("village_id", "id"), name="household_village_idx"),
        )


class Guardian(Model):
    id = fields.IntField(primary_key=True)
    household: fields.ForeignKeyRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="guardians", on_delete=fields.CASCADE
    )
    relation = fields.CharEnumField(GuardianRelation, max_length=16)
    name = fields.CharField(max_length=100)
    phone = fields.CharField(max_length=32, default="")
    occupation = fields.CharField(max_length=100, default="")

    class Meta:
        table = "guardian"
        indexes = (Index(fields=("household_id", "id"), name="guardian_household_idx"),)


class Student(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    gender = fields.CharEnumField(Gender, max_length=8)
    birth_date = fields.DateField()
    citizen_id = fields.CharField(max_length=18, unique=True)
    student_number = fields.CharField(max_length=32, null=True, unique=True)  # 全国学籍号
    school: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="students", on_delete=fields.RESTRICT
    )
    grade = fields.IntField()  # 1-9 compulsory, 10-12 high school; 0 before grade 1
    class_name = fields.CharField(max_length=32, default="")
    head_teacher: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="head_teacher_of", null=True, on_delete=fields.SET_NULL
    )
    head_teacher_name = fields.CharField(max_length=100, default="")
    household: fields.ForeignKeyRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="students", on_delete=fields.RESTRICT
    )
    is_demo = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "student"
        indexes = (
            Index(fields=("school_id", "id"), name="student_school_idx"),
            Index(fields=("household_id", "id"), name="student_household_idx"),
            Index(fields=("head_teacher_id", "id"), name="student_head_teacher_idx"),
        )
