"""This API process's end of the live bus: open sockets, what each subscription waits for, revocations.

One listener per process hears the bus (tasks/live/bus.py) and wakes only the subscriptions a
message concerns; nothing polls the database. What woken subscriptions of one unit recompute is
shared (one count per unit and message, however many liaisons of the unit listen). A revoked
token's or deactivated user's sockets close with 4403 on every process; a token's sockets close
when it expires. Sockets per token are counted across processes (a sorted set in Redis, each
socket's entry kept fresh while it is open), else in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from redis import asyncio as aioredis
from starlette.types import ASGIApp, Receive, Scope, Send

from config import settings
from models import clock
from models.accounts import hash_token, token_expiry
from tasks.live import bus, committed
from tasks.live import events as live_events

log = logging.getLogger("kongchuo.live")
REVOKED_CLOSE_CODE = 4403
TOO_MANY_CLOSE_CODE = 4429
SOCKET_TTL = 90.0  # a socket's entry in Redis outlives its process by at most this
HEARTBEAT = 30.0
HEARD_KEPT = 100_000  # event ids remembered: far more than are published between the API's and the worker's
SLOW_SHARED = 0.2  # seconds: a shared read slower than this is logged
SHARED_GENERATIONS = 64  # results shared by the subscribers woken by one of the last this many messages
T = TypeVar("T")
Message = dict[str, Any]


@dataclass(eq=False)
class Watch:
    """A subscription waiting for messages about its `keys`; the task ids of those it missed pile up."""

    keys: tuple[Hashable, ...]
    generation: int
    event: asyncio.Event = field(default_factory=asyncio.Event)
    task_ids: set[int] = field(default_factory=set)

    def notify(self, message: Message, generation: int) -> None:
        self.task_ids.update(message.get("task_ids", ()))
        self.generation = generation
        self.event.set()

    async def changes(self) -> set[int]:
        """Wait for the next message that concerns this subscription; the tasks it (and any before it) named."""
        await self.event.wait()
        self.event.clear()
        ids, self.task_ids = self.task_ids, set()
        return ids


def unit_key(unit_id: int | None) -> Hashable:
    return ("unit", unit_id)


def case_key(case_id: int) -> Hashable:
    return ("case", case_id)


ESCALATIONS: Hashable = ("escalations",)


def _keys(message: Message) -> set[Hashable]:
    """Which watches a message wakes: those of its units, its cases and, for an escalation, the office's."""
    keys = {unit_key(u) for u in message.get("unit_ids", ())} | {case_key(c) for c in message.get("case_ids", ())}
    if message.get("escalated_task_ids"):
        keys.add(ESCALATIONS)
    return keys


@dataclass(eq=False)
class OpenSocket:
    socket_id: str
    token_hash: str
    user_id: int
    close: Callable[[int, str], Awaitable[None]]
    expiry: asyncio.Task[None] | None = None


class Hub:
    def __init__(self) -> None:
        self.sockets: dict[str, OpenSocket] = {}
        self.watches: dict[Hashable, set[Watch]] = {}
        self.generation = 0
        self._heard: dict[int, None] = {}  # event ids, oldest first: the worker publishes again what the API did
        self._shared: dict[tuple[int, Any], asyncio.Future[Any]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: aioredis.Redis | None = None

    async def start(self) -> None:
        ready = asyncio.Event()
        self._tasks.append(asyncio.create_task(bus.listen(self.on_message, ready)))
        if settings().redis_url:
            self._redis = aioredis.Redis.from_url(settings().redis_url, socket_connect_timeout=2, socket_timeout=5)
            self._tasks.append(asyncio.create_task(self._heartbeat()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), 5)  # Redis down at start: the listener keeps trying

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None

    # -- messages ---------------------------------------------------------------------------------------

    def _unheard(self, message: Message) -> Message | None:
        """What the message says that this process has not heard yet (each event counts once), or None."""
        if "events" not in message:  # from a process of the version before events were listed (an upgrade)
            return message
        fresh = [e for e in message.get("events", ()) if e.get("id") not in self._heard]
        if not fresh:
            return None
        for one in fresh:
            self._heard[one["id"]] = None
        while len(self._heard) > HEARD_KEPT:
            del self._heard[next(iter(self._heard))]
        return live_events.merged(fresh)

    async def on_message(self, message: Message) -> None:
        everyone = bool(message.get("resync"))
        concerns = {} if everyone else self._unheard(message)
        if concerns is None:
            return
        hashes, users = set(concerns.get("token_hashes", ())), set(concerns.get("user_ids", ()))
        if hashes or users:
            for socket in [s for s in self.sockets.values() if s.token_hash in hashes or s.user_id in users]:
                await self._close(socket, REVOKED_CLOSE_CODE, "token revoked")
        self.generation += 1
        for cached in [k for k in self._shared if k[0] < self.generation - SHARED_GENERATIONS]:
            del self._shared[cached]
        keys = self.watches.keys() if everyone else _keys(concerns)
        for watch in {w for key in keys for w in self.watches.get(key, ())}:
            watch.notify(concerns, self.generation)

    @contextlib.contextmanager
    def watch(self, *keys: Hashable) -> Iterator[Watch]:
        watch = Watch(keys, self.generation)
        for key in keys:
            self.watches.setdefault(key, set()).add(watch)
        try:
            yield watch
        finally:
            for key in keys:
                watching = self.watches.get(key)
                if watching is not None:
                    watching.discard(watch)
                    if not watching:
                        del self.watches[key]

    async def shared(self, generation: int, key: Any, compute: Callable[[], Awaitable[T]]) -> T:
        """`compute()` once per message and key in this process, however many of its subscribers ask: all the
        subscriptions of a unit woken by one message share one read of the database."""
        cache_key = (generation, key)
        future = self._shared.get(cache_key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._shared[cache_key] = future
            started = time.monotonic()
            try:
                future.set_result(await compute())
                took = time.monotonic() - started
                if took > SLOW_SHARED:  # where a push's time goes: the database (or waiting for a pooled connection)
                    what = " ".join(str(part) for part in key[:2]) if isinstance(key, tuple) else str(key)
                    log.info("live: reading %s took %.0f ms for the subscribers it woke", what, took * 1000)
            except Exception as error:
                future.set_exception(error)
                self._shared.pop(cache_key, None)
                raise
        return await asyncio.shield(future)

    # -- sockets ----------------------------------------------------------------------------------------

    async def admit(self, token: str, user_id: int, close: Callable[[int, str], Awaitable[None]]) -> OpenSocket | None:
        """Register a signed-in socket; None when its token already has the most sockets allowed."""
        token_hash = hash_token(token)
        socket = OpenSocket(uuid.uuid4().hex, token_hash, user_id, close)
        cap = settings().ws_max_sockets_per_token
        if self._redis is not None:
            key = _sockets_key(token_hash)
            now = time.time()
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.zremrangebyscore(key, 0, now)
                    pipe.zadd(key, {socket.socket_id: now + SOCKET_TTL})
                    pipe.zcard(key)
                    pipe.expire(key, int(SOCKET_TTL) + 30)
                    _, _, count, _ = await pipe.execute()
                if cap > 0 and count > cap:
                    await self._redis.zrem(key, socket.socket_id)
                    return None
            except Exception as error:  # Redis down: the cap is kept in this process only meanwhile
                log.warning("socket count unavailable (%s)", error)
                if cap > 0 and self._local_count(token_hash) >= cap:
                    return None
        elif cap > 0 and self._local_count(token_hash) >= cap:
            return None
        self.sockets[socket.socket_id] = socket
        expires = await token_expiry(token)
        if expires is not None:
            socket.expiry = asyncio.create_task(self._close_at(socket, (expires - clock.now()).total_seconds()))
        return socket

    def _local_count(self, token_hash: str) -> int:
        return sum(1 for s in self.sockets.values() if s.token_hash == token_hash)

    async def release(self, socket: OpenSocket) -> None:
        if self.sockets.pop(socket.socket_id, None) is None:
            return
        if socket.expiry is not None:
            socket.expiry.cancel()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.zrem(_sockets_key(socket.token_hash), socket.socket_id)

    async def _close(self, socket: OpenSocket, code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await socket.close(code, reason)
        await self.release(socket)

    async def _close_at(self, socket: OpenSocket, seconds: float) -> None:
        await asyncio.sleep(max(min(seconds, timedelta(days=30).total_seconds()), 0))
        socket.expiry = None
        await self._close(socket, REVOKED_CLOSE_CODE, "token expired")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            if self._redis is None or not self.sockets:
                continue
            deadline = time.time() + SOCKET_TTL
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for socket in list(self.sockets.values()):
                        pipe.zadd(_sockets_key(socket.token_hash), {socket.socket_id: deadline})
                        pipe.expire(_sockets_key(socket.token_hash), int(SOCKET_TTL) + 30)
                    await pipe.execute()
            except Exception as error:
                log.warning("could not refresh socket counts (%s)", error)


class PublishCommitted:
    """ASGI middleware: a request's committed live events go on the bus as soon as its work is done
    (tasks/live/committed.py; dispatch.nudge publishes them earlier, right after the commit)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with committed.collecting():
            try:
                await self.app(scope, receive, send)
            finally:
                await committed.publish()


def _sockets_key(token_hash: str) -> str:
    return f"kongchuo:sockets:{token_hash}"


hub = Hub()
