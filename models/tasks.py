"""Tasks: a piece of work with an owner unit, a deadline and a history."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.cases import Case
from models.duties import Duty
from models.facts import Fact
from models.rules import Rule
from models.units import Unit
from models.users import User, UserRole


class TaskStatus(StrEnum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)


class TaskKind(StrEnum):
    MANUAL = "MANUAL"  # created by hand (manage task create)
    DUTY = "DUTY"  # from the duty calendar
    CASE_STEP = "CASE_STEP"  # a step of the suspected-dropout ladder
    RULE = "RULE"  # a cross-department rule about a child
    RECTIFICATION = "RECTIFICATION"  # 限期整改 ordered by the leading-group office


class Task(Model):
    id = fields.IntField(primary_key=True)
    title = fields.CharField(max_length=300)
    description = fields.TextField(default="")
    kind = fields.CharEnumField(TaskKind, max_length=16, default=TaskKind.MANUAL)
    status = fields.CharEnumField(TaskStatus, max_length=16, default=TaskStatus.OPEN)
    due_at = fields.DatetimeField()
    assignee_unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="tasks", on_delete=fields.RESTRICT
    )
    assignee: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="claimed_tasks", null=True, on_delete=fields.SET_NULL
    )
    duty: fields.ForeignKeyNullableRelation[Duty] = fields.ForeignKeyField(
        "models.Duty", related_name="tasks", null=True, on_delete=fields.SET_NULL
    )
    # Who inside the owner unit should act (the head teacher, 教务处, the principal), if it matters.
    assignee_role = fields.CharEnumField(UserRole, max_length=16, null=True)
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="tasks", null=True, on_delete=fields.CASCADE
    )
    rule: fields.ForeignKeyNullableRelation[Rule] = fields.ForeignKeyField(
        "models.Rule", related_name="tasks", null=True, on_delete=fields.SET_NULL
    )
    fact: fields.ForeignKeyNullableRelation[Fact] = fields.ForeignKeyField(
        "models.Fact", related_name="tasks", null=True, on_delete=fields.CASCADE
    )
    # The outcomes a completion must choose from, when the rule fixes them (e.g. the five placements).
    outcome_options = fields.JSONField(null=True)
    escalation_level = fields.IntField(default=0)  # 0; 1 = the owner unit's leader; 2 = the office
    outcome = fields.TextField(null=True)
    # (rule, subject, period): a generated task exists once, however often its job runs.
    unique_key = fields.CharField(max_length=200, null=True, unique=True)
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    completed_at = fields.DatetimeField(null=True)  # when it was done (DONE); the office's figures count from it

    class Meta:
        table = "task"
        indexes = (
            Index(fields=("assignee_unit_id", "status", "due_at", "id"), name="task_queue_idx"),
            Index(fields=("status", "due_at", "id"), name="task_due_idx"),
            Index(fields=("escalation_level", "status"), name="task_escalation_idx"),
            Index(fields=("case_id", "due_at", "id"), name="task_case_idx"),
            Index(fields=("fact_id", "due_at", "id"), name="task_fact_idx"),
            Index(fields=("duty_id", "due_at", "id"), name="task_duty_idx"),
            Index(fields=("assignee_id", "due_at", "id"), name="task_assignee_idx"),
            Index(fields=("due_at", "id"), name="task_due_any_idx"),
        )


class TaskCooperator(Model):
    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="cooperators", on_delete=fields.CASCADE
    )
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="cooperations", on_delete=fields.CASCADE
    )
    # A cooperator's own part (each village of a census, each school of a duty): done, and what it did.
    part_done_at = fields.DatetimeField(null=True)
    part_note = fields.TextField(null=True)

    class Meta:
        table = "task_cooperator"
        unique_together = (("task", "unit"),)
        indexes = (Index(fields=("unit_id", "task_id"), name="task_cooperator_unit_idx"),)


class TaskEvent(Model):
    """One line of a task's history: who did what, when, and what changed."""

    id = fields.IntField(primary_key=True)
    task: fields.ForeignKeyRelation[Task] = fields.ForeignKeyField(
        "models.Task", related_name="events", on_delete=fields.CASCADE
    )
    at = fields.DatetimeField()
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="task_events", null=True, on_delete=fields.SET_NULL
    )
    action = fields.CharField(max_length=32)
    comment = fields.TextField(null=True)
    changes = fields.JSONField(default=dict)  # {field: [before, after]}

    class Meta:
        table = "task_event"
        indexes = (Index(fields=("task_id", "id"), name="task_event_task_idx"),)
        ordering = ["id"]
