"""Retrying work that lost a lock race: a deadlock or a serialization failure is a reason to try again."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger("kongchuo.retry")
T = TypeVar("T")
ATTEMPTS = 5
RETRIED_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def lost_a_lock_race(error: BaseException) -> bool:
    """asyncpg's DeadlockDetectedError / SerializationError, however Tortoise wrapped them; SQLite's busy lock."""
    seen: BaseException | None = error
    while seen is not None:
        if getattr(seen, "sqlstate", None) in RETRIED_SQLSTATES:
            return True
        if type(seen).__name__ in ("DeadlockDetectedError", "SerializationError"):
            return True
        if "database is locked" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def retrying(work: Callable[[], Awaitable[T]], what: str, attempts: int = ATTEMPTS) -> T:
    """Run `work`; after a deadlock or serialization failure, wait a little (jittered) and run it again."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except Exception as error:
            if attempt == attempts or not lost_a_lock_race(error):
                raise
            pause = random.uniform(0.05, 0.2) * attempt
            log.warning("%s lost a lock race (%s); attempt %d of %d in %.2f s", what, type(error).__name__,
                        attempt + 1, attempts, pause)  # fmt: skip
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")
