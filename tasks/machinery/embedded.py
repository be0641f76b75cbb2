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
from tasks.machinery.observed import observed

log = logging.getLogger("kongchuo.embedded")


async def run_once(swept_on: date | None) -> date | None:
    """One turn: the outbox, then the day's sweeps once the county's clock passes LADDER_SWEEP_HOUR.

    Returns the county day whose sweeps have run (`swept_on` when they had already run today).
    Hours are the county's (COUNTY_TIMEZONE), as in the worker's cron: 06:00 in Hutubi, not in UTC.
    """
    await observed("process_outbox", jobs.process_outbox)
    here = clock.local(clock.now())
    if here.hour < settings().ladder_sweep_hour or swept_on == here.date():
        return swept_on
    await observed("tick", jobs.tick)
    if (here.month, here.day) == (8, 1):
        await observed("duty_calendar", jobs.generate_duty_calendar)
    return here.date()


async def _loop() -> None:
    swept_on: date | None = None
    log.info(
        "in-process jobs started (no REDIS_URL): outbox every %.0f s, daily sweeps at %02d:00 %s",
        settings().job_interval_seconds,
        settings().ladder_sweep_hour,
        settings().county_timezone,
    )
    while True:
        with contextlib.suppress(Exception):  # already logged by `observed`, with what to do
            swept_on = await run_once(swept_on)
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
