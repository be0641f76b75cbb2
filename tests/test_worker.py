"""The worker rides out Redis going away, however redis-py reports it, and catches up when it is back."""

from __future__ import annotations

import logging

import pytest
from arq.connections import RedisSettings
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import WatchError

from tasks.machinery import outbox
from tasks.machinery.worker import ResilientWorker, process_outbox


@pytest.mark.parametrize(
    "lost",
    [
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connect call failed"),
        # What the province benchmark's worker died of: Redis stopped while arq watched a job's keys.
        WatchError("A ConnectionError occurred on while watching one or more keys"),
    ],
)
async def test_the_worker_waits_for_redis_then_drains_the_outbox(database, monkeypatch, caplog, lost) -> None:
    polls: list[int] = []

    async def redis_away_once(self: Worker) -> None:  # arq's own poll, with Redis gone the first time
        polls.append(1)
        if len(polls) == 1:
            raise lost

    monkeypatch.setattr(Worker, "_poll_iteration", redis_away_once)
    worker = ResilientWorker(functions=[process_outbox], redis_settings=RedisSettings())
    caplog.set_level(logging.INFO, logger="kongchuo")

    await worker._poll_iteration()
    waiting = worker._redis_lost_at
    recorded_meanwhile = await outbox.emit(outbox.CASE_CHANGED, {"case_id": 2_000_000_000})
    await worker._poll_iteration()

    assert waiting is not None and worker._redis_lost_at is None
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("kongchuo")]
    assert any(m.startswith("lost Redis") for m in messages)
    assert any(m.startswith("Redis is back") for m in messages)
    await recorded_meanwhile.refresh_from_db()
    assert recorded_meanwhile.processed_at is not None  # drained as soon as Redis answered again
