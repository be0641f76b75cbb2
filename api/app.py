"""The Starlette application: /graphql (GraphiQL on GET in a browser) and /healthz."""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from tortoise.contrib.starlette import RegisterTortoise

from api.compiled.endpoint import ANSWERED_CLEANLY, PlannedReads
from api.context import Context
from api.downloads import download_document
from api.errors import UNAVAILABLE_MESSAGE, FaultCode, public_error
from api.exports.household_book import download_household_book
from api.exports.ledger import download_ledger
from api.exports.office_report import download_office_report
from api.limits import Guard
from api.schema import schema
from config import settings
from models import audit, clock
from models.accounts import authenticate
from models.audit import AuditAction
from models.db import database_unavailable, tortoise_config
from tasks.machinery import dispatch
from tasks.machinery.embedded import in_process_jobs

log = logging.getLogger("kongchuo.api")
BEARER = "bearer "


class CountyGraphQL(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As Strawberry's, but a request it cannot take (no query, a body that is not JSON) is answered in JSON."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as refusal:
            body = {"errors": [{"message": refusal.reason, "extensions": {"code": FaultCode.BAD_USER_INPUT.value}}]}
            response = JSONResponse(body, status_code=refusal.status_code)
        except Exception as error:  # before execution (the token, the clock): the database may be out of reach
            if not database_unavailable(error):
                raise
            response = _unavailable(error)
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        await clock.refresh()
        context = await self._context(request)
        request.state.request_id = context.request_id  # the same id in the audit trail, the answer and the log
        return context

    async def _context(self, request: Request | WebSocket) -> Context:
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
        if not result.errors:
            setattr(request.state, ANSWERED_CLEANLY, True)  # its document may now be answered by plan
        else:
            request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex[:12]
            data["errors"] = [public_error(e, request_id) for e in result.errors]
            if any(e.get("extensions", {}).get("code") == FaultCode.UNAUTHENTICATED for e in data["errors"]):
                data["data"] = None  # without a valid token: an authentication error, not even null fields
        if result.extensions:
            data["extensions"] = result.extensions
        return data

    def encode_json(self, data: object) -> str:
        # Text, not bytes: over WebSocket, bytes go out as binary frames, which graphql-transport-ws clients refuse.
        return orjson.dumps(data).decode()


def _unavailable(error: Exception) -> JSONResponse:
    """503 with a code and Retry-After, not a bare 500: the client may try again in a moment."""
    log.warning("database unavailable before execution: %r", error)
    body = {"errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": {"code": FaultCode.SERVICE_UNAVAILABLE.value}}]}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def _logging() -> None:
    """Our own lines (audit, internal errors with their request id, jobs) at INFO on stderr."""
    ours = logging.getLogger("kongchuo")
    if not ours.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)


def create_app(database_url: str | None = None) -> Starlette:
    _logging()
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
            Route("/graphql", PlannedReads(graphql, schema), methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/documents/{global_id:path}.docx", download_document, methods=["GET"]),
            Route("/exports/ledger.xlsx", download_ledger, methods=["GET"]),
            Route("/exports/office-reports/{global_id}.{extension}", download_office_report, methods=["GET"]),
            Route("/exports/household-book/{global_id:path}.xlsx", download_household_book, methods=["GET"]),
            WebSocketRoute("/graphql", graphql),
        ],
        middleware=[Middleware(Guard)],
        lifespan=lifespan,
    )
    return app
