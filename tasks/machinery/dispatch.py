"""Nudging the workers after a change: through Redis (arq) when configured, else inside this process.

A nudge is only a hint. If it is lost (Redis down, a worker killed), the outbox still holds the
event and the periodic sweep handles it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from config import settings
from tasks.machinery import jobs

log = logging.getLogger("kongchuo.dispatch")
_pool: ArqRedis | None = None
_local_lock = asyncio.Lock()
_local_tasks: set[asyncio.Task[Any]] = set()


async def _redis() -> ArqRedis:
    global _pool
    if _pool is None:
        redis = RedisSettings.from_dsn(settings().redis_url or "")
        redis.conn_retries, redis.conn_timeout = 0, 2  # a nudge must never hold up a request
        _pool = await create_pool(redis)
    return _pool


async def _run_local() -> None:
    async with _local_lock:
        try:
            await jobs.process_outbox()
        except Exception:
            log.exception("in-process outbox run failed; the next sweep retries it")


async def nudge() -> None:
    """Ask for the outbox to be processed soon. Never raises: the sweep is the safety net."""
    if settings().redis_url:
        try:
            await (await _redis()).enqueue_job("process_outbox")
        except Exception as exc:  # Redis down: the worker's cron sweep and start-up catch up
            log.warning("could not nudge the worker through Redis (%s); the sweep will catch up", exc)
        return
    task = asyncio.create_task(_run_local())
    _local_tasks.add(task)
    task.add_done_callback(_local_tasks.discard)


async def _crosscheck_local(run_id: int) -> None:
    try:
        await jobs.crosscheck(run_id=run_id)
    except Exception:
        log.exception("in-process cross-check run %s failed (recorded on the run)", run_id)


async def crosscheck(run_id: int) -> None:
    """Have a started cross-check run done: by a worker through Redis, else in this process."""
    if settings().redis_url:
        try:
            await (await _redis()).enqueue_job("crosscheck", None, run_id)
            return
        except Exception as exc:
            log.warning("could not reach the worker through Redis (%s); running the cross-check here", exc)
    task = asyncio.create_task(_crosscheck_local(run_id))
    _local_tasks.add(task)
    task.add_done_callback(_local_tasks.discard)


async def run_crosscheck(as_of: date | None, wait_seconds: float = 600) -> dict[str, Any]:
    """`manage crosscheck run`: through the worker when Redis is configured, else here; returns the summary."""
    from tasks.registers.crosscheck import start_run

    run = await start_run(None, as_of)
    if settings().redis_url:
        job = await (await _redis()).enqueue_job("crosscheck", None, run.id)
        if job is None:
            raise RuntimeError("a cross-check is already queued; wait for it to finish")
        return await job.result(timeout=wait_seconds)
    return await jobs.crosscheck(run_id=run.id)


async def settle() -> None:
    """Wait for in-process nudges still running (shutdown, and tests that assert on their effect)."""
    while _local_tasks:
        await asyncio.gather(*list(_local_tasks), return_exceptions=True)


async def run_tick(as_of: date | None, wait_seconds: float = 300) -> dict[str, int]:
    """`manage tick`: through the worker when Redis is configured, so the real worker does the work."""
    if settings().redis_url:
        job = await (await _redis()).enqueue_job("tick", as_of.isoformat() if as_of else None)
        if job is None:
            raise RuntimeError("a tick is already queued; wait for it to finish")
        return await job.result(timeout=wait_seconds)
    result = await jobs.tick(as_of)
    return {"cases": result.cases, "tasks_created": result.tasks_created}


async def close() -> None:
    global _pool
    await settle()
    if _pool is not None:
        await _pool.close()
        _pool = None
