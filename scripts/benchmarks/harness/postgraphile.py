"""PostGraphile v4, installed from npm into a cache outside the repository and served on the same database."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scripts.benchmarks.harness.servers import Server, free_port, start_server

POSTGRAPHILE_VERSION = "4"
DEFAULT_CACHE = Path.home() / ".cache" / "kongchuo-bench" / "postgraphile"


@dataclass(frozen=True)
class TheirConfig:
    workers: int = 1  # --cluster-workers; 1 runs a single process
    pool: int = 10  # --max-pool-size, per process

    @property
    def label(self) -> str:
        workers = f"--cluster-workers {self.workers}" if self.workers > 1 else "1 process"
        return f"PostGraphile {workers}, pool {self.pool}"


def postgraphile_bin(cache: Path) -> Path:
    return cache / "node_modules" / ".bin" / "postgraphile"


def install_postgraphile(cache: Path, say: Callable[[str], None]) -> str:
    """`npm install postgraphile@4` into `cache` (outside the repository) unless it is there; returns its version."""
    binary = postgraphile_bin(cache)
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed: PostGraphile v4 needs Node and npm")
        cache.mkdir(parents=True, exist_ok=True)
        if not (cache / "package.json").exists():
            (cache / "package.json").write_text('{"name": "kongchuo-bench-postgraphile", "private": true}\n')
        say(f"installing postgraphile@{POSTGRAPHILE_VERSION} from npm into {cache}")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--silent", f"postgraphile@{POSTGRAPHILE_VERSION}"],
            cwd=cache,
            check=True,
        )
    done = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def start_theirs(config: TheirConfig, url: str, cache: Path, log_dir: Path) -> Server:
    port = free_port()
    command = [str(postgraphile_bin(cache)), "-c", url, "--schema", "public", "--disable-graphiql",
               "--no-setof-functions-contain-nulls", "--disable-query-log", "-n", "127.0.0.1", "-p", str(port),
               "--max-pool-size", str(config.pool)]  # fmt: skip
    if config.workers > 1:
        command += ["--cluster-workers", str(config.workers)]
    # Without JIT, as our API's sessions run (models/db.py): node-postgres passes PGOPTIONS at connection.
    env = {**os.environ, "NODE_ENV": "production", "PGOPTIONS": "-c jit=off"}
    log = log_dir / f"postgraphile-{config.workers}-{port}.log"
    return start_server("PostGraphile", command, env, cache, port, log)
