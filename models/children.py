"""Children and their households: the people the whole programme is for.

Students are minors; citizen IDs, phones and addresses are sensitive personal information.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.units import Unit
from models.users import User

if TYPE_CHECKING:
    from models.registers import SchoolClass


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
    # 村民小组 or 小区 (models/population.py); 户号 and 户主 as the police register has them.
    village_group = fields.ForeignKeyField(
        "models.VillageGroup", related_name="households", null=True, on_delete=fields.SET_NULL
    )
    household_number = fields.CharField(max_length=40, null=True, unique=True)
    head_name = fields.CharField(max_length=100, default="")
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
    # The pupil's class (models/registers.py); head_teacher above is kept equal to its head teacher.
    school_class: fields.ForeignKeyNullableRelation[SchoolClass] = fields.ForeignKeyField(
        "models.SchoolClass", related_name="pupils", null=True, on_delete=fields.SET_NULL
    )
    # The roll status after the pupil's latest movement (RollStatus); the status on a day follows from them.
    roll_status = fields.CharField(max_length=16, default="ENROLLED", db_index=True)
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
            Index(fields=("school_class_id", "id"), name="student_class_idx"),
        )
