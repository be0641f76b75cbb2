"""Cases of suspected dropout (附件1) and what is recorded on them: absences, persuasion
records (附件2), the suspected-dropout report (附件3) with its routing, and the timeline."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.children import Student
from models.units import Unit
from models.users import User


class CaseKind(StrEnum):
    NOT_ENROLLED_GRADE1 = "NOT_ENROLLED_GRADE1"  # 起始年级适龄儿童未入一年级
    GRADE7_NOT_REPORTED = "GRADE7_NOT_REPORTED"  # 七年级未到指定学校报到
    ABSENT_WITHOUT_REASON = "ABSENT_WITHOUT_REASON"  # 存量年级无故不到校
    HIGH_SCHOOL_DROPOUT = "HIGH_SCHOOL_DROPOUT"  # 普高中途退学


class CaseStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class CaseStage(StrEnum):
    """How far the ladder has gone, in the order of 附件1."""

    OPENED = "OPENED"
    HEAD_TEACHER = "HEAD_TEACHER"  # day 1
    SCHOOL_VISIT = "SCHOOL_VISIT"  # day 2
    COLLECTIVE_VISIT = "COLLECTIVE_VISIT"  # day 3
    REPORT_DUE = "REPORT_DUE"  # collective visit failed
    REPORTED = "REPORTED"  # report filed with the three receivers
    VOCATIONAL_REFERRAL = "VOCATIONAL_REFERRAL"  # high-school branch
    RETURNED = "RETURNED"  # 销号


class Case(Model):
    id = fields.IntField(primary_key=True)
    student: fields.ForeignKeyRelation[Student] = fields.ForeignKeyField(
        "models.Student", related_name="cases", on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(CaseKind, max_length=32)
    status = fields.CharEnumField(CaseStatus, max_length=16, default=CaseStatus.OPEN)
    stage = fields.CharEnumField(CaseStage, max_length=32, default=CaseStage.OPENED)
    # "<student>:<kind>" while open, NULL once closed: at most one open case per student and kind.
    open_key = fields.CharField(max_length=64, null=True, unique=True)
    episode = fields.IntField(default=1)  # +1 on each reopening; ladder task keys include it
    school: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="school_cases", on_delete=fields.RESTRICT
    )
    township: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="township_cases", on_delete=fields.RESTRICT
    )
    absent_since = fields.DateField()  # first school day of the current absence
    escalation_level = fields.IntField(default=0)
    follow_up_name = fields.CharField(max_length=100, null=True)
    follow_up_phone = fields.CharField(max_length=32, null=True)
    returned_on = fields.DateField(null=True)
    close_reason = fields.TextField(null=True)
    close_evidence = fields.TextField(null=True)
    opened_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "dropout_case"
        indexes = (
            Index(fields=("status", "id"), name="case_status_idx"),
            Index(fields=("school_id", "status"), name="case_school_idx"),
            Index(fields=("school_id", "id"), name="case_school_id_idx"),
            Index(fields=("township_id", "id"), name="case_township_idx"),
            Index(fields=("student_id", "id"), name="case_student_idx"),
        )


class Absence(Model):
    id = fields.IntField(primary_key=True)
    student: fields.ForeignKeyRelation[Student] = fields.ForeignKeyField(
        "models.Student", related_name="absences", on_delete=fields.RESTRICT
    )
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="absences", on_delete=fields.RESTRICT
    )
    day = fields.DateField()
    note = fields.TextField(default="")
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="recorded_absences", null=True, on_delete=fields.SET_NULL
    )
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "absence"
        indexes = (Index(fields=("case_id", "day", "id"), name="absence_case_idx"),)
        unique_together = (("student", "day"),)


class CaseEvent(Model):
    """A line of the case's timeline."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="case_events", null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=48)
    detail = fields.TextField(default="")

    class Meta:
        table = "case_event"
        indexes = (Index(fields=("case_id", "id"), name="case_event_case_idx"),)
        ordering = ["id"]


class PersuasionKind(StrEnum):
    HEAD_TEACHER_CALL = "HEAD_TEACHER_CALL"  # day 1, phone or visit
    SCHOOL_HOME_VISIT = "SCHOOL_HOME_VISIT"  # day 2, leader with head teacher
    COLLECTIVE_HOME_VISIT = "COLLECTIVE_HOME_VISIT"  # day 3, with the village committee
    OTHER = "OTHER"


class PersuasionResult(StrEnum):
    RETURNING = "RETURNING"  # the family agreed; the child is expected back
    FAILED = "FAILED"  # 劝学未果
    PENDING = "PENDING"


class PersuasionRecord(Model):
    """劝学记录表 (附件2): one persuasion and what came of it."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="persuasion_records", on_delete=fields.CASCADE
    )
    episode = fields.IntField(default=1)
    kind = fields.CharEnumField(PersuasionKind, max_length=32)
    result = fields.CharEnumField(PersuasionResult, max_length=16)
    held_at = fields.DatetimeField()
    persuaders = fields.CharField(max_length=300)
    process = fields.TextField()
    family_situation = fields.TextField(default="")
    parents_attitude = fields.TextField(default="")
    student_attitude = fields.TextField(default="")
    school_opinion = fields.TextField(default="")
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="persuasion_records", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "persuasion_record"
        indexes = (Index(fields=("case_id", "held_at", "id"), name="persuasion_case_idx"),)
        ordering = ["held_at", "id"]


class DropoutReport(Model):
    """疑似辍学学生劝学返校报告单 (附件3), filed in three copies."""

    id = fields.IntField(primary_key=True)
    case: fields.ForeignKeyRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="reports", on_delete=fields.CASCADE
    )
    episode = fields.IntField(default=1)
    absent_from = fields.DateField()
    absent_to = fields.DateField()
    persuasion_count = fields.IntField()
    situation = fields.TextField()
    contact_person = fields.CharField(max_length=100)
    contact_phone = fields.CharField(max_length=32)
    filed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="filed_reports", null=True, on_delete=fields.SET_NULL
    )
    filed_at = fields.DatetimeField()

    class Meta:
        table = "dropout_report"
        indexes = (Index(fields=("case_id", "id"), name="report_case_idx"),)


class ReportRouting(Model):
    """One line of the report's routing table: a copy sent to one receiving unit."""

    id = fields.IntField(primary_key=True)
    report: fields.ForeignKeyRelation[DropoutReport] = fields.ForeignKeyField(
        "models.DropoutReport", related_name="routings", on_delete=fields.CASCADE
    )
    receiver: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="received_reports", on_delete=fields.RESTRICT
    )
    sent_at = fields.DatetimeField()
    sender_name = fields.CharField(max_length=100)
    received_at = fields.DatetimeField(null=True)
    receiver_name = fields.CharField(max_length=100, null=True)
    receiver_contact = fields.CharField(max_length=100, null=True)
    result = fields.TextField(null=True)  # 处理结果
    result_at = fields.DatetimeField(null=True)

    class Meta:
        table = "report_routing"
        unique_together = (("report", "receiver"),)
