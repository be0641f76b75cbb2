"""The arq worker: `./scripts/manage worker`. Redis carries nudges and the schedule, never the only copy."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import date
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.constants import default_queue_name
from arq.worker import Worker, func, get_kwargs
from prometheus_client import start_http_server
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from tortoise import Tortoise

from config import settings
from models import clock
from models.db import tortoise_config
from tasks.live import bus
from tasks.machinery import jobs, logs, metrics
from tasks.machinery.observed import observed

log = logging.getLogger("kongchuo.worker")
IMPORT_TIMEOUT = 4 * 3600


async def startup(ctx: dict[str, Any]) -> None:
    logs.configure()
    await Tortoise.init(config=tortoise_config(), _enable_global_fallback=True)
    s = settings()
    log.info(
        "worker started: queue %s; jobs %s; Redis %s; database %s; daily sweeps at %02d:00 %s",
        default_queue_name,
        ", ".join(getattr(f, "name", None) or f.__name__ for f in WorkerSettings.functions),
        logs.redact(s.redis_url),
        logs.redact(s.database_url),
        s.ladder_sweep_hour,
        s.county_timezone,
        extra={"queue": default_queue_name, "redis": logs.redact(s.redis_url), "database": logs.redact(s.database_url)},
    )
    if s.worker_metrics_port and not metrics.multiprocess_dir():
        start_http_server(s.worker_metrics_port)
        log.info("worker metrics on :%d/metrics", s.worker_metrics_port)
    await observed("process_outbox", jobs.process_outbox)  # catch up with whatever arrived while no worker ran


async def run_import(ctx: dict[str, Any], run_id: int) -> str:
    return await jobs.run_import(run_id)


async def import_sweep(ctx: dict[str, Any]) -> int:
    return await jobs.run_pending_imports()


async def shutdown(ctx: dict[str, Any]) -> None:
    await bus.close()
    await Tortoise.close_connections()
    metrics.process_exited(os.getpid())
    log.info("worker stopped")


async def process_outbox(ctx: dict[str, Any]) -> int:
    return await observed("process_outbox", jobs.process_outbox)


async def ladder_sweep(ctx: dict[str, Any], as_of: str | None = None) -> dict[str, int]:
    result = await observed("ladder_sweep", lambda: jobs.ladder_sweep(date.fromisoformat(as_of) if as_of else None))
    return {"cases": result.cases, "tasks_created": result.tasks_created}


async def duty_calendar(ctx: dict[str, Any], school_year: str | None = None) -> int:
    return await observed("duty_calendar", lambda: jobs.generate_duty_calendar(school_year))


async def announce_overdue(ctx: dict[str, Any]) -> int:
    return await observed("announce_overdue", jobs.announce_overdue)


async def deliver_webhooks(ctx: dict[str, Any]) -> int:
    return await jobs.deliver_webhooks()


async def calendar_of_the_day(ctx: dict[str, Any]) -> int:
    return await jobs.calendar_of_the_day()


async def tick(ctx: dict[str, Any], as_of: str | None = None) -> dict[str, int]:
    result = await observed("tick", lambda: jobs.tick(date.fromisoformat(as_of) if as_of else None))
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
    functions = [
        process_outbox,
        ladder_sweep,
        tick,
        duty_calendar,
        calendar_of_the_day,
        crosscheck,
        deliver_webhooks,
        func(run_import, timeout=IMPORT_TIMEOUT),  # a big file may take longer than job_timeout
        func(import_sweep, timeout=IMPORT_TIMEOUT),
    ]
    cron_jobs = [
        cron(process_outbox, second={0, 30}, run_at_startup=False, unique=True),
        cron(deliver_webhooks, second=set(range(0, 60, 5)), run_at_startup=True, unique=True),  # retries fall due
        cron(announce_overdue, second={20}, run_at_startup=True, unique=True),  # deadlines passing by the clock
        cron(import_sweep, second={15, 45}, run_at_startup=True, unique=True, timeout=IMPORT_TIMEOUT),  # lost nudges
        cron(tick, hour={settings().ladder_sweep_hour}, minute={0}, unique=True),  # the day's sweeps
        # 1 June: the coming year's census preparation; 1 August: the whole year.
        cron(calendar_of_the_day, month={6, 8}, day={1}, hour={settings().ladder_sweep_hour}, minute={30}, unique=True),
        # Daily; it runs the cross-check only on the day after the county's date (policy crosscheck.as_of).
        cron(scheduled_crosscheck, hour={settings().ladder_sweep_hour}, minute={45}, unique=True),
    ]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = redis_settings() if settings().redis_url else RedisSettings()
    timezone = clock.COUNTY_TZ
    max_tries = 5
    poll_delay = 0.05  # a nudge is picked up within 50 ms: pushed subscriptions wait on it
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
                log.warning(
                    "lost Redis (%s); waiting for it to come back. Check REDIS_URL (%s) and that redis-server is "
                    "running; events wait in the outbox meanwhile",
                    error,
                    logs.redact(settings().redis_url),
                )
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
    logs.configure()
    ResilientWorker(**get_kwargs(WorkerSettings)).run()  # type: ignore[arg-type]
