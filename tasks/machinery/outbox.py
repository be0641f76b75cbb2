"""Writing and draining the outbox."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

from tortoise.expressions import F

from models import clock
from models.outbox import OutboxEvent
from tasks.machinery.retry import retrying

log = logging.getLogger("kongchuo.outbox")
BATCH = 500
CASE_CHANGED = "case.changed"  # payload {"case_id"}: the ladder may owe the case a step
FACT_CHANGED = "fact.changed"  # payload {"fact_id"}: a rule may owe the fact a task


async def emit(topic: str, payload: dict[str, Any], effective_on: date | None = None) -> OutboxEvent:
    """Call inside the transaction of the change itself, so both are written or neither."""
    return await OutboxEvent.create(topic=topic, payload=payload, effective_on=effective_on)


async def drain(handle: Callable[[Sequence[OutboxEvent]], Awaitable[None]]) -> int:
    """Hand pending events to `handle` in batches; mark them processed once it succeeds.

    `handle` must be idempotent: two workers may see the same batch, and a crash between
    handling and marking means the batch is handled again.
    """
    done = 0
    while True:
        batch = await OutboxEvent.filter(processed_at=None).order_by("id").limit(BATCH)
        if not batch:
            return done
        ids = [e.id for e in batch]
        try:
            await handle(batch)
        except Exception as exc:
            log.exception("outbox batch %s..%s failed; it will be retried", ids[0], ids[-1])
            await OutboxEvent.filter(id__in=ids).update(last_error=repr(exc)[:2000], attempts=F("attempts") + 1)
            raise
        # Two drains at once (coalesced nudges run side by side) may mark the same rows: a lost lock race is retried.
        await retrying(
            lambda ids=ids: OutboxEvent.filter(id__in=ids, processed_at=None).update(processed_at=clock.now()),
            "marking outbox events processed",
        )
        done += len(batch)  # and again: handling may have written new events (a step's task.created)
