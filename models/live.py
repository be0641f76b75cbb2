"""Webhook endpoints and their deliveries; idempotency keys of retried mutations."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.units import Unit
from models.users import User


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"  # not yet tried, or failed and waiting for its next attempt
    DELIVERED = "DELIVERED"  # the receiver answered 2xx
    FAILED = "FAILED"  # gave up: attempts used up, or the endpoint was disabled


class WebhookEndpoint(Model):
    id = fields.IntField(primary_key=True)
    url = fields.CharField(max_length=500)
    event_kinds = fields.JSONField(default=list)  # LiveKind values
    secret = fields.CharField(max_length=200)  # whsec_...: signs; never readable through the API
    description = fields.CharField(max_length=200, default="")
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="webhook_endpoints", on_delete=fields.RESTRICT
    )  # the admin's unit: told when the endpoint is disabled
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="webhook_endpoints", null=True, on_delete=fields.SET_NULL
    )
    enabled = fields.BooleanField(default=True)
    disabled_reason = fields.CharField(max_length=300, null=True)
    consecutive_failures = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_endpoint"


class WebhookDelivery(Model):
    id = fields.BigIntField(primary_key=True)
    endpoint: fields.ForeignKeyRelation[WebhookEndpoint] = fields.ForeignKeyField(
        "models.WebhookEndpoint", related_name="deliveries", on_delete=fields.CASCADE
    )
    event_id = fields.BigIntField()  # the outbox event: one delivery per endpoint and event, however often drained
    event_kind = fields.CharField(max_length=32)
    payload = fields.JSONField(default=dict)
    status = fields.CharEnumField(DeliveryStatus, max_length=16, default=DeliveryStatus.PENDING)
    attempts = fields.IntField(default=0)
    response_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=300, null=True)
    next_attempt_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_delivery"
        unique_together = (("endpoint", "event_id"),)
        indexes = (Index(fields=("status", "next_attempt_at"), name="webhook_delivery_due_idx"),)


class IdempotencyKey(Model):
    """The first answer to a mutation sent with an Idempotency-Key header, returned again for a retry."""

    id = fields.BigIntField(primary_key=True)
    key = fields.CharField(max_length=255)
    user_id = fields.IntField()
    request_hash = fields.CharField(max_length=64)
    response = fields.JSONField(null=True)  # null while the first request is in flight
    status_code = fields.IntField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_key"
        unique_together = (("user_id", "key"),)
        indexes = (Index(fields=("created_at",), name="idempotency_key_created_idx"),)
