"""The processes a benchmark starts and stops: our API (uvicorn or another ASGI server), the arq worker,
a private redis-server; what they cost, read from /proc (CPU, resident memory, summed over a process group).

Every process is started in a session of its own and stopped as a group: SIGTERM, SIGKILL after a grace.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from config import ROOT
from scripts.benchmarks.harness.http import Connection, HttpError

# ---------------------------------------------------------------- what a process costs


def children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(proc.name))
    return children


def process_tree(root: int) -> list[int]:
    tree, found, todo = children_of(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += tree.get(pid, [])
    return found


def rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
        return int(next(line.split()[1] for line in status if line.startswith("VmRSS:")))
    return 0


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 once it has gone)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def postgres_cpu() -> dict[int, float]:
    """User + system CPU seconds of each PostgreSQL process on this machine (the server runs here), by pid."""
    seconds: dict[int, float] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if (proc / "comm").read_text().strip() == "postgres":
                    seconds[int(proc.name)] = cpu_seconds(int(proc.name))
    return seconds


def postgres_cpu_since(before: dict[int, float]) -> float:
    """CPU the PostgreSQL processes spent since `before` (a process that has exited since is not counted)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in postgres_cpu().items())


# ---------------------------------------------------------------- starting and stopping


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    host: str
    port: int
    log_path: Path
    peak_rss_kib: int = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def pids(self) -> list[int]:
        return process_tree(self.process.pid)

    def rss_kib(self) -> int:
        return sum(rss_kib(pid) for pid in self.pids())

    def cpu_s(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())

    def sample_memory(self) -> None:
        self.peak_rss_kib = max(self.peak_rss_kib, self.rss_kib())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(name: str, command: Sequence[str], env: dict[str, str], cwd: Path, port: int, log: Path) -> Server:
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(name, process, "127.0.0.1", port, log)


def stop_server(server: Server, grace_s: float = 10.0) -> None:
    """SIGTERM to the server's process group, SIGKILL after the grace period."""
    if server.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.process.pid, signal.SIGTERM)
    try:
        server.process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=5)


async def wait_ready(server: Server, probe: Callable[[], Awaitable[bool]], timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(OSError, HttpError, TimeoutError):
            if await probe():
                return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{server.name} did not get ready within {timeout_s:.0f} s:\n{server.log_tail()}")


async def answers_graphql(server: Server) -> bool:
    conn = Connection(server.host, server.port, timeout=2)
    try:
        answer = await conn.post("/graphql", b'{"query": "{ __typename }"}')
        return answer.status == 200
    finally:
        await conn.close()


async def started(server: Server) -> Server:
    """The server once it answers GraphQL; stopped if it never does."""
    try:
        await wait_ready(server, lambda: answers_graphql(server))
    except BaseException:
        stop_server(server)
        raise
    return server


def wait_until_healthy(server: Server, path: str = "/healthz", timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.base_url}{path}", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {path} within {timeout_s:.0f} s:\n{server.log_tail()}")


@contextlib.asynccontextmanager
async def memory_sampler(servers: Sequence[Server], every_s: float = 0.25) -> AsyncIterator[None]:
    """Samples each server's summed resident set while the block runs (peak kept on the server)."""

    async def sample() -> None:
        while True:
            for server in servers:
                server.sample_memory()
            await asyncio.sleep(every_s)

    task = asyncio.create_task(sample())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---------------------------------------------------------------- our API, the worker, Redis


@dataclass(frozen=True)
class OurConfig:
    """How our app is served: the ASGI server, its processes, event loop and HTTP parser."""

    server: str = "uvicorn"  # uvicorn | granian | hypercorn
    workers: int = 1
    loop: str = "uvloop"
    http: str = "httptools"

    @property
    def label(self) -> str:
        if self.server == "uvicorn":
            return f"uvicorn, {self.workers} worker{'s' if self.workers > 1 else ''}, {self.loop} + {self.http}"
        return f"{self.server}, {self.workers} worker{'s' if self.workers > 1 else ''}"

    @property
    def available(self) -> bool:
        return self.server == "uvicorn" or importlib.util.find_spec(self.server) is not None

    def command(self, port: int) -> list[str]:
        py = sys.executable
        if self.server == "granian":
            return [py, "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port),
                    "--workers", str(self.workers), "--loop", "uvloop", "--no-access-log", "api.asgi:app"]  # fmt: skip
        if self.server == "hypercorn":
            return [py, "-m", "hypercorn", "api.asgi:app", "--bind", f"127.0.0.1:{port}", "--workers",
                    str(self.workers), "--worker-class", "uvloop"]  # fmt: skip
        return [py, "-m", "uvicorn", "api.asgi:app", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(self.workers), "--loop", self.loop, "--http", self.http, "--no-access-log",
                "--log-level", "warning"]  # fmt: skip


def our_env(url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Production-like: jobs go to Redis (no in-process sweeps inside the measured server), no GraphiQL."""
    env = {k: v for k, v in os.environ.items() if k not in ("CLOCK_AS_OF", "CLOCK_SOURCE", "WEB_CONCURRENCY")}
    env.update(DATABASE_URL=url, REDIS_URL=redis_url, GRAPHIQL="false", PYTHONPATH=str(ROOT), **extra)
    return env


def start_ours(config: OurConfig, url: str, redis_url: str, log_dir: Path, **env: str) -> Server:
    port = free_port()
    log = log_dir / f"ours-{config.server}-{config.workers}-{port}.log"
    return start_server("ours", config.command(port), our_env(url, redis_url, **env), ROOT, port, log)


@contextlib.contextmanager
def running_server(url: str, redis_url: str, *, plans: bool = True) -> Iterator[Server]:
    """uvicorn api.asgi:app, one worker on loopback, as in production: jobs go to Redis (no worker is needed for
    reads), none run inside the measured server; GraphiQL as configured, the rate limit off (a benchmark's
    thousands of requests would meet it); `plans` False: QUERY_PLANS=false."""
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}
    env["RATE_LIMIT_PER_MINUTE"] = "0"
    env["QUERY_PLANS"] = "true" if plans else "false"
    env.pop("CLOCK_AS_OF", None)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "api.asgi:app", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--no-access-log", "--log-level", "warning"]  # fmt: skip
    with tempfile.NamedTemporaryFile(prefix="kc-bench-server-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
    server = start_server("ours", command, env, ROOT, port, log_path)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        stop_server(server)
        log_path.unlink(missing_ok=True)


def start_worker(env: dict[str, str], log: Path) -> Server:
    """`manage worker`: the arq worker, as an operator starts it."""
    return start_server("arq worker", [sys.executable, "-m", "scripts.manage", "worker"], env, ROOT, 0, log)


async def stop_worker(worker: Server) -> None:
    await asyncio.to_thread(stop_server, worker, 20.0)


def start_redis(port: int, log_dir: Path) -> Server:
    """A private redis-server on loopback, nothing saved."""
    command = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    return start_server("redis", command, dict(os.environ), ROOT, port, log_dir / "redis.log")
