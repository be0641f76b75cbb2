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
from tasks.live import falling_due
from tasks.machinery import jobs
from tasks.machinery.observed import observed

log = logging.getLogger("kongchuo.embedded")
DELIVERY_INTERVAL = 5.0  # webhook retries fall due on this beat


async def run_once(swept_on: date | None, *, outbox_due: bool = True, deliveries_due: bool = True) -> date | None:
    """One turn: the outbox, webhook deliveries, then the day's sweeps once the county's clock passes
    LADDER_SWEEP_HOUR.

    Returns the county day whose sweeps have run (`swept_on` when they had already run today).
    Hours are the county's (COUNTY_TIMEZONE), as in the worker's cron: 06:00 in Hutubi, not in UTC.
    """
    if outbox_due:
        await observed("announce_overdue", falling_due.announce_overdue)  # drained just below
        await observed("process_outbox", jobs.process_outbox)
        await observed("run_pending_imports", jobs.run_pending_imports)
    if deliveries_due:
        await observed("deliver_webhooks", jobs.deliver_webhooks)
    here = clock.local(clock.now())
    if here.hour < settings().ladder_sweep_hour or swept_on == here.date():
        return swept_on
    await observed("tick", jobs.tick)
    if (here.month, here.day) in jobs.CALENDAR_DAYS:
        await observed("duty_calendar", lambda: jobs.calendar_of_the_day(here.date()))
    await observed("scheduled_crosscheck", jobs.scheduled_crosscheck)  # only the day after the county's date
    return here.date()


async def _loop() -> None:
    swept_on: date | None = None
    last_run = last_delivery = 0.0
    log.info(
        "in-process jobs started (no REDIS_URL): outbox every %.0f s, daily sweeps at %02d:00 %s",
        settings().job_interval_seconds,
        settings().ladder_sweep_hour,
        settings().county_timezone,
    )
    while True:
        with contextlib.suppress(Exception):  # already logged by `observed`, with what to do
            moment = time.monotonic()
            # Changes made by other processes (the command line) are published within a second: one cheap query.
            outbox_due = moment - last_run >= settings().job_interval_seconds or await OutboxEvent.exists(
                processed_at=None
            )
            deliveries_due = moment - last_delivery >= DELIVERY_INTERVAL
            swept_on = await run_once(swept_on, outbox_due=outbox_due, deliveries_due=deliveries_due)
            last_run = moment if outbox_due else last_run
            last_delivery = moment if deliveries_due else last_delivery
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
