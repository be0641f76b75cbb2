"""The arq worker: `./scripts/manage worker`. Redis carries nudges and the schedule, never the only copy."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import date
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker, get_kwargs
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from tortoise import Tortoise

from config import settings
from models import clock
from models.db import tortoise_config
from tasks.machinery import jobs

log = logging.getLogger("kongchuo.worker")


async def startup(ctx: dict[str, Any]) -> None:
    await Tortoise.init(config=tortoise_config(), _enable_global_fallback=True)
    await jobs.process_outbox()  # catch up with whatever arrived while no worker ran


async def shutdown(ctx: dict[str, Any]) -> None:
    await Tortoise.close_connections()


async def process_outbox(ctx: dict[str, Any]) -> int:
    return await jobs.process_outbox()


async def ladder_sweep(ctx: dict[str, Any], as_of: str | None = None) -> dict[str, int]:
    result = await jobs.ladder_sweep(date.fromisoformat(as_of) if as_of else None)
    return {"cases": result.cases, "tasks_created": result.tasks_created}


async def duty_calendar(ctx: dict[str, Any], school_year: str | None = None) -> int:
    return await jobs.generate_duty_calendar(school_year)


async def tick(ctx: dict[str, Any], as_of: str | None = None) -> dict[str, int]:
    result = await jobs.tick(date.fromisoformat(as_of) if as_of else None)
    return {"cases": result.cases, "tasks_created": result.tasks_created}


async def crosscheck(ctx: dict[str, Any], as_of: str | None = None, run_id: int | None = None) -> dict[str, Any]:
    return await jobs.crosscheck(date.fromisoformat(as_of) if as_of else None, run_id)


async def scheduled_crosscheck(ctx: dict[str, Any]) -> dict[str, Any] | None:
    return await jobs.scheduled_crosscheck()


def redis_settings() -> RedisSettings:
    url = settings().redis_url
    if not url:
        raise SystemExit("REDIS_URL is not set: the worker needs Redis (without it, jobs run inside the server)")
    return RedisSettings.from_dsn(url)


class WorkerSettings:
    functions = [process_outbox, ladder_sweep, tick, duty_calendar, crosscheck]
    cron_jobs = [
        cron(process_outbox, second={0, 30}, run_at_startup=False, unique=True),
        cron(tick, hour={settings().ladder_sweep_hour}, minute={0}, unique=True),  # the day's sweeps
        cron(duty_calendar, month={8}, day={1}, hour={settings().ladder_sweep_hour}, minute={30}, unique=True),
        # Daily; it runs the cross-check only on the day after the county's date (policy crosscheck.as_of).
        cron(scheduled_crosscheck, hour={settings().ladder_sweep_hour}, minute={45}, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = redis_settings() if settings().redis_url else RedisSettings()
    timezone = clock.COUNTY_TZ
    max_tries = 5
    job_timeout = 600
    keep_result = 60


class ResilientWorker(Worker):
    """arq's worker stops for good when Redis goes away while it runs; this one waits for Redis to come back,
    then drains the outbox at once (what was recorded meanwhile waited there, as always) and goes on."""

    _redis_lost_at: float | None = None

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
        # redis-py reports a connection lost while arq watches a job's keys as a WatchError.
        except (RedisConnectionError, RedisTimeoutError, WatchError, OSError) as error:
            if self._redis_lost_at is None:
                self._redis_lost_at = time.monotonic()
                log.warning("lost Redis (%s); waiting for it to come back", error)
            await asyncio.sleep(1)
            return
        if self._redis_lost_at is not None:
            lost_for, self._redis_lost_at = time.monotonic() - self._redis_lost_at, None
            log.warning("Redis is back after %.0f s; catching up with the outbox", lost_for)
            await _catch_up()


async def _catch_up() -> None:
    try:
        await jobs.process_outbox()
    except Exception:
        log.exception("catching up with the outbox failed; the half-minute sweep tries again")


def run() -> None:
    """`manage worker`: the worker until SIGINT or SIGTERM, through Redis outages."""
    ResilientWorker(**get_kwargs(WorkerSettings)).run()  # type: ignore[arg-type]
