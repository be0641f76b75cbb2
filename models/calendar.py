"""School calendars as data: terms, holidays and make-up days of one school year."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.units import Unit


class SchoolCalendar(Model):
    """The county's calendar (school None) or one school's own, for a school year like 2026-2027."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)  # "<school year>:county" or "<school year>:<unit id>"
    school_year = fields.CharField(max_length=9)
    school: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="calendars", null=True, on_delete=fields.CASCADE
    )
    terms = fields.JSONField(default=list)  # [{"name", "start", "end"}], ISO dates
    holidays = fields.JSONField(default=list)  # ISO dates with no school inside a term
    makeup_days = fields.JSONField(default=list)  # weekend dates that are school days

    class Meta:
        table = "school_calendar"
