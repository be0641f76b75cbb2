"""The county's rules as data, loaded from the policy file: ladder steps and fact rules.

A task records the rule that created it, so anyone can ask why a task exists.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.duties import Duty


class RuleKind(StrEnum):
    LADDER_STEP = "LADDER_STEP"  # a step of the suspected-dropout ladder (附件1)
    FACT_RULE = "FACT_RULE"  # a fact about a child becomes cross-department work
    DUTY_CALENDAR = "DUTY_CALENDAR"  # a recurring duty becomes dated tasks


class Rule(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    kind = fields.CharEnumField(RuleKind, max_length=16)
    title = fields.CharField(max_length=200)
    clause = fields.CharField(max_length=32, default="")
    duty: fields.ForeignKeyNullableRelation[Duty] = fields.ForeignKeyField(
        "models.Duty", related_name="rules", null=True, on_delete=fields.SET_NULL
    )
    spec = fields.JSONField(default=dict)  # the rule's steps and conditions as the policy file gives them
    position = fields.IntField(default=0)

    class Meta:
        table = "rule"
        ordering = ["position", "id"]


class PolicySetting(Model):
    """A named setting of the county's policy (deadlines, county units the rules refer to)."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    value = fields.JSONField()

    class Meta:
        table = "policy_setting"


class Digest(Model):
    """One message per unit per day: what is coming due, and what was escalated to it."""

    id = fields.IntField(primary_key=True)
    unit = fields.ForeignKeyField("models.Unit", related_name="digests", on_delete=fields.CASCADE)
    day = fields.DateField()
    reminders = fields.JSONField(default=list)  # task ids due soon, ascending (the API pages them by id)
    escalations = fields.JSONField(default=list)  # task ids escalated to this unit, ascending
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "digest"
        unique_together = (("unit", "day"),)
