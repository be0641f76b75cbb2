"""The Starlette application: /graphql (GraphiQL on GET in a browser) and /healthz."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError, parse
from redis import asyncio as aioredis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from tortoise.contrib.starlette import RegisterTortoise

from api import graphiql, media
from api.audit import record_refused_writes
from api.compiled.endpoint import ANSWERED_CLEANLY, PlannedReads
from api.context import Context
from api.downloads import download_document
from api.errors import UNAVAILABLE_MESSAGE, FaultCode, public_error
from api.exports.household_book import download_household_book
from api.exports.ledger import download_ledger
from api.exports.office_report import download_office_report
from api.idempotency import Idempotency
from api.limits import Guard
from api.live import PublishCommitted, hub
from api.observe import Observe
from api.rate_limit import RateLimit, bearer_token, signed_in
from api.schema import schema
from api.sockets import CountyTransportWS
from api.uploads import upload_import
from config import settings
from models import audit, clock
from models.accounts import authenticate
from models.db import database_unavailable, tortoise_config
from models.users import User
from tasks.live import bus
from tasks.machinery import dispatch, logs, metrics
from tasks.machinery.embedded import in_process_jobs

log = logging.getLogger("kongchuo.api")
GRAPHQL_RESPONSE_ASKED = "graphql_response_asked"
BEARER = "bearer "


class CountyGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = CountyTransportWS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As Strawberry's, but a request it cannot take (no query, a body that is not JSON) is answered in JSON."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as refusal:
            request_id = uuid.uuid4().hex[:12]
            log.info("refused %s before GraphQL [request %s]: %s", refusal.status_code, request_id, refusal.reason)
            extensions = {"code": FaultCode.BAD_USER_INPUT.value, "requestId": request_id}
            response = JSONResponse(
                {"errors": [{"message": refusal.reason, "extensions": extensions}]}, refusal.status_code
            )
        except Exception as error:  # before execution (the token, the clock): the database may be out of reach
            if not database_unavailable(error):
                raise
            response = _unavailable(error)
        await response(scope, receive, send)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql.page())  # our page, on our own assets: no CDN (api/graphiql.py)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        request.state.sub_response = sub_response  # process_result sets the status and media type on it
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if getattr(sub_response, GRAPHQL_RESPONSE_ASKED, False):
            response.headers["content-type"] = media.content_type(True)
        return response

    async def parse_http_body(self, request: Any) -> Any:
        """A body that is JSON but not a GraphQL request (a bare string, a list of numbers, brackets nested
        past any parser's depth) is bad input, answered 400 in JSON like one that is not JSON at all."""
        try:
            return await super().parse_http_body(request)
        except (HTTPException, json.JSONDecodeError):
            raise
        except (AttributeError, TypeError, ValueError, KeyError, RecursionError) as error:
            raise HTTPException(400, NOT_A_REQUEST) from error

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        await clock.refresh()
        context = await self._context(request)
        request.state.request_id = context.request_id  # the same id in the audit trail, the answer and the log
        return context

    async def _context(self, request: Request | WebSocket) -> Context:
        header = request.headers.get("authorization", "")
        if not header:
            return Context(request=request, viewer=None)  # type: ignore[arg-type]
        token = bearer_token(header)
        if token is None:
            return Context(request=request, viewer=None, auth_problem="Authorization must be 'Bearer <token>'")  # type: ignore[arg-type]
        user = await signed_in(request.scope, token)
        context = Context(request=request, viewer=user, token=token)  # type: ignore[arg-type]
        if user is None:
            context.auth_problem = "令牌无效、已过期或已吊销，请重新获取 (token invalid, expired or revoked)"
            client = request.client.host if request.client else ""
            channel = "websocket" if isinstance(request, WebSocket) else "graphql"
            await audit.failed_sign_in(client, token, channel, context.request_id)
        return context

    async def execute_operation(
        self,
        request: Request,
        request_adapter: Any,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: Any,
        sub_response: Any,
    ) -> Any:
        """Without a valid token nothing is validated or run: the answer is UNAUTHENTICATED at once (a large
        document costs no CPU), and a mutation attempted so is still on the record."""
        if context.viewer is not None:
            return await super().execute_operation(
                request, request_adapter, request_data, context, root_value, sub_response
            )
        batch = request_data if isinstance(request_data, list) else [request_data]
        for one in batch:
            await _record_anonymous_writes(context, one)
        results = [_unauthenticated(context) for _ in batch]
        return results if isinstance(request_data, list) else results[0]

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        """graphql-transport-ws: the token comes in connection_init {"Authorization": "Bearer ..."}."""
        if context.viewer is not None:
            return None
        params = context.connection_params or {}
        header = str(params.get("Authorization") or params.get("authorization") or "")
        token = bearer_token(header)
        user = await authenticate(token) if token else None
        if user is None:
            if header:  # as over HTTP: a token that is not valid is on the record, no token at all is not
                client = context.request.client.host if context.request and context.request.client else ""
                await audit.failed_sign_in(client, token or header, "websocket connection_init", context.request_id)
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
        sub_response = getattr(request.state, "sub_response", None)
        if sub_response is not None and media.wants_graphql_response(request.headers.get("accept")):
            setattr(sub_response, GRAPHQL_RESPONSE_ASKED, True)
            if result.errors and result.data is None and all(e.path is None for e in result.errors):
                # A request error (parse, validation, variables, a refused cost): nothing was executed.
                data.pop("data", None)
                sub_response.status_code = 400
        return data

    def encode_json(self, data: object) -> str:
        # Text, not bytes: over WebSocket, bytes go out as binary frames, which graphql-transport-ws clients refuse.
        return orjson.dumps(data).decode()


NOT_A_REQUEST = '请求体应为 JSON 对象 {"query": "...", "variables": {...}} (not a GraphQL request)'
NO_TOKEN = "请先登录：在请求头加入 Authorization: Bearer <token> (sign in with a bearer token)"


def _unauthenticated(context: Context) -> ExecutionResult:
    error = GraphQLError(context.auth_problem or NO_TOKEN, extensions={"code": FaultCode.UNAUTHENTICATED.value})
    return ExecutionResult(data=None, errors=[error])


async def _record_anonymous_writes(context: Context, data: GraphQLRequestData) -> None:
    """Only a document that says `mutation` is parsed (within the token limit), to name what was attempted."""
    if not data.query or "mutation" not in data.query:
        return
    try:
        document = parse(data.query, max_tokens=settings().max_query_tokens)
    except GraphQLError:
        return
    await record_refused_writes(context, document, data.operation_name, data.variables, "UNAUTHENTICATED")


def _unavailable(error: Exception) -> JSONResponse:
    """503 with a code and Retry-After, not a bare 500: the client may try again in a moment."""
    log.warning("database unavailable before execution: %r", error)
    body = {"errors": [{"message": UNAVAILABLE_MESSAGE, "extensions": {"code": FaultCode.SERVICE_UNAVAILABLE.value}}]}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def prometheus(request: Request) -> Response:
    """GET /metrics: Prometheus' text format (tasks/machinery/metrics.py says what is measured)."""
    body, content_type = await metrics.exposition()
    return Response(body, media_type=content_type)


async def readyz(request: Request) -> JSONResponse:
    """Ready for traffic: the database answers, and Redis where it is configured (for a load balancer)."""
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(User._meta.db.execute_query("SELECT 1"), 3)
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"unavailable: {type(error).__name__}"
    if settings().redis_url:
        try:
            client = aioredis.Redis.from_url(settings().redis_url, socket_connect_timeout=2, socket_timeout=2)
            async with client:
                await client.ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"unavailable: {type(error).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503)


def create_app(database_url: str | None = None) -> Starlette:
    logs.configure()
    graphql = CountyGraphQL(
        schema,
        graphql_ide="graphiql" if settings().graphiql else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        max_subscriptions_per_connection=settings().ws_max_subscriptions_per_socket,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with (
            RegisterTortoise(app, config=tortoise_config(database_url), generate_schemas=False),
            in_process_jobs(),
        ):
            await hub.start()
            gc.collect()
            gc.freeze()  # start-up objects live for the whole process; keep them out of GC passes
            yield
            await hub.stop()
        await dispatch.close()
        metrics.process_exited(os.getpid())
        await bus.close()

    app = Starlette(
        routes=[
            Route("/graphql", PlannedReads(graphql, schema), methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/metrics", prometheus, methods=["GET"]),
            Route("/readyz", readyz),
            Route("/documents/{global_id:path}.docx", download_document, methods=["GET"]),
            Route("/imports/{kind}", upload_import, methods=["POST"]),
            Route("/exports/ledger.xlsx", download_ledger, methods=["GET"]),
            Route("/exports/office-reports/{global_id}.{extension}", download_office_report, methods=["GET"]),
            Route("/exports/household-book/{global_id:path}.xlsx", download_household_book, methods=["GET"]),
            WebSocketRoute("/graphql", graphql),
            Mount(graphiql.ASSETS_URL, app=graphiql.assets(), name="graphiql-assets"),
        ],
        middleware=[
            Middleware(Observe),
            Middleware(RateLimit),
            Middleware(Guard),
            Middleware(PublishCommitted),
            Middleware(Idempotency),
        ],
        lifespan=lifespan,
    )
    return app
