"""The load client: HTTP/1.1 keep-alive over raw asyncio streams, one connection per simulated client.

Its own cost per request is small (httpx cost 1 to 2 ms of CPU a request on this machine) and the same
for every server asked. One client or N clients in a closed loop; latencies as nearest-rank percentiles.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import socket
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import orjson


class HttpError(Exception):
    """The connection broke or the answer was not HTTP."""


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> dict[str, object]:
        value = orjson.loads(self.body)
        return value if isinstance(value, dict) else {"value": value}


class Connection:
    """One keep-alive HTTP/1.1 connection; requests are sent one after another."""

    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), timeout=self.timeout
        )
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes, headers: Sequence[tuple[str, str]] = ()) -> Answer:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in headers]
        head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        try:
            return await asyncio.wait_for(self._answer(), timeout=self.timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError) as exc:
            await self.close()
            raise HttpError(f"{type(exc).__name__}: {exc}") from exc

    async def _answer(self) -> Answer:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" in fields:
            body = await self.reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            body = await self._chunked()
        else:
            raise HttpError("an answer without length")
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return Answer(status, body)

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


# ---------------------------------------------------------------- what a run records


def percentile(ordered: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of a sorted, non-empty sample."""
    rank = math.ceil(p / 100 * len(ordered))
    return ordered[min(max(rank, 1), len(ordered)) - 1]


@dataclass(frozen=True)
class Stats:
    count: int
    median: float
    p90: float
    p99: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        ordered = sorted(samples)
        if not ordered:
            return cls(0, math.nan, math.nan, math.nan)
        return cls(len(ordered), statistics.median(ordered), percentile(ordered, 90), percentile(ordered, 99))


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    sent: int = 0  # with the unmeasured warm-up requests, for the CPU per request
    first_error: str | None = None
    elapsed_s: float = 0.0

    def failed(self, message: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or message

    def merge(self, other: Run) -> None:
        self.latencies_ms += other.latencies_ms
        self.errors += other.errors
        self.sent += other.sent
        self.first_error = self.first_error or other.first_error
        self.elapsed_s += other.elapsed_s

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + self.errors

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def stats(self) -> Stats:
        return Stats.of(self.latencies_ms)


# A request: path, body, headers; a check returns a problem or None.
Request = tuple[str, bytes, Sequence[tuple[str, str]]]
Check = Callable[[Answer], str | None]


@dataclass(frozen=True)
class Target:
    """A server and the page asked of it: `request(i)` is the i-th request, `check` vets each answer."""

    name: str
    host: str
    port: int
    request: Callable[[int], tuple[Request, Check]]


async def timed(conn: Connection, target: Target, i: int, run: Run, measured: bool = True) -> None:
    (path, body, headers), check = target.request(i)
    run.sent += 1
    t0 = time.perf_counter()
    try:
        answer = await conn.post(path, body, headers)
    except HttpError as exc:
        run.failed(str(exc))
        return
    elapsed = (time.perf_counter() - t0) * 1000
    problem = check(answer)
    if problem:
        run.failed(problem)
    elif measured:
        run.latencies_ms.append(elapsed)


async def one_client(target: Target, iterations: int, warmup: int, timeout_s: float = 30.0) -> Run:
    run = Run()
    conn = Connection(target.host, target.port, timeout_s)
    try:
        for i in range(warmup):
            await timed(conn, target, i, run, measured=False)
        t0 = time.perf_counter()
        for i in range(iterations):
            await timed(conn, target, warmup + i, run)
        run.elapsed_s = time.perf_counter() - t0
    finally:
        await conn.close()
    return run


async def closed_loop(target: Target, clients: int, seconds: float, offset: int = 0, timeout_s: float = 30.0) -> Run:
    """`clients` keep-alive connections asking back to back until the time is up."""
    run = Run()
    conns = [Connection(target.host, target.port, timeout_s) for _ in range(clients)]
    for n, conn in enumerate(conns):  # open and warm every connection before the clock starts
        await timed(conn, target, offset + n, run, measured=False)
    start = time.perf_counter()
    deadline = start + seconds

    async def loop(n: int, conn: Connection) -> None:
        i = offset + n
        while time.perf_counter() < deadline:
            await timed(conn, target, i, run)
            i += clients

    try:
        await asyncio.gather(*(loop(n, c) for n, c in enumerate(conns)))
    finally:
        run.elapsed_s = time.perf_counter() - start
        for conn in conns:
            await conn.close()
    return run


def graphql_check(then: Callable[[dict[str, object]], str | None] | None = None) -> Check:
    """HTTP 200 and no `errors`; then `then` on the answer's `data`, if given."""

    def check(answer: Answer) -> str | None:
        if answer.status != 200:
            return f"HTTP {answer.status}: {answer.body[:200]!r}"
        body = answer.json()
        if body.get("errors"):
            return f"errors: {body['errors']}"[:300]
        return then(body["data"]) if then is not None else None  # type: ignore[arg-type]

    return check
