"""Real processes for end-to-end tests: the server, the worker, a private Redis, the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "CLOCK_AS_OF")}
    env.update(PYTHONPATH=str(ROOT), **values)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    done = subprocess.run(
        [PYTHON, "-m", "scripts.manage", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"manage {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}-{time.monotonic_ns()}.log"
        self._file = self.log.open("w")
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=self._file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        self._file.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> Iterator[Process]:
    process = Process(name, args, env, log_dir)
    try:
        yield process
    finally:
        process.kill(signal.SIGTERM)


def wait_until(check, what: str, timeout: float = 20.0, interval: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def wait_http(url: str, process: Process, timeout: float = 60.0) -> None:
    def ready() -> bool:
        if process.popen.poll() is not None:
            raise AssertionError(f"{process.name} exited early:\n{process.output()}")
        return httpx.get(url, timeout=2).status_code == 200

    wait_until(ready, url, timeout)


def server_args(port: int) -> list[str]:
    return [PYTHON, "-m", "uvicorn", "api.asgi:app", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]


def worker_args() -> list[str]:
    return [PYTHON, "-m", "scripts.manage", "worker"]


def redis_args(port: int, workdir: Path) -> list[str]:
    return ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(workdir)]  # fmt: skip


def redis_ready(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False
