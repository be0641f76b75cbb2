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
                if (now.month, now.day) in jobs.CALENDAR_DAYS:
                    await jobs.calendar_of_the_day(now.date())
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
