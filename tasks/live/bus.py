"""The bus every process hears: Redis pub/sub when REDIS_URL is set, else inside this process.

Redis pub/sub because every production process already talks to Redis, it reaches any number of
API processes with one connection each, and the database keeps the record (the outbox): a message
lost while a process was away is made good by the current state a subscriber gets on (re)connect.
PostgreSQL LISTEN/NOTIFY would hold one database connection per API process outside the pool
and would not exist on SQLite. Without Redis (the embedded default: one process) the same
messages go through an in-process broadcast.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
from redis import asyncio as aioredis

from config import settings

log = logging.getLogger("kongchuo.bus")
CHANNEL = "kongchuo:live"
_local_listeners: set[asyncio.Queue[dict[str, Any]]] = set()
_publisher: aioredis.Redis | None = None


async def publish(message: dict[str, Any]) -> None:
    """Send to every listening process. Never raises: subscribers catch up on reconnect."""
    message.setdefault("at", time.time())  # when it was sent (the benchmark times each hop with it)
    url = settings().redis_url
    if not url:
        for queue in list(_local_listeners):
            queue.put_nowait(message)
        return
    global _publisher
    try:
        if _publisher is None:
            _publisher = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        await _publisher.publish(CHANNEL, orjson.dumps(message))
    except Exception as error:  # Redis down: the outbox kept the change; reconnecting subscribers get the state
        log.warning("could not publish a live event (%s)", error)


async def close() -> None:
    global _publisher
    if _publisher is not None:
        with contextlib.suppress(Exception):
            await _publisher.aclose()
        _publisher = None


async def listen(on_message: Callable[[dict[str, Any]], Any], ready: asyncio.Event | None = None) -> None:
    """Call `on_message` for every message until cancelled; reconnects to Redis when it goes away."""
    async for message in _messages(ready):
        try:
            await on_message(message)
        except Exception:
            log.exception("a live message could not be handled")


async def _messages(ready: asyncio.Event | None) -> AsyncIterator[dict[str, Any]]:
    url = settings().redis_url
    if not url:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        _local_listeners.add(queue)
        if ready:
            ready.set()
        try:
            while True:
                yield await queue.get()
        finally:
            _local_listeners.discard(queue)
    reconnected = False
    while True:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
        try:
            async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(CHANNEL)
                if ready:
                    ready.set()
                if reconnected:  # messages may have been missed meanwhile: every subscriber gets the state again
                    yield {"resync": True}
                reconnected = True
                async for raw in pubsub.listen():
                    if raw.get("type") == "message":
                        yield orjson.loads(raw["data"])
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("lost the live bus (%s); reconnecting", error)
            await asyncio.sleep(1)
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()
