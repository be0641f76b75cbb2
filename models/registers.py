"""The school side of the county's registers: classes (班级) and their head teachers, the school roll's
movements (学籍异动, 四(二)8), the graduate handover (四(二)5) and the dropout ledger (四(二)7).

A pupil's roll status on any day follows from their movements; `Student.head_teacher_id` is kept equal
to the head teacher of the pupil's class, so the one visibility rule (tasks/access.py) keeps working.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.cases import Case
from models.children import Student
from models.units import Unit
from models.users import User


class SchoolClass(Model):
    """一个班级: a class of a school in a grade, with its head teacher (班主任)."""

    id = fields.IntField(primary_key=True)
    school: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="classes", on_delete=fields.RESTRICT
    )
    school_year = fields.CharField(max_length=9, default="")  # "2026-2027"; "" when the roll does not say
    grade = fields.IntField()  # 1-9 compulsory, 10-12 high school; 0 for pre-school
    name = fields.CharField(max_length=32)  # as the school writes it: "1班", "(2)班"
    head_teacher: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="classes_led", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "school_class"
        unique_together = (("school", "school_year", "grade", "name"),)
        ordering = ["grade", "name", "id"]


class RollStatus(StrEnum):
    """Where a pupil stands on the roll on a given day."""

    ENROLLED = "ENROLLED"  # 在籍在校
    TRANSFERRING = "TRANSFERRING"  # 转出, arrival not yet confirmed by the receiving school in the county
    TRANSFERRED_OUT = "TRANSFERRED_OUT"  # 已转出 (out of the county, or arrival confirmed)
    SUSPENDED = "SUSPENDED"  # 休学
    GRADUATED = "GRADUATED"  # 毕业 (not yet on a next school's roll)
    LEFT = "LEFT"  # 死亡, 出国（境）, other reasons


class MovementKind(StrEnum):
    TRANSFER_OUT = "TRANSFER_OUT"  # 转出
    TRANSFER_IN = "TRANSFER_IN"  # 转入
    SUSPEND = "SUSPEND"  # 休学
    RESUME = "RESUME"  # 复学
    PROMOTE = "PROMOTE"  # 升学 (to the next school, e.g. primary → designated middle school)
    GRADUATE = "GRADUATE"  # 毕业
    LEAVE = "LEAVE"  # 死亡, 出国（境）, other


class TransferScope(StrEnum):
    IN_COUNTY = "IN_COUNTY"  # to a named school of the county
    OTHER_COUNTY = "OTHER_COUNTY"  # to another county of the province
    OTHER_PROVINCE = "OTHER_PROVINCE"


class LeaveReason(StrEnum):
    DEATH = "DEATH"  # 死亡
    EMIGRATION = "EMIGRATION"  # 出国（境）
    OTHER = "OTHER"


class RollMovement(Model):
    """One dated change of a pupil's roll (学籍异动), with its evidence and who recorded it."""

    id = fields.IntField(primary_key=True)
    student: fields.ForeignKeyRelation[Student] = fields.ForeignKeyField(
        "models.Student", related_name="roll_movements", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(MovementKind, max_length=16)
    day = fields.DateField()
    # The school whose roll the movement is on: the sending school of a 转出, the receiving one of a 转入.
    school: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="roll_movements", on_delete=fields.RESTRICT
    )
    scope = fields.CharEnumField(TransferScope, max_length=16, null=True)
    # 转出 in the county / 升学: the receiving school; 转入: the school it came from, when in the county.
    other_school: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="roll_movements_other", null=True, on_delete=fields.RESTRICT
    )
    other_place = fields.CharField(max_length=200, default="")  # a school or place outside the county
    leave_reason = fields.CharEnumField(LeaveReason, max_length=16, null=True)
    expected_return = fields.DateField(null=True)  # 休学
    grade = fields.IntField(null=True)  # the grade after the movement (转入, 复学, 升学)
    evidence = fields.TextField()
    note = fields.TextField(default="")
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="recorded_movements", null=True, on_delete=fields.SET_NULL
    )
    recorded_by_name = fields.CharField(max_length=100, default="")
    recorded_at = fields.DatetimeField()
    # A 转出 to a school of the county: the receiving school confirms the arrival.
    arrival_confirmed_at = fields.DatetimeField(null=True)
    arrival_confirmed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="confirmed_arrivals", null=True, on_delete=fields.SET_NULL
    )
    arrival_case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="unconfirmed_transfers", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "roll_movement"
        ordering = ["day", "id"]
        indexes = (
            Index(fields=("student_id", "day"), name="movement_student_idx"),
            Index(fields=("other_school_id", "day", "id"), name="movement_other_school_idx"),
        )


class GraduateHandover(Model):
    """四(二)5: a primary school's graduates of a year, handed on a roster to the designated middle school."""

    id = fields.IntField(primary_key=True)
    primary_school: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="handovers_sent", on_delete=fields.RESTRICT
    )
    middle_school: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="handovers_received", on_delete=fields.RESTRICT
    )
    school_year = fields.CharField(max_length=9)  # the year the graduates start grade 7: "2026-2027"
    term_start = fields.DateField()  # the middle school's reporting day
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="handovers_made", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    acknowledged_at = fields.DatetimeField(null=True)  # 签字交接
    acknowledged_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="handovers_acknowledged", null=True, on_delete=fields.SET_NULL
    )
    signed_by_name = fields.CharField(max_length=100, default="")

    class Meta:
        table = "graduate_handover"
        unique_together = (("primary_school", "middle_school", "school_year"),)
        indexes = (Index(fields=("middle_school_id", "id"), name="handover_middle_school_idx"),)


class HandoverLine(Model):
    """One graduate on the roster, and the day the middle school registered them."""

    id = fields.IntField(primary_key=True)
    handover: fields.ForeignKeyRelation[GraduateHandover] = fields.ForeignKeyField(
        "models.GraduateHandover", related_name="lines", on_delete=fields.CASCADE
    )
    student: fields.ForeignKeyRelation[Student] = fields.ForeignKeyField(
        "models.Student", related_name="handover_lines", on_delete=fields.RESTRICT
    )
    registered_on = fields.DateField(null=True)
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="handover_lines", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "handover_line"
        unique_together = (("handover", "student"),)
        ordering = ["id"]


class LedgerMark(StrEnum):
    CONFIRMED_DROPOUT = "CONFIRMED_DROPOUT"  # 确认辍学
    UNREACHABLE = "UNREACHABLE"  # 联系不上
    PERSUADED_BACK = "PERSUADED_BACK"  # 劝返复学


class LedgerEntry(Model):
    """A line of the dropout ledger (辍学学生工作台账, 四(二)7), on a case, with its evidence."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="ledger_entries", on_delete=fields.RESTRICT
    )
    mark = fields.CharEnumField(LedgerMark, max_length=24)
    day = fields.DateField()
    evidence = fields.TextField()
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="ledger_entries", null=True, on_delete=fields.SET_NULL
    )
    recorded_by_name = fields.CharField(max_length=100, default="")
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "ledger_entry"
        ordering = ["id"]
        indexes = (Index(fields=("case_id", "id"), name="ledger_case_idx"),)
