"""Subscriptions (graphql-transport-ws only): a live view of the viewer's queue.

The token is checked again before every update, so a revoked token ends the subscription and
closes the socket at once (code 4403).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator

import strawberry

from api.context import Info, require_viewer
from api.errors import Unauthenticated
from models import clock
from models.accounts import authenticate
from tasks.queue.lists import TaskCriteria, queue_criteria, unit_task_queries

POLL_SECONDS = 2.0
REVOKED_CLOSE_CODE = 4403


@strawberry.type(description="The viewer's queue as it is now: how many open, how many overdue.")
class QueueUpdate:
    at: dt.datetime
    open_count: int
    overdue_count: int


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Counts of the viewer's open and overdue tasks, again whenever they change.")
    async def task_queue_counts(self, info: Info) -> AsyncGenerator[QueueUpdate, None]:
        viewer = require_viewer(info)
        token = info.context.token
        last: tuple[int, int] | None = None
        while True:
            if token is None or await authenticate(token) is None:
                socket = info.context.request
                if hasattr(socket, "close"):
                    await socket.close(code=REVOKED_CLOSE_CODE, reason="token revoked or expired")
                raise Unauthenticated("令牌已失效 (token revoked or expired)")
            await clock.refresh()
            counts = (
                await _count(viewer, queue_criteria(TaskCriteria())),
                await _count(viewer, queue_criteria(TaskCriteria(overdue=True))),
            )
            if counts != last:
                last = counts
                yield QueueUpdate(at=clock.local(clock.now()), open_count=counts[0], overdue_count=counts[1])
            await asyncio.sleep(POLL_SECONDS)


async def _count(viewer, criteria: TaskCriteria) -> int:  # type: ignore[no-untyped-def]
    return sum([await q.count() for q in unit_task_queries(viewer, criteria)])
