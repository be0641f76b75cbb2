"""What an operator sees: a log line per request and per job (JSON lines when asked), the worker's start
line, and the figures Prometheus reads on /metrics."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from tasks.machinery import jobs
from tasks.machinery.observed import observed
from tests.processes import (
    ROOT,
    environment,
    free_port,
    manage,
    redis_args,
    redis_ready,
    running,
    server_args,
    wait_http,
    wait_until,
    worker_args,
)

sqlite_only = pytest.mark.skipif(
    os.environ.get("TEST_DATABASE") == "postgres", reason="real processes on their own SQLite file; the SQLite pass"
)
QUEUE = "query Queue { viewer { taskQueue(first: 5) { totalCount } } }"


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition text, or None."""
    for line in metrics.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return None


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    tmp = tmp_path_factory.mktemp("observe")
    env = environment(DATABASE_URL=f"sqlite://{tmp / 'county.sqlite3'}", LOG_FORMAT="json", JOB_INTERVAL_SECONDS="1")
    manage(env, "migrate")
    manage(env, "seed")
    token = manage(env, "demo").strip().splitlines()[-1]
    return tmp, env, token


@pytest.mark.e2e
@sqlite_only
def test_each_request_is_one_json_line_and_is_counted_on_metrics(county) -> None:  # type: ignore[no-untyped-def]
    tmp, env, token = county
    port = free_port()
    with running("api", server_args(port), env, tmp) as server:
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        url = f"http://127.0.0.1:{port}/graphql"
        auth = {"Authorization": f"Bearer {token}"}
        answered = [httpx.post(url, json={"query": QUEUE, "operationName": "Queue"}, headers=auth) for _ in range(3)]
        broken = httpx.post(url, json={"query": "query Broken { viewer { "}, headers=auth)
        wait_until(lambda: "job process_outbox ok" in server.output(), "an in-process job's line")
        # The seeded calendar's events are drained by the in-process loop a moment later: scrape once it has.
        wait_until(
            lambda: sample(httpx.get(f"http://127.0.0.1:{port}/metrics").text, "kongchuo_outbox_backlog") == 0,
            "the outbox drained",
        )
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics")
        log = json_lines(server.output())

    assert all(a.status_code == 200 for a in answered)
    requests = {line["request_id"]: line for line in log if line["logger"] == "kongchuo.request"}
    first = requests[answered[0].headers["x-request-id"]]
    assert (first["operation"], first["status"], first["method"], first["path"]) == ("Queue", 200, "POST", "/graphql")
    assert isinstance(first["ms"], float) and first["level"] == "info" and first["time"].endswith("+00:00")
    assert {requests[a.headers["x-request-id"]]["operation"] for a in answered} == {"Queue"}  # by plan, too
    failed = requests[broken.headers["x-request-id"]]
    assert failed["operation"] == "Broken" and failed["errors"] == "GRAPHQL_VALIDATION_FAILED"
    job = next(line for line in log if line.get("job") == "process_outbox")
    assert job["outcome"] == "ok" and isinstance(job["seconds"], float)

    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert sample(text, "kongchuo_graphql_request_seconds_count", operation="Queue") == 3
    assert sample(text, "kongchuo_graphql_errors_total", code="GRAPHQL_VALIDATION_FAILED") == 1
    assert sample(text, "kongchuo_http_requests_total", route="/graphql", status="200") == 4
    assert sample(text, "kongchuo_jobs_total", job="process_outbox", outcome="ok") >= 1
    assert sample(text, "kongchuo_outbox_backlog") == 0
    assert sample(text, "kongchuo_outbox_oldest_seconds") == 0


@pytest.mark.e2e
@sqlite_only
def test_the_worker_says_it_started_and_logs_each_job(county) -> None:  # type: ignore[no-untyped-def]
    tmp, env, _ = county
    redis_port, metrics_port = free_port(), free_port()
    env = {**env, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "WORKER_METRICS_PORT": str(metrics_port)}
    with running("redis", redis_args(redis_port, tmp), env, tmp):
        wait_until(lambda: redis_ready(redis_port), "redis")
        with running("worker", worker_args(), env, tmp) as worker:
            wait_until(lambda: "worker started" in worker.output(), "the worker's start line")
            manage(env, "tick", "--as-of", "2026-09-03")
            wait_until(lambda: "job tick ok" in worker.output(), "the tick's line")
            scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
            log = json_lines(worker.output())

    started = next(line for line in log if line["message"].startswith("worker started"))
    assert started["queue"] == "arq:queue"
    assert started["redis"] == f"redis://127.0.0.1:{redis_port}/0"
    assert started["database"].startswith("sqlite://")
    assert "06:00 Asia/Shanghai" in started["message"]
    tick = next(line for line in log if line.get("job") == "tick")
    assert tick["outcome"] == "ok" and tick["seconds"] >= 0 and "tasks_created" in tick["message"]
    assert sample(scraped, "kongchuo_jobs_total", job="tick", outcome="ok") == 1


@pytest.mark.e2e
@sqlite_only
def test_several_api_processes_add_up_on_metrics(county) -> None:  # type: ignore[no-untyped-def]
    tmp, env, token = county
    port = free_port()
    env = {**env, "WEB_CONCURRENCY": "2", "PORT": str(port)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with running("serve", [str(ROOT / "scripts" / "serve")], env, tmp) as server:
        wait_http(f"http://127.0.0.1:{port}/healthz", server, timeout=120)
        url = f"http://127.0.0.1:{port}/graphql"
        for _ in range(12):  # new connections: the two processes share them
            httpx.post(url, json={"query": QUEUE}, headers={"Authorization": f"Bearer {token}", "Connection": "close"})
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        shared = sorted(p.name for p in (ROOT / "var" / f"prometheus-{port}").glob("*.db"))
    shutil.rmtree(ROOT / "var" / f"prometheus-{port}", ignore_errors=True)

    assert shared, "serve sets PROMETHEUS_MULTIPROC_DIR when WEB_CONCURRENCY > 1"
    assert sample(text, "kongchuo_graphql_request_seconds_count", operation="Queue") == 12  # whichever answered


async def test_a_failed_job_says_what_to_do(database, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="kongchuo")

    with pytest.raises(ValueError):
        await observed("duty_calendar", lambda: jobs.generate_duty_calendar("2026"))

    line = next(r for r in caplog.records if r.name == "kongchuo.jobs" and r.levelno == logging.ERROR)
    assert line.job == "duty_calendar" and line.outcome == "failed"  # type: ignore[attr-defined]
    message = line.getMessage()
    assert "job duty_calendar failed after" in message and "2026" in message
    assert "report this line" in message  # what to do
