"""graphql-transport-ws as the county runs it: sockets counted per token, messages rate-limited,
and every signed-in socket known to the live hub (api/live.py) so a revocation can close it."""

from __future__ import annotations

from typing import Any

from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage, Message
from strawberry.types.unset import UnsetType

from api import rate_limit
from api.live import TOO_MANY_CLOSE_CODE, OpenSocket, hub


class CountyTransportWS(BaseGraphQLTransportWSHandler[Any, None]):
    open_socket: OpenSocket | None = None

    def _rate_key(self) -> str:
        viewer = getattr(self.context, "viewer", None)
        if viewer is not None:
            return rate_limit.identity_key(viewer.id)
        client = getattr(getattr(self.context, "request", None), "client", None)
        return rate_limit.address_key(client.host if client else None)

    async def handle_message(self, message: Message) -> None:
        if not await rate_limit.hit(self._rate_key()):  # a message counts as a request
            await self.websocket.close(code=TOO_MANY_CLOSE_CODE, reason="rate limited")
            return
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Strawberry's, with the socket admitted by the hub (or refused, 4429) before the ack."""
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload", {})
        if not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(code=4429, reason="Too many initialisation requests")
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        try:
            ack = await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError:
            await self.websocket.close(code=4403, reason="Forbidden")
            return
        self.open_socket = await hub.admit(self.context.token, self.context.viewer.id, self.websocket.close)
        if self.open_socket is None:
            await self.websocket.close(code=TOO_MANY_CLOSE_CODE, reason="too many sockets for this token")
            return
        plain = isinstance(ack, UnsetType) or ack is None
        await self.send_message({"type": "connection_ack"} if plain else {"type": "connection_ack", "payload": ack})
        self.connection_acknowledged = True

    async def shutdown(self) -> None:
        await super().shutdown()
        if self.open_socket is not None:
            await hub.release(self.open_socket)
            self.open_socket = None
