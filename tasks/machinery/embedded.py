"""The embedded default: without Redis, the server runs the same jobs itself on the same schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from config import settings
from models import clock
from models.outbox import OutboxEvent
from tasks.machinery import jobs

log = logging.getLogger("kongchuo.embedded")
DELIVERY_INTERVAL = 5.0  # webhook retries fall due on this beat


async def _loop() -> None:
    swept_on: date | None = None
    last_run = last_delivery = 0.0
    while True:
        try:
            moment = time.monotonic()
            # Changes made by other processes (the command line) are published within a second: one cheap query.
            if moment - last_run >= settings().job_interval_seconds or await OutboxEvent.exists(processed_at=None):
                await jobs.process_outbox()
                last_run = moment
            if moment - last_delivery >= DELIVERY_INTERVAL:
                await jobs.deliver_webhooks()
                last_delivery = moment
            now = clock.now()
            if now.hour >= settings().ladder_sweep_hour and swept_on != now.date():
                await jobs.tick()
                if (now.month, now.day) == (8, 1):
                    await jobs.generate_duty_calendar()
                swept_on = now.date()
        except Exception:
            log.exception("in-process job run failed; retrying at the next interval")
        await asyncio.sleep(min(settings().live_check_seconds, settings().job_interval_seconds))


@asynccontextmanager
async def in_process_jobs() -> AsyncIterator[None]:
    """Run the job loop for the life of the server, unless a Redis worker does the work."""
    if settings().redis_url:
        yield
        return
    runner = asyncio.create_task(_loop())
    try:
        yield
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
