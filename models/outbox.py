"""The outbox: an event written in the same transaction as the change that caused it.

Workers read it; Redis only carries the nudge. Nothing here is lost if Redis is down.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

TOKEN_REVOKED = "token.revoked"  # payload {"token_hashes", "user_ids"}: their sockets close on every process


class OutboxEvent(Model):
    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=64)
    payload = fields.JSONField(default=dict)
    effective_on = fields.DateField(null=True)  # the county day the change is about
    created_at = fields.DatetimeField(auto_now_add=True)
    processed_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "outbox_event"
        indexes = (Index(fields=("processed_at", "id"), name="outbox_pending_idx"),)


class SystemClock(Model):
    """The settable clock shared by every process when CLOCK_SOURCE=database (tests, replays)."""

    id = fields.IntField(primary_key=True)
    as_of = fields.DatetimeField(null=True)

    class Meta:
        table = "system_clock"


class ClockMark(Model):
    """How far a job driven by the clock alone has got (e.g. the tasks announced as overdue), shared by
    every process so that each moment is handled once however many workers run."""

    name = fields.CharField(max_length=64, primary_key=True)
    until = fields.DatetimeField()

    class Meta:
        table = "clock_mark"
