"""Metrics for Prometheus (prometheus-client): the one place where the product's metrics are defined.

GET /metrics on the API answers in Prometheus' text format. What is measured:
- `kongchuo_graphql_request_seconds{operation}`: latency of each GraphQL request, by operation name;
- `kongchuo_graphql_errors_total{code}`: GraphQL errors answered, by `extensions.code`;
- `kongchuo_http_requests_total{route,status}`: every HTTP request, by route and status;
- `kongchuo_jobs_total{job,outcome}` and `kongchuo_job_seconds{job}`: background jobs by outcome;
- `kongchuo_outbox_backlog` and `kongchuo_outbox_oldest_seconds`: events not yet turned into tasks.

Adding a metric (webhook deliveries, open subscriptions, ...): define it here beside the others
(`Counter`/`Gauge`/`Histogram` with a `kongchuo_` name), update it where the thing happens, and
for a figure read from the database at scrape time register an async function with
`@on_scrape`; it runs before each answer of /metrics (see `outbox_backlog`).

Several processes: with PROMETHEUS_MULTIPROC_DIR set (./scripts/serve sets it when WEB_CONCURRENCY
is above 1), every process writes its figures there and /metrics adds them up, the way
prometheus-client's multiprocess mode does; a worker started with the same directory on the same
machine shows its jobs there too. Otherwise a worker's figures can be served on their own port
with WORKER_METRICS_PORT.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Awaitable, Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

log = logging.getLogger("kongchuo.metrics")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MAX_OPERATIONS = 200  # operation names come from clients: past this many, the rest count as "other"

GRAPHQL_SECONDS = Histogram(
    "kongchuo_graphql_request_seconds",
    "Time to answer a GraphQL request over HTTP, by operation name",
    ["operation"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_ERRORS = Counter("kongchuo_graphql_errors", "GraphQL errors answered, by extensions.code", ["code"])
HTTP_REQUESTS = Counter("kongchuo_http_requests", "HTTP requests answered, by route and status", ["route", "status"])
JOBS = Counter("kongchuo_jobs", "Background jobs run, by job and outcome (ok, failed)", ["job", "outcome"])
JOB_SECONDS = Histogram(
    "kongchuo_job_seconds", "Time a background job took", ["job"], buckets=(*LATENCY_BUCKETS, 30.0, 60.0, 300.0)
)
OUTBOX_BACKLOG = Gauge("kongchuo_outbox_backlog", "Outbox events not yet processed", multiprocess_mode="mostrecent")
OUTBOX_OLDEST = Gauge(
    "kongchuo_outbox_oldest_seconds",
    "Age of the oldest unprocessed outbox event (0 when none)",
    multiprocess_mode="mostrecent",
)

_scrape_hooks: list[Callable[[], Awaitable[None]]] = []
_operations: set[str] = set()


def on_scrape(hook: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """Run `hook` before each answer of /metrics (to read a figure from the database)."""
    _scrape_hooks.append(hook)
    return hook


def operation_label(name: str | None) -> str:
    label = name or "anonymous"
    if label in _operations:
        return label
    if len(_operations) >= MAX_OPERATIONS:
        return "other"
    _operations.add(label)
    return label


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


async def exposition() -> tuple[bytes, str]:
    """The text Prometheus reads, after every scrape hook has run."""
    for hook in _scrape_hooks:
        try:
            await hook()
        except Exception as error:  # the database may be out of reach: answer with the rest
            log.warning("metrics: %s failed (%s); its figures are NaN in this answer", hook.__name__, error)
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def process_exited(pid: int) -> None:
    """In multiprocess mode, drop a finished process's live gauges."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


@on_scrape
async def outbox_backlog() -> None:
    from models import clock
    from models.outbox import OutboxEvent

    OUTBOX_BACKLOG.set(math.nan)  # unknown until read: a scrape while the database is down says so
    OUTBOX_OLDEST.set(math.nan)
    pending = OutboxEvent.filter(processed_at=None)
    OUTBOX_BACKLOG.set(await pending.count())
    oldest = await pending.order_by("id").first().values_list("created_at", flat=True)
    OUTBOX_OLDEST.set(max(0.0, (clock.now() - oldest).total_seconds()) if oldest else 0.0)
