"""The rate limit, one count across every API process: the `limits` library, in Redis when REDIS_URL is set.

Before sign-in a caller is its client address; after, the signed-in user (however the Authorization
header is spelled, and whichever token of theirs): a made-up token is an unknown caller at its
address, not a fresh bucket. HTTP requests and WebSocket messages count against the same limit.
Without Redis (the embedded default: one process) the counts are kept in memory.

A POST to /graphql by a caller this process knows is counted *alongside* its work: the count goes to
Redis while the request is read and planned, and the endpoint (api/compiled/endpoint.py) waits for it
before anything is written or sent (`counted`); over the limit, the caller gets 429 and nothing else
happened. A caller refused once is counted before its work again for REFUSED_SECONDS, so a flood costs
at most one read a second in each API process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import lru_cache

import orjson
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter, RateLimiter
from starlette.types import ASGIApp, Receive, Scope, Send

from api.rate_store import CountingStorage
from config import settings
from models.accounts import authenticate, hash_token
from models.users import User

SIGNED_IN = "kongchuo.signed_in"
COUNTING = "kongchuo.rate_counting"  # in scope["state"]: the request's count in flight (Counting)
REFUSED_SECONDS = 1.0
IDEMPOTENCY_KEY = b"idempotency-key"  # a keyed request stores its key before the view runs: counted first
UNLIMITED = {"/healthz", "/readyz", "/metrics"}  # load balancers and Prometheus ask often

log = logging.getLogger("kongchuo.rate_limit")
NAMESPACE = "kongchuo-rate"


@lru_cache(maxsize=1)
def _limiter() -> RateLimiter:
    url = settings().redis_url
    storage: Storage
    if url:
        # redis-py (already there for arq, redis<6) rather than coredis; each request's count on its own connection.
        storage = CountingStorage(url)
    else:
        storage = MemoryStorage()
    return MovingWindowRateLimiter(storage)


def identity_key(user_id: int) -> str:
    return f"user:{user_id}"


def address_key(address: str | None) -> str:
    return f"addr:{address or '?'}"


async def hit(key: str) -> bool:
    """Count one request for `key`; False when over the limit. With Redis out of reach, lets it through."""
    limit = settings().rate_limit_per_minute
    if limit <= 0:
        return True
    try:
        return await _limiter().hit(RateLimitItemPerMinute(limit), NAMESPACE, key)
    except Exception as error:  # the limit protects the service; it must not take it down with Redis
        log.warning("rate limit store unavailable (%s); request let through", error)
        return True


def reset_for_tests() -> None:
    _limiter.cache_clear()
    _known.clear()
    _refused.clear()


KEYS_REFUSED = 4096
_refused: dict[str, float] = {}  # a key refused lately -> until when (monotonic) it is counted before its work


def _refused_lately(key: str) -> bool:
    until = _refused.get(key)
    if until is None:
        return False
    if until > time.monotonic():
        return True
    del _refused[key]
    return False


def _note_refused(key: str) -> None:
    if key not in _refused and len(_refused) >= KEYS_REFUSED:
        del _refused[next(iter(_refused))]
    _refused[key] = time.monotonic() + REFUSED_SECONDS


class Counting:
    """One request's count, started before its work and awaited before its answer."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.task = asyncio.ensure_future(hit(key))  # hit() never raises: an unasked count ends quietly

    async def allowed(self) -> bool:
        allowed = await self.task
        if not allowed:
            _note_refused(self.key)
        return allowed


async def counted(scope: Scope, send: Send) -> bool:
    """Whether the request may go on; if not, the 429 is sent. POST /graphql asks before it writes or answers
    anything (RateLimit may have left the count in flight)."""
    counting: Counting | None = (scope.get("state") or {}).pop(COUNTING, None)
    if counting is None or await counting.allowed():
        return True
    await refuse(send)
    return False


async def refuse(send: Send) -> None:
    limit = settings().rate_limit_per_minute
    body = orjson.dumps(
        {
            "errors": [
                {
                    "message": f"请求过于频繁：每分钟最多 {limit} 次 (rate limited)",
                    "extensions": {"code": "RATE_LIMITED", "retryAfter": 60},
                }
            ]
        }
    )
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"retry-after", b"60")]  # fmt: skip
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def bearer_token(header: str) -> str | None:
    """The token of 'Bearer <token>', whatever the case of the word and the spaces around; None otherwise."""
    scheme, _, rest = header.strip().partition(" ")
    token = rest.strip()
    return token if scheme.lower() == "bearer" and token else None


async def signed_in(scope: Scope, token: str) -> User | None:
    """The user of `token`, asked of the database once per request (the limit and the request share it)."""
    state = scope.setdefault("state", {})
    cached = state.get(SIGNED_IN)
    if cached is not None and cached[0] == token:
        return cached[1]
    user = await authenticate(token)
    state[SIGNED_IN] = (token, user)
    _remember(token, user)
    return user


KNOWN_TOKENS = 4096
_known: dict[str, User] = {}  # a token's hash -> its user when this process last asked the database


def presumed(token: str) -> User | None:
    """The user this token belonged to when this process last asked the database: a guess, never trusted
    alone. The rate limit counts by it, and a compiled read checks it inside its own statement
    (api/compiled/sql_plan.py: the token live, the user active and unchanged), saving a round trip;
    everything else asks the database (signed_in), which corrects or forgets the guess."""
    return _known.get(hash_token(token))


def forget(token: str) -> None:
    _known.pop(hash_token(token), None)


def _remember(token: str, user: User | None) -> None:
    key = hash_token(token)
    if user is None:
        _known.pop(key, None)
        return
    if key not in _known and len(_known) >= KNOWN_TOKENS:
        del _known[next(iter(_known))]
    _known[key] = user


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


class RateLimit:
    """ASGI middleware: 429 with Retry-After past the limit, keyed on the signed-in user, else the address."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or settings().rate_limit_per_minute <= 0 or scope.get("path") in UNLIMITED:
            await self.app(scope, receive, send)
            return
        key = address_key(_client(scope))
        headers = scope.get("headers") or []
        header = next((v for k, v in headers if k == b"authorization"), b"")
        token = bearer_token(header.decode(errors="replace"))
        alongside = False
        if token:
            user = presumed(token)
            alongside = user is not None and _may_count_alongside(scope, headers)
            if user is None:
                try:
                    user = await signed_in(scope, token)
                except Exception:  # the database is out of reach: the view answers 503 with its code
                    user = None
            if user is not None:
                key = identity_key(user.id)
        if alongside and not _refused_lately(key):
            scope.setdefault("state", {})[COUNTING] = Counting(key)
            await self.app(scope, receive, send)
            return
        if await hit(key):
            await self.app(scope, receive, send)
            return
        _note_refused(key)
        await refuse(send)


def _may_count_alongside(scope: Scope, headers: list[tuple[bytes, bytes]]) -> bool:
    """POST /graphql without an Idempotency-Key: its endpoint awaits the count before any work is kept."""
    return (
        scope.get("method") == "POST"
        and scope.get("path") == "/graphql"
        and not any(name == IDEMPOTENCY_KEY for name, _ in headers)
    )
