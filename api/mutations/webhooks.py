"""Webhook endpoints (administrators): register, change, and send a delivery again."""

from __future__ import annotations

import strawberry

from api.context import Info, require_viewer
from api.errors import Forbidden, UserError, user_error
from api.mutations.common import pk_of
from api.types.connection import Connection, page_size, paged
from api.types.webhook import (
    NEWEST_FIRST,
    WebhookDeliveryType,
    WebhookEndpointType,
    WebhookEventKindEnum,
)
from models.live import WebhookEndpoint
from models.paging import keyset_page
from models.users import UserRole
from tasks.errors import DomainError
from tasks.live import webhooks


@strawberry.input
class WebhookEndpointCreateInput:
    url: str
    event_kinds: list[WebhookEventKindEnum]  # type: ignore[valid-type]
    secret: str | None = strawberry.field(
        default=None, description="whsec_<base64 of at least 24 bytes>; left out, one is made and shown once."
    )
    description: str | None = None


@strawberry.type
class WebhookEndpointCreatePayload:
    endpoint: WebhookEndpointType | None
    secret: str | None = strawberry.field(description="The signing secret, shown this once; keep it.")
    user_errors: list[UserError]


@strawberry.input
class WebhookEndpointUpdateInput:
    enabled: bool | None = None
    event_kinds: list[WebhookEventKindEnum] | None = None  # type: ignore[valid-type]


@strawberry.type
class WebhookEndpointUpdatePayload:
    endpoint: WebhookEndpointType | None
    user_errors: list[UserError]


@strawberry.type
class WebhookDeliveryRetryPayload:
    delivery: WebhookDeliveryType | None
    user_errors: list[UserError]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="Register a URL to be told of events (administrators).")
    async def webhook_endpoint_create(
        self, info: Info, input: WebhookEndpointCreateInput
    ) -> WebhookEndpointCreatePayload:
        viewer = require_viewer(info)
        try:
            endpoint, secret = await webhooks.register_endpoint(
                viewer, input.url, [k.value for k in input.event_kinds], input.secret, input.description
            )
        except DomainError as error:
            return WebhookEndpointCreatePayload(endpoint=None, secret=None, user_errors=[user_error(error)])
        return WebhookEndpointCreatePayload(
            endpoint=WebhookEndpointType.from_row(endpoint), secret=secret, user_errors=[]
        )

    @strawberry.mutation(description="Enable (failures forgotten) or disable an endpoint, or change its kinds.")
    async def webhook_endpoint_update(
        self, info: Info, id: strawberry.ID, input: WebhookEndpointUpdateInput
    ) -> WebhookEndpointUpdatePayload:
        viewer = require_viewer(info)
        try:
            kinds = [k.value for k in input.event_kinds] if input.event_kinds is not None else None
            endpoint = await webhooks.update_endpoint(
                viewer, pk_of(id, "WebhookEndpoint", "id"), enabled=input.enabled, event_kinds=kinds
            )
        except DomainError as error:
            return WebhookEndpointUpdatePayload(endpoint=None, user_errors=[user_error(error)])
        return WebhookEndpointUpdatePayload(endpoint=WebhookEndpointType.from_row(endpoint), user_errors=[])

    @strawberry.mutation(description="Send a delivery again, now, with a fresh round of attempts.")
    async def webhook_delivery_retry(self, info: Info, id: strawberry.ID) -> WebhookDeliveryRetryPayload:
        viewer = require_viewer(info)
        try:
            delivery = await webhooks.redeliver(viewer, pk_of(id, "WebhookDelivery", "id"))
        except DomainError as error:
            return WebhookDeliveryRetryPayload(delivery=None, user_errors=[user_error(error)])
        from tasks.machinery import dispatch

        await dispatch.deliveries_queued()
        return WebhookDeliveryRetryPayload(delivery=WebhookDeliveryType.from_row(delivery), user_errors=[])


@strawberry.type
class WebhookQueries:
    @strawberry.field(description="Webhook endpoints, newest first (administrators).")
    async def webhook_endpoints(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[WebhookEndpointType]:
        viewer = require_viewer(info)
        if viewer.role is not UserRole.ADMIN:
            raise Forbidden("只有系统管理员可以查看回调地址 (admins only)")
        size = page_size(first)
        return await paged(
            lambda: keyset_page([WebhookEndpoint.all()], NEWEST_FIRST, size, after), WebhookEndpointType.from_row
        )
