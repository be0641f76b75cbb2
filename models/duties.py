"""The duty register: what the plan asks of each unit (四, 五)."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.units import Unit, UnitKind


class TriggerKind(StrEnum):
    ANNUAL = "ANNUAL"
    BUDGET_YEAR = "BUDGET_YEAR"
    SCHOOL_YEAR = "SCHOOL_YEAR"
    PER_TERM = "PER_TERM"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
    PERIODIC = "PERIODIC"
    CONTINUOUS = "CONTINUOUS"
    PER_CHILD = "PER_CHILD"
    PER_EVENT = "PER_EVENT"


class PartyRole(StrEnum):
    OWNER = "OWNER"
    COOPERATOR = "COOPERATOR"


class Duty(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    clause = fields.CharField(max_length=32)
    title = fields.CharField(max_length=200)
    text = fields.TextField()
    trigger_kind = fields.CharEnumField(TriggerKind, max_length=32)
    trigger_text = fields.CharField(max_length=200)
    deadline_rule = fields.CharField(max_length=64)
    deadline_text = fields.CharField(max_length=200)
    deadline_is_default = fields.BooleanField(default=False)
    # One task per unit of this kind (e.g. the supervision office evaluates each township).
    per_unit_kind = fields.CharEnumField(UnitKind, max_length=32, null=True)
    lists = fields.CharField(max_length=32, null=True)  # children-turning-six: the task lists them
    position = fields.IntField(default=0)

    class Meta:
        table = "duty"
        ordering = ["position", "id"]


class DutyParty(Model):
    """An owner or cooperator of a duty: one named unit, or every unit of a kind ("each township")."""

    id = fields.IntField(primary_key=True)
    duty: fields.ForeignKeyRelation[Duty] = fields.ForeignKeyField(
        "models.Duty", related_name="parties", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(PartyRole, max_length=16)
    unit: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="duty_parties", null=True, on_delete=fields.CASCADE
    )
    unit_kind = fields.CharEnumField(UnitKind, max_length=32, null=True)
    school_levels = fields.JSONField(null=True)  # with unit_kind SCHOOL: only these levels
    position = fields.IntField(default=0)

    class Meta:
        table = "duty_party"
        indexes = (Index(fields=("duty_id", "position", "id"), name="duty_party_duty_idx"),)
        ordering = ["position", "id"]
