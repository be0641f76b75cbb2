"""The embedded default: without Redis, the server runs the same jobs itself on the same schedule."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

from config import settings
from models import clock
from tasks.machinery import jobs

log = logging.getLogger("kongchuo.embedded")


async def _loop() -> None:
    swept_on: date | None = None
    while True:
        try:
            await jobs.process_outbox()
            now = clock.now()
            if now.hour >= settings().ladder_sweep_hour and swept_on != now.date():
                await jobs.tick()
                if (now.month, now.day) == (8, 1):
                    await jobs.generate_duty_calendar()
                await jobs.scheduled_crosscheck()  # only on the day after the county's cross-check date
                swept_on = now.date()
        except Exception:
            log.exception("in-process job run failed; retrying at the next interval")
        await asyncio.sleep(settings().job_interval_seconds)


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
