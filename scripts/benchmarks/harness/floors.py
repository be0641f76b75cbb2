"""The floors under a one-client latency: what any server of our design pays before it does any work.

- HTTP: a request to an ASGI app that answers a fixed body at once, served as ours is (same uvicorn command),
  timed by the same load client.
- Redis: one count of the rate limit (the `limits` library's moving window, one EVALSHA, on the storage our server
  uses: api/rate_store.py), as our server counts every request, timed in the load client's process.
- PostgreSQL: `SELECT 1`, prepared, timed in the load client's process (the round trip under any statement).

A server that answers over HTTP and counts each request in Redis while its statement runs cannot answer faster
than HTTP plus the longer of the raw SQL and the count; the report sets that beside the goal of "2× raw SQL".

- A bare statement server (`statement_app`): the least a Python server does for a read. Served as ours is, it
  reads the request, runs the read's raw SQL through an asyncpg pool and answers the rows as JSON (orjson): no
  framework, no GraphQL, no token, no count, no log line. Ours is measured against it in the same turns.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import asyncpg
import orjson
from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter

from config import ROOT
from models.db import PooledConnection
from scripts.benchmarks.harness.database import time_statement
from scripts.benchmarks.harness.http import Answer, Stats, Target, one_client
from scripts.benchmarks.harness.servers import OurConfig, Server, free_port, start_server, stop_server, wait_ready

BARE_APP = "scripts.benchmarks.harness.floors:bare_app"
STATEMENT_APP = "scripts.benchmarks.harness.floors:statement_app"
STATEMENTS_ENV = "BENCH_STATEMENTS"  # the statements statement_app runs, a JSON list; a request names one by index
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


_pool: asyncpg.Pool | None = None


async def statement_app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
    """A request's body is [statement index, *arguments]; the answer is {"data": [rows]} as JSON."""
    global _pool
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            if _pool is None:
                _pool = await asyncpg.create_pool(
                    os.environ["DATABASE_URL"],
                    min_size=1,
                    max_size=4,
                    server_settings={"jit": "off"},
                    connection_class=PooledConnection,  # as our API's pool: no reset statement (models/db.py)
                )
            await send({"type": message["type"] + ".complete"})
        await _pool.close()
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    index, *args = orjson.loads(body)
    assert _pool is not None
    rows = await _pool.fetch(_statements()[index], *args)
    answer = orjson.dumps({"data": [dict(row) for row in rows]})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


@lru_cache(maxsize=1)
def _statements() -> list[str]:
    return list(orjson.loads(os.environ[STATEMENTS_ENV]))


def start_statement_server(config: OurConfig, url: str, statements: list[str], log_dir: Path) -> Server:
    """The bare statement server, served by the same command as ours (its processes, loop and HTTP parser)."""
    port = free_port()
    command = [part if part != "api.asgi:app" else STATEMENT_APP for part in config.command(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url}
    env[STATEMENTS_ENV] = orjson.dumps(statements).decode()
    return start_server("bare statement server", command, env, ROOT, port, log_dir / "statement-app.log")


def statement_target(server: Server, index: int, arguments: list[tuple[object, ...]]) -> Target:
    """Requests to the bare statement server for one read, rotating over its arguments; a row must come back."""
    requests = [("/", orjson.dumps([index, *args]), []) for args in arguments]

    def check(answer: Answer) -> str | None:
        if answer.status != 200:
            return f"HTTP {answer.status}: {answer.body[:200]!r}"
        return None if orjson.loads(answer.body)["data"] else "no rows"

    return Target(server.name, server.host, server.port, lambda i: (requests[i % len(requests)], check))


async def answers(target: Target) -> bool:
    return not (await one_client(target, 1, 0, timeout_s=2)).errors


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
        await wait_ready(server, lambda: answers(target))
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
