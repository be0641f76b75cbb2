"""The leading-group office's records: accountability measures (四(一)1, 五(一)) and the reports the
product writes (普九月报, the quarterly 通报, the supervision office's evaluation of each township)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.tasks import Task
from models.units import Unit
from models.users import User


class MeasureKind(StrEnum):
    INTERVIEW = "INTERVIEW"  # 约谈
    NOTICE = "NOTICE"  # 通报
    RECTIFICATION = "RECTIFICATION"  # 限期整改: becomes a task for the unit


class AccountabilityMeasure(Model):
    """One measure the office took against a unit, with what caused it."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(MeasureKind, max_length=16)
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="accountability_measures", on_delete=fields.RESTRICT
    )
    school_year = fields.CharField(max_length=9)
    summary = fields.TextField()
    decided_on = fields.DateField()
    deadline = fields.DateField(null=True)  # 限期整改 only
    # The rectification task (限期整改), which escalates like any other task.
    task: fields.ForeignKeyNullableRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="rectification_of", null=True, on_delete=fields.SET_NULL
    )
    # Failed indicators that caused it: [{"indicator", "schoolYear", "value", "target"}].
    indicators = fields.JSONField(default=list)
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="accountability_measures", null=True, on_delete=fields.SET_NULL
    )
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "accountability_measure"
        indexes = (Index(fields=("unit_id", "school_year", "id"), name="measure_unit_year_idx"),)


class AccountabilityCause(Model):
    """An overdue (or late) task that caused a measure."""

    id = fields.IntField(primary_key=True)
    measure: fields.ForeignKeyRelation[AccountabilityMeasure] = fields.ForeignKeyField(
        "models.AccountabilityMeasure", related_name="causes", on_delete=fields.CASCADE
    )
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="accountability_causes", on_delete=fields.CASCADE
    )

    class Meta:
        table = "accountability_cause"
        unique_together = (("measure", "task"),)


class ReportKind(StrEnum):
    MONTHLY = "MONTHLY"  # 普九月报 of a school (四(二)6)
    QUARTERLY = "QUARTERLY"  # the education bureau's 通报 on movement and dropout (四(二)6)
    EVALUATION = "EVALUATION"  # the supervision office's evaluation of a township (五(一))


class ReportStatus(StrEnum):
    GENERATED = "GENERATED"
    FILED = "FILED"


class OfficeReport(Model):
    """A report the worker compiled for a calendar task: filing it completes that task."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ReportKind, max_length=16)
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="office_reports", on_delete=fields.RESTRICT
    )  # who files it: the school, the education bureau, the supervision office
    subject: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="evaluations", null=True, on_delete=fields.RESTRICT
    )  # the township evaluated
    period = fields.CharField(max_length=16)  # 2026-09, 2026-Q3, 2026-2027
    period_start = fields.DateField()
    period_end = fields.DateField()
    title = fields.CharField(max_length=200)
    content = fields.JSONField(default=dict)
    status = fields.CharEnumField(ReportStatus, max_length=16, default=ReportStatus.GENERATED)
    task: fields.ForeignKeyNullableRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="office_reports", null=True, on_delete=fields.SET_NULL
    )
    scores = fields.JSONField(default=dict)  # the supervision office's own scores, by criterion
    remarks = fields.TextField(default="")
    unique_key = fields.CharField(max_length=120, unique=True)
    generated_at = fields.DatetimeField()
    filed_at = fields.DatetimeField(null=True)
    filed_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="filed_office_reports", null=True, on_delete=fields.SET_NULL
    )
    version = fields.IntField(default=1)

    class Meta:
        table = "office_report"
        indexes = (Index(fields=("kind", "period", "id"), name="office_report_period_idx"),)
