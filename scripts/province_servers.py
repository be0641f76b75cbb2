"""The two servers of scripts/bench_province.py, how each is started, and the page each is asked.

Ours: `uvicorn api.asgi:app` (or another ASGI server, when installed), a liaison's bearer token per
unit; the unit comes from the token. PostGraphile v4, installed from npm into a cache outside the
repository, serves the same database; it learns the unit from a variable, and serves the page
through a SQL function the benchmark adds to the benchmark database only (not our migrations).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import orjson

from config import ROOT
from scripts.province_http import Answer, Check, Connection, Request, Server, Target, free_port, start_server

POSTGRAPHILE_VERSION = "4"
DEFAULT_CACHE = Path.home() / ".cache" / "kongchuo-bench" / "postgraphile"
PAGE = 50
OURS_QUERY = (
    "query Queue { viewer { taskQueue(first: 50) { edges { node { id title dueAt status "
    "assigneeUnit { name } case { student { name } } } } } } }"
)
THEIRS_QUERY = (
    "query Queue($unit: Int!) { liaisonQueue(unit: $unit, first: 50) { edges { node { id title dueAt status "
    "unitByAssigneeUnitId { name } dropoutCaseByCaseId { studentByStudentId { name } } } } } }"
)
# The same page for PostGraphile: a unit's own and shared open tasks, soonest due first.
QUEUE_FUNCTION = """
CREATE OR REPLACE FUNCTION liaison_queue(unit integer) RETURNS SETOF task LANGUAGE sql STABLE AS $$
  SELECT q.* FROM (
    (SELECT t.* FROM task t
      WHERE t.assignee_unit_id = liaison_queue.unit AND t.status IN ('OPEN', 'IN_PROGRESS')
      ORDER BY t.due_at, t.id LIMIT 51)
    UNION ALL
    (SELECT t.* FROM task_cooperator c JOIN task t ON t.id = c.task_id
      WHERE c.unit_id = liaison_queue.unit AND t.assignee_unit_id <> liaison_queue.unit
        AND t.status IN ('OPEN', 'IN_PROGRESS')
      ORDER BY t.due_at, t.id LIMIT 51)
  ) q ORDER BY q.due_at, q.id
$$;
COMMENT ON FUNCTION liaison_queue(integer) IS 'kongchuo benchmark only: the liaison queue page';
"""
# The raw SQL of the page: the same two lists, owner unit name and case subject (the student's name).
SQL_PAGE = """
SELECT p.id, p.title, p.status, p.due_at, u.name AS unit_name, s.name AS student_name
FROM (
  (SELECT t.id, t.title, t.status, t.due_at, t.assignee_unit_id, t.case_id FROM task t
    WHERE t.assignee_unit_id = $1 AND t.status IN ('OPEN', 'IN_PROGRESS')
    ORDER BY t.due_at, t.id LIMIT 50)
  UNION ALL
  (SELECT t.id, t.title, t.status, t.due_at, t.assignee_unit_id, t.case_id
    FROM task_cooperator c JOIN task t ON t.id = c.task_id
    WHERE c.unit_id = $1 AND t.assignee_unit_id <> $1 AND t.status IN ('OPEN', 'IN_PROGRESS')
    ORDER BY t.due_at, t.id LIMIT 50)
) p
JOIN unit u ON u.id = p.assignee_unit_id
LEFT JOIN dropout_case c ON c.id = p.case_id
LEFT JOIN student s ON s.id = c.student_id
ORDER BY p.due_at, p.id
LIMIT 50
"""


# ---------------------------------------------------------------- configurations


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


@dataclass(frozen=True)
class TheirConfig:
    workers: int = 1  # --cluster-workers; 1 runs a single process
    pool: int = 10  # --max-pool-size, per process

    @property
    def label(self) -> str:
        workers = f"--cluster-workers {self.workers}" if self.workers > 1 else "1 process"
        return f"PostGraphile {workers}, pool {self.pool}"


def our_env(url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Production-like: jobs go to Redis (no in-process sweeps inside the measured server), no GraphiQL."""
    env = {k: v for k, v in os.environ.items() if k not in ("CLOCK_AS_OF", "CLOCK_SOURCE", "WEB_CONCURRENCY")}
    env.update(DATABASE_URL=url, REDIS_URL=redis_url, GRAPHIQL="false", PYTHONPATH=str(ROOT), **extra)
    return env


def start_ours(config: OurConfig, url: str, redis_url: str, log_dir: Path, **env: str) -> Server:
    port = free_port()
    log = log_dir / f"ours-{config.server}-{config.workers}-{port}.log"
    return start_server("ours", config.command(port), our_env(url, redis_url, **env), ROOT, port, log)


# ---------------------------------------------------------------- PostGraphile


def postgraphile_bin(cache: Path) -> Path:
    return cache / "node_modules" / ".bin" / "postgraphile"


def install_postgraphile(cache: Path, say: object = print) -> str:
    """`npm install postgraphile@4` into `cache` (outside the repository) unless it is there; returns its version."""
    binary = postgraphile_bin(cache)
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed: PostGraphile v4 needs Node and npm")
        cache.mkdir(parents=True, exist_ok=True)
        if not (cache / "package.json").exists():
            (cache / "package.json").write_text('{"name": "kongchuo-bench-postgraphile", "private": true}\n')
        if callable(say):
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
    env = {**os.environ, "NODE_ENV": "production"}
    log = log_dir / f"postgraphile-{config.workers}-{port}.log"
    return start_server("PostGraphile", command, env, cache, port, log)


async def add_queue_function(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(QUEUE_FUNCTION)
    finally:
        await conn.close()


# ---------------------------------------------------------------- the page, asked of each


@dataclass(frozen=True)
class Caller:
    unit_id: int
    token: str
    expected: int  # edges the page must hold


def edges_ours(body: dict[str, object]) -> list[dict[str, object]]:
    return body["data"]["viewer"]["taskQueue"]["edges"]  # type: ignore[index,no-any-return]


def edges_theirs(body: dict[str, object]) -> list[dict[str, object]]:
    return body["data"]["liaisonQueue"]["edges"]  # type: ignore[index,no-any-return]


def ids_ours(body: dict[str, object]) -> list[int]:
    from api.ids import parse_global_id

    return [parse_global_id(e["node"]["id"], "Task")[1] for e in edges_ours(body)]  # type: ignore[index]


def ids_theirs(body: dict[str, object]) -> list[int]:
    return [int(e["node"]["id"]) for e in edges_theirs(body)]  # type: ignore[index,call-overload]


Edges = Callable[[dict[str, object]], list[dict[str, object]]]


def checker(expected: int, edges_of: Edges) -> Check:
    """HTTP 200, no errors, as many edges as the unit's page holds: the same work for both servers."""

    def check(answer: Answer) -> str | None:
        if answer.status != 200:
            return f"HTTP {answer.status}: {answer.body[:200]!r}"
        body = answer.json()
        if body.get("errors"):
            return f"errors: {body['errors']}"[:300]
        got = len(edges_of(body))
        return None if got == expected else f"{got} edges, expected {expected}"

    return check


def ours_target(server: Server, callers: Sequence[Caller]) -> Target:
    body = orjson.dumps({"query": OURS_QUERY, "operationName": "Queue"})
    requests = [
        (("/graphql", body, [("Authorization", f"Bearer {c.token}")]), checker(c.expected, edges_ours)) for c in callers
    ]
    return Target(server.name, server.host, server.port, lambda i: requests[i % len(requests)])


def theirs_target(server: Server, callers: Sequence[Caller]) -> Target:
    requests: list[tuple[Request, Check]] = []
    for c in callers:
        body = orjson.dumps({"query": THEIRS_QUERY, "operationName": "Queue", "variables": {"unit": c.unit_id}})
        requests.append((("/graphql", body, []), checker(c.expected, edges_theirs)))
    return Target(server.name, server.host, server.port, lambda i: requests[i % len(requests)])


async def page_ids(target: Target, i: int, ids_of: Callable[[dict[str, object]], list[int]]) -> list[int]:
    """The task ids of the i-th request's page, in order."""
    (path, body, headers), _ = target.request(i)
    conn = Connection(target.host, target.port)
    try:
        answer = await conn.post(path, body, headers)
    finally:
        await conn.close()
    return ids_of(answer.json())


async def answers_graphql(server: Server) -> bool:
    conn = Connection(server.host, server.port, timeout=2)
    try:
        answer = await conn.post("/graphql", b'{"query": "{ __typename }"}')
        return answer.status == 200
    finally:
        await conn.close()
