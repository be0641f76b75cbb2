"""The Starlette application: /graphql (GraphiQL on GET in a browser) and /healthz."""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from tortoise.contrib.starlette import RegisterTortoise

from api.context import Context
from api.downloads import download_document
from api.errors import ApiFault, FaultCode
from api.limits import Guard
from api.schema import schema
from config import settings
from models import audit, clock
from models.accounts import authenticate
from models.audit import AuditAction
from models.db import tortoise_config
from tasks import dispatch
from tasks.embedded import in_process_jobs

log = logging.getLogger("kongchuo.api")
BEARER = "bearer "


class CountyGraphQL(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        await clock.refresh()
        header = request.headers.get("authorization", "")
        if not header:
            return Context(request=request, viewer=None)  # type: ignore[arg-type]
        if not header.lower().startswith(BEARER):
            return Context(request=request, viewer=None, auth_problem="Authorization must be 'Bearer <token>'")  # type: ignore[arg-type]
        token = header[len(BEARER) :].strip()
        user = await authenticate(token)
        context = Context(request=request, viewer=user, token=token)  # type: ignore[arg-type]
        if user is None:
            context.auth_problem = "令牌无效、已过期或已吊销，请重新获取 (token invalid, expired or revoked)"
            client = request.client.host if request.client else ""
            await audit.record(
                AuditAction.SIGN_IN_FAILED, source=client, target=token[:10], request_id=context.request_id
            )
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """graphql-transport-ws: the token comes in connection_init {"Authorization": "Bearer ..."}."""
        if context.viewer is not None:
            return None
        params = context.connection_params or {}
        header = str(params.get("Authorization") or params.get("authorization") or "")
        token = header[len(BEARER) :].strip() if header.lower().startswith(BEARER) else ""
        user = await authenticate(token) if token else None
        if user is None:
            raise ConnectionRejectionError({"message": "令牌无效 (token invalid, expired or revoked)"})
        context.viewer, context.token, context.auth_problem = user, token, None
        return None

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        data: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            data["errors"] = [_public_error(e) for e in result.errors]
            if any(e.get("extensions", {}).get("code") == FaultCode.UNAUTHENTICATED for e in data["errors"]):
                data["data"] = None  # without a valid token: an authentication error, not even null fields
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


def _public_error(error: GraphQLError) -> dict[str, Any]:
    """Our faults keep their code; input faults say what was wrong; the unforeseen is masked behind a request id."""
    original = error.original_error
    fault = error if isinstance(error, ApiFault) else original if isinstance(original, ApiFault) else None
    formatted = error.formatted
    if fault is not None:
        formatted["extensions"] = {"code": fault.code.value}
        return formatted
    if error.path is None:  # before execution: syntax, validation, limits, a variable that does not coerce
        if "code" not in (formatted.get("extensions") or {}):
            code = FaultCode.BAD_USER_INPUT.value if original is not None else "GRAPHQL_VALIDATION_FAILED"
            formatted["extensions"] = {"code": code}
        return formatted
    request_id = uuid.uuid4().hex[:12]
    log.error("internal error %s at %s", request_id, error.path, exc_info=original)
    return {
        "message": f"服务器内部错误，请把编号 {request_id} 告诉管理员 (internal error)",
        "path": error.path,
        "extensions": {"code": FaultCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
    }


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(database_url: str | None = None) -> Starlette:
    graphql = CountyGraphQL(
        schema,
        graphql_ide="graphiql" if settings().graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            RegisterTortoise(app, config=tortoise_config(database_url), generate_schemas=False),
            in_process_jobs(),
        ):
            gc.collect()
            gc.freeze()  # start-up objects live for the whole process; keep them out of GC passes
            yield
        await dispatch.close()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/documents/{global_id:path}.docx", download_document, methods=["GET"]),
            WebSocketRoute("/graphql", graphql),
        ],
        middleware=[Middleware(Guard)],
        lifespan=lifespan,
    )
    return app
