"""The change's own process publishes its live events right after the commit, ahead of the worker.

A request's outbox rows of live kinds are noted as they are written (collecting(), opened for every
HTTP request); once the request's transaction is over (dispatch.nudge), the ones that were committed
go on the bus at once, not after the nudge, the worker's poll and its drain. The outbox stays the
durable path: the worker still drains every event (webhooks, the ladder) and publishes it again, and
each API process hears an event once (api/live.py drops event ids it has heard), so a subscriber
neither gets a change twice nor misses one when this process dies between its commit and this.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.signals import post_save

from models.outbox import OutboxEvent
from tasks.live import bus
from tasks.live.events import LIVE_TOPICS, summary

log = logging.getLogger("kongchuo.live")
_noted: ContextVar[list[OutboxEvent] | None] = ContextVar("live_events_noted", default=None)


@contextlib.contextmanager
def collecting() -> Iterator[None]:
    """Note the live events written from here on (in this task and the tasks it starts)."""
    token = _noted.set([])
    try:
        yield
    finally:
        _noted.reset(token)


@post_save(OutboxEvent)
async def _note(sender: type[OutboxEvent], event: OutboxEvent, created: bool, *_: Any) -> None:
    noted = _noted.get()
    if created and noted is not None and event.topic in LIVE_TOPICS:
        noted.append(event)


def _in_transaction() -> bool:
    return isinstance(connections.get("default"), TransactionalDBClient)


async def publish() -> None:
    """Publish the noted events that are committed. Inside a transaction it waits for the call after the
    commit (publishing earlier would wake subscribers to the state before the change). Never raises."""
    noted = _noted.get()
    if not noted or _in_transaction():
        return
    events, noted[:] = list(noted), []
    try:  # a rolled-back transaction's rows are gone: only what the database kept is announced
        kept = set(await OutboxEvent.filter(id__in=[e.id for e in events]).values_list("id", flat=True))
        message = summary([e for e in events if e.id in kept], source="api")
        if message is not None:
            await bus.publish(message)
    except Exception as error:  # the worker's drain publishes them all the same
        log.warning("could not publish live events right after the commit (%s)", error)
