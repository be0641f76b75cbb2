"""Every background job, in the worker or in the server: one log line with its outcome and time, and its metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, is_dataclass
from typing import Any, TypeVar

from models.db import database_unavailable
from tasks.machinery import metrics
from tasks.machinery.failures import explain

T = TypeVar("T")
log = logging.getLogger("kongchuo.jobs")


def advice(error: BaseException) -> tuple[str, bool]:
    """What an operator should do about a job's failure, and whether the traceback helps."""
    known = explain(error)  # a database that is missing, a role, a password, Redis: the same line as the CLI's
    if known is not None:
        return known, False
    if database_unavailable(error):
        return (
            "数据库连不上 (database out of reach): check DATABASE_URL and that PostgreSQL is running; "
            "the job runs again at its next turn and nothing is lost (events wait in the outbox)",
            False,
        )
    text = f"{type(error).__module__}.{type(error).__name__}"
    if text.startswith(("redis.", "arq.")) or isinstance(error, ConnectionError):
        return (
            "Redis 连不上 (Redis out of reach): check REDIS_URL and that redis-server is running; "
            "the worker waits for it and then catches up",
            False,
        )
    return (
        "任务出错 (a fault in the job): the traceback follows; arq retries it, the daily sweep catches up; "
        "if it fails again, report this line and the traceback",
        True,
    )


def summary(result: Any) -> Any:
    if is_dataclass(result) and not isinstance(result, type):
        return asdict(result)
    return result


async def observed(job: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run one job: count it, time it, and log one line saying how it went."""
    started = time.perf_counter()
    try:
        result = await work()
    except Exception as error:
        seconds = time.perf_counter() - started
        metrics.JOBS.labels(job, "failed").inc()
        metrics.JOB_SECONDS.labels(job).observe(seconds)
        what_to_do, trace = advice(error)
        log.error(
            "job %s failed after %.2f s: %s: %s. %s",
            job,
            seconds,
            type(error).__name__,
            str(error)[:300],
            what_to_do,
            exc_info=trace,
            extra={"job": job, "outcome": "failed", "seconds": round(seconds, 3), "_in_message": ("job", "seconds")},
        )
        raise
    seconds = time.perf_counter() - started
    metrics.JOBS.labels(job, "ok").inc()
    metrics.JOB_SECONDS.labels(job).observe(seconds)
    log.info(
        "job %s ok in %.2f s: %s",
        job,
        seconds,
        summary(result),
        extra={"job": job, "outcome": "ok", "seconds": round(seconds, 3), "_in_message": ("job", "seconds")},
    )
    return result
