"""The rate limit's Redis storage (api/rate_store.py): limits' moving window, each count on a connection of its own.

Against a private redis-server: counts asked at once are exact, and exact across two storages (two API
processes); a Redis that lost the script (restarted, flushed) and a connection cut by Redis are both
taken in stride.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis
from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter

from api.rate_store import CountingStorage
from tests.processes import environment, free_port, redis_args, redis_ready, running, wait_until

LIMIT = RateLimitItemPerMinute(10)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("rate-store")
    port = free_port()
    with running("redis", redis_args(port, tmp), environment(), tmp):
        wait_until(lambda: redis_ready(port), "redis")
        yield f"redis://127.0.0.1:{port}/0"


def limiter(redis_url: str) -> MovingWindowRateLimiter:
    return MovingWindowRateLimiter(CountingStorage(redis_url))


async def test_counts_asked_at_once_are_exact_across_two_processes(redis_url: str) -> None:
    one, other = limiter(redis_url), limiter(redis_url)
    hits = [(one if n % 2 else other).hit(LIMIT, "test", "caller-a") for n in range(25)]
    allowed = await asyncio.gather(*hits)
    assert allowed.count(True) == 10
    assert not await one.hit(LIMIT, "test", "caller-a") and not await other.hit(LIMIT, "test", "caller-a")
    assert await one.hit(LIMIT, "test", "caller-b")  # another caller's bucket
    assert (await one.get_window_stats(LIMIT, "test", "caller-a")).remaining == 0  # limits' own reading agrees


async def test_a_redis_that_lost_the_script_or_cut_the_connection_still_counts(redis_url: str) -> None:
    counting = limiter(redis_url)
    admin = redis.from_url(redis_url)
    try:
        assert await counting.hit(LIMIT, "test", "caller-c")
        await admin.script_flush()
        assert await counting.hit(LIMIT, "test", "caller-c")  # EVAL in full, then by its sha again
        assert await counting.hit(LIMIT, "test", "caller-c")
        await admin.client_kill_filter(_type="normal", skipme=True)
        with pytest.raises(redis.ConnectionError):  # api.rate_limit.hit lets such a request through, logged
            for _ in range(3):  # the cut is seen on the first write or the first read after it
                await counting.hit(LIMIT, "test", "caller-c")
        assert await counting.hit(LIMIT, "test", "caller-c")  # a fresh connection
    finally:
        await admin.aclose()
    stats = await counting.get_window_stats(LIMIT, "test", "caller-c")
    assert 4 <= 10 - stats.remaining <= 6


async def test_a_count_cancelled_in_flight_does_not_answer_the_next(redis_url: str) -> None:
    counting = limiter(redis_url)
    for _ in range(9):
        assert await counting.hit(LIMIT, "test", "caller-d")
    last = asyncio.ensure_future(counting.hit(LIMIT, "test", "caller-d"))  # the tenth: Redis will say yes
    await asyncio.sleep(0)  # sent; its answer not yet read
    last.cancel()
    with pytest.raises(asyncio.CancelledError):
        await last
    assert (await counting.get_window_stats(LIMIT, "test", "caller-d")).remaining == 0  # it was counted
    assert not await counting.hit(LIMIT, "test", "caller-d")  # the eleventh: not the yes left on the connection
