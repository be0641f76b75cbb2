"""The floors under a one-client latency: what any server of our design pays before it does any work.

- HTTP: a request to an ASGI app that answers a fixed body at once, served as ours is (same uvicorn command),
  timed by the same load client.
- Redis: one count of the rate limit (the `limits` library's moving window, one EVALSHA, on the storage our server
  uses: api/rate_store.py), as our server counts every request, timed in the load client's process.
- PostgreSQL: `SELECT 1`, prepared, timed in the load client's process (the round trip under any statement).

A server that answers over HTTP and counts each request in Redis while its statement runs cannot answer faster
than HTTP plus the longer of the raw SQL and the count; the report sets that beside the goal of "2× raw SQL".
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter

from config import ROOT
from scripts.benchmarks.harness.database import time_statement
from scripts.benchmarks.harness.http import Answer, Stats, Target, one_client
from scripts.benchmarks.harness.servers import OurConfig, free_port, start_server, stop_server, wait_ready

BARE_APP = "scripts.benchmarks.harness.floors:bare_app"
BARE_BODY = b'{"data":{"__typename":"Query"}}'


async def bare_app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
    """Reads the request, answers a fixed JSON body."""
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": message["type"] + ".complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    while (await receive()).get("more_body"):
        pass
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(BARE_BODY)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": BARE_BODY})


@dataclass(frozen=True)
class Floors:
    http: Stats
    redis: Stats
    postgres: Stats


async def measure_floors(
    config: OurConfig, url: str, redis_url: str, iterations: int, warmup: int, log_dir: Path
) -> Floors:
    return Floors(
        await _http(config, iterations, warmup, log_dir),
        await _redis(redis_url, iterations, warmup),
        await _postgres(url, iterations, warmup),
    )


async def _http(config: OurConfig, iterations: int, warmup: int, log_dir: Path) -> Stats:
    port = free_port()
    command = [part if part != "api.asgi:app" else BARE_APP for part in config.command(port)]
    server = start_server("bare ASGI app", command, {**os.environ, "PYTHONPATH": str(ROOT)}, ROOT, port,
                          log_dir / "bare-app.log")  # fmt: skip
    request = ("/graphql", b'{"query":"{ __typename }"}', [])

    def check(answer: Answer) -> str | None:
        return None if answer.status == 200 and answer.body == BARE_BODY else f"HTTP {answer.status}"

    target = Target("bare", server.host, server.port, lambda i: (request, check))
    try:

        async def ready() -> bool:
            run = await one_client(target, 1, 0, timeout_s=2)
            return not run.errors

        await wait_ready(server, ready)
        return (await one_client(target, iterations, warmup)).stats
    finally:
        stop_server(server)


async def _redis(redis_url: str, iterations: int, warmup: int) -> Stats:
    from api.rate_store import CountingStorage

    limiter = MovingWindowRateLimiter(CountingStorage(redis_url))
    item = RateLimitItemPerMinute(1_000_000)
    samples = []
    for i in range(warmup + iterations):
        t0 = time.perf_counter()
        await limiter.hit(item, "kongchuo-bench-floor", f"user:{i % 200}")
        if i >= warmup:
            samples.append((time.perf_counter() - t0) * 1000)
    for n in range(200):
        await limiter.clear(item, "kongchuo-bench-floor", f"user:{n}")
    return Stats.of(samples)


async def _postgres(url: str, iterations: int, warmup: int) -> Stats:
    conn = await asyncpg.connect(url, server_settings={"jit": "off"})
    try:
        return await time_statement(conn, "SELECT 1", lambda i: (), iterations, warmup, lambda i, rows: None)
    finally:
        await conn.close()
