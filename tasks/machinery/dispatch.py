"""Nudging the workers after a change: through Redis (arq) when configured, else inside this process.

A nudge is only a hint. If it is lost (Redis down, a worker killed), the outbox still holds the
event and the periodic sweep handles it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, date, datetime
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from config import settings
from tasks.live import committed
from tasks.machinery import jobs
from tasks.machinery.observed import observed

log = logging.getLogger("kongchuo.dispatch")
_pool: ArqRedis | None = None
NUDGE_WINDOW_MS = 25
_local_lock = asyncio.Lock()
_delivery_lock = asyncio.Lock()
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
        with contextlib.suppress(Exception):  # logged by `observed` with what to do; the next sweep retries it
            await observed("process_outbox", jobs.process_outbox)


async def _enqueue_coalesced(job: str) -> None:
    """Calls within one short window share one job, run when the window ends: whatever was committed before a
    call is seen by the job, and a burst of changes costs one drain (and one publish) rather than one each."""
    window = time.time_ns() // (NUDGE_WINDOW_MS * 1_000_000) + 1
    run_at = datetime.fromtimestamp(window * NUDGE_WINDOW_MS / 1000, UTC)
    await (await _redis()).enqueue_job(job, _job_id=f"{job}:{window}", _defer_until=run_at)


async def nudge() -> None:
    """Ask for the outbox to be processed soon. Never raises: the sweep is the safety net.

    The request's committed live events are published first, by this process (tasks/live/committed.py)."""
    await committed.publish()
    if settings().redis_url:
        try:
            await _enqueue_coalesced("process_outbox")
        except Exception as exc:  # Redis down: the worker's cron sweep and start-up catch up
            log.warning("could not nudge the worker through Redis (%s); the sweep will catch up", exc)
        return
    task = asyncio.create_task(_run_local())
    _local_tasks.add(task)
    task.add_done_callback(_local_tasks.discard)


async def _deliver_local() -> None:
    async with _delivery_lock:
        try:
            await jobs.deliver_webhooks()
        except Exception:
            log.exception("in-process webhook delivery failed; the next run retries it")


async def deliveries_queued() -> None:
    """Webhook deliveries wait: a worker (or this process, without Redis) posts them soon. Never raises."""
    if settings().redis_url:
        try:
            await _enqueue_coalesced("deliver_webhooks")
        except Exception as exc:
            log.warning("could not ask a worker to deliver webhooks (%s); its 5-second run will", exc)
        return
    task = asyncio.create_task(_deliver_local())
    _local_tasks.add(task)
    task.add_done_callback(_local_tasks.discard)


async def _run_import_locally(run_id: int) -> None:
    try:
        await jobs.run_import(run_id)
    except Exception:
        log.exception("in-process import %s failed; the sweep retries it", run_id)


async def nudge_import(run_id: int) -> None:
    """Ask a worker to run a recorded import now. Never raises: a lost nudge is caught by the import sweep."""
    if settings().redis_url:
        try:
            await (await _redis()).enqueue_job("run_import", run_id, _job_id=f"import:{run_id}")
        except Exception as exc:
            log.warning("could not nudge the worker for import %s (%s); the sweep will take it", run_id, exc)
        return
    task = asyncio.create_task(_run_import_locally(run_id))
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
