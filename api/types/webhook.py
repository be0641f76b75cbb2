"""Webhook endpoints and their deliveries, as an administrator reads them. The secret is never shown again."""

from __future__ import annotations

import datetime as dt

import strawberry

from api.context import Info
from api.ids import global_id
from api.types.connection import Connection, page_size, paged
from api.types.node import Node
from models import clock
from models.live import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from models.paging import SortKey, keyset_page
from tasks.live.events import LiveKind

WebhookEventKindEnum = strawberry.enum(
    LiveKind,
    name="WebhookEventKind",
    description="What happened: TASK_CREATED, TASK_CHANGED (status, owner, comment), TASK_ESCALATED, CASE_CHANGED, "
    "TASK_OVERDUE (its deadline passed with no change of its own: announced within a minute).",
)
DeliveryStatusEnum = strawberry.enum(DeliveryStatus, name="WebhookDeliveryStatus")
NEWEST_FIRST = (SortKey("id", descending=True),)


@strawberry.type(name="WebhookDelivery", description="One event sent (or to be sent) to one endpoint.")
class WebhookDeliveryType(Node):
    message_id: str = strawberry.field(description="The webhook-id header: the same on every attempt.")
    event_kind: WebhookEventKindEnum  # type: ignore[valid-type]
    status: DeliveryStatusEnum  # type: ignore[valid-type]
    attempts: int
    response_code: int | None = strawberry.field(description="The receiver's HTTP status at the last attempt.")
    last_error: str | None
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    created_at: dt.datetime
    payload: strawberry.scalars.JSON = strawberry.field(description="The body sent: kind, ids and times only.")

    @classmethod
    def from_row(cls, row: WebhookDelivery) -> WebhookDeliveryType:
        return cls(
            id=global_id("WebhookDelivery", row.id),
            message_id=f"msg_{row.id}",
            event_kind=LiveKind(row.event_kind),
            status=row.status,
            attempts=row.attempts,
            response_code=row.response_code,
            last_error=row.last_error,
            next_attempt_at=clock.local(row.next_attempt_at) if row.next_attempt_at else None,
            delivered_at=clock.local(row.delivered_at) if row.delivered_at else None,
            created_at=clock.local(row.created_at),
            payload=row.payload,
        )


@strawberry.type(name="WebhookEndpoint", description="A URL told of the events it asked for (Standard Webhooks).")
class WebhookEndpointType(Node):
    url: str
    event_kinds: list[WebhookEventKindEnum]  # type: ignore[valid-type]
    description: str
    enabled: bool
    disabled_reason: str | None = strawberry.field(description="Why it was disabled (after repeated failures).")
    consecutive_failures: int
    created_at: dt.datetime
    _pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: WebhookEndpoint) -> WebhookEndpointType:
        return cls(
            id=global_id("WebhookEndpoint", row.id),
            url=row.url,
            event_kinds=[LiveKind(k) for k in row.event_kinds],
            description=row.description,
            enabled=row.enabled,
            disabled_reason=row.disabled_reason,
            consecutive_failures=row.consecutive_failures,
            created_at=clock.local(row.created_at),
            _pk=row.id,
        )

    @strawberry.field(description="Its deliveries, newest first.")
    async def deliveries(
        self,
        info: Info,
        status: DeliveryStatusEnum | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDeliveryType]:
        size = page_size(first)
        query = WebhookDelivery.filter(endpoint_id=self._pk)
        if status is not None:
            query = query.filter(status=status)
        return await paged(lambda: keyset_page([query], NEWEST_FIRST, size, after), WebhookDeliveryType.from_row)
