"""Benchmark of the live service: `./scripts/bench live [--subscribers 2000 ...]`.

On PostgreSQL (a fresh database `kongchuo_bench_live`), a private redis-server, two API processes and
one worker, it measures:
1. idle: database transactions a second while N subscribers (half on each API process) sit on their
   queues (pg_stat_database xact_commit + xact_rollback deltas of the benchmark database; every
   statement outside a transaction block is one transaction, so this counts queries from any source);
2. push latency under load: while C clients load the API (queue pages and comments), one change a
   second on a probe task of a subscribed unit; for every subscriber of that unit, the time from
   sending the mutation to the update that names the task (p50, p99, max, missing);
3. webhooks: a receiver on loopback (signatures verified with standardwebhooks) registered for
   task.created and task.changed during the load; after it, every event of those kinds must have one
   delivery, delivered once (counted from the delivery log and from the receiver).
Figures go to docs/benchmark-live.md (and are printed). Needs PostgreSQL at 127.0.0.1:5432 and redis-server.
"""

# ruff: noqa: E501, ASYNC221
# (E501: the report's table rows; ASYNC221: set-up runs migrate and seed before anything else)
from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import httpx
import orjson
import typer
import websockets

from config import ROOT
from scripts.benchmarks.harness.database import ADMIN_URL, database_url, last_id, recreate_database
from scripts.benchmarks.harness.servers import (
    Server,
    free_port,
    start_redis,
    start_server,
    start_worker,
    stop_server,
    wait_until_healthy,
)

PYTHON = sys.executable
DB_NAME = "kongchuo_bench_live"
SUBSCRIBE = "subscription { taskQueueCounts { openCount overdueCount changedTasks { id } } }"
QUEUE = "{ viewer { taskQueue(first: 20) { totalCount nodes { id title dueAt status } } } }"
COMMENT = "mutation($id: ID!, $t: String!) { taskComment(id: $id, input: {text: $t}) { userErrors { code } } }"
CREATE_ENDPOINT = """mutation($input: WebhookEndpointCreateInput!) { webhookEndpointCreate(input: $input) {
  endpoint { id } secret userErrors { code message } } }"""
app = typer.Typer(add_completion=False)
SPAWN = multiprocessing.get_context("spawn")


def percentile(values: list[float], p: float) -> float:
    """Rounded-rank percentile, as this benchmark has always counted (the harness's is nearest-rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def transactions(name: str) -> int:
    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        return await connection.fetchval(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1", name
        )
    finally:
        await connection.close()


@dataclass
class Subscriber:
    token: str
    unit_id: int
    address: str
    arrivals: dict[int, float] = field(default_factory=dict)  # probe number -> when its update arrived
    armed: dict[str, int] = field(default_factory=dict)  # task global id -> the probe waited for
    updates: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    closed: int | None = None


async def subscribe(sub: Subscriber) -> None:
    try:
        async with websockets.connect(
            f"ws://{sub.address}/graphql", subprotocols=["graphql-transport-ws"], open_timeout=60, ping_interval=None
        ) as ws:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {sub.token}"}}
            await ws.send(orjson.dumps(init).decode())
            await ws.recv()
            await ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}).decode())
            async for raw in ws:
                now = time.monotonic()
                message = orjson.loads(raw)
                if message.get("type") != "next":
                    continue
                sub.updates += 1
                sub.ready.set()
                for task in message["payload"]["data"]["taskQueueCounts"]["changedTasks"]:
                    number = sub.armed.pop(task["id"], None)
                    if number is not None:
                        sub.arrivals[number] = now
    except websockets.ConnectionClosed as closed:
        sub.closed = closed.rcvd.code if closed.rcvd else -1
    except Exception:
        sub.closed = -2
    finally:
        sub.ready.set()


async def listen_bus(redis_port: int, armed: dict[int, int], heard: dict[tuple[int, str], tuple[float, float]]) -> None:
    """For each probe and each publisher (the API process right after its commit, the worker's drain): when the
    message was published (its own `at`, wall clock) and when this process heard it (monotonic)."""
    from redis import asyncio as aioredis

    client = aioredis.Redis.from_url(f"redis://127.0.0.1:{redis_port}/0")
    async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
        await pubsub.subscribe("kongchuo:live")
        async for raw in pubsub.listen():
            now = time.monotonic()
            message = orjson.loads(raw["data"])
            for event in message.get("events", [message]):  # [message]: the format before events were listed
                for task_id in event.get("task_ids", ()):
                    number = armed.get(task_id)
                    if number is not None:
                        heard.setdefault((number, message.get("source", "?")), (message.get("at", 0.0), now))


async def post(http: httpx.AsyncClient, address: str, token: str, query: str, **variables: Any) -> httpx.Response:
    return await http.post(
        f"http://{address}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )


async def setup_people(url: str, units: int, per_unit: int, load_clients: int) -> dict[str, Any]:
    """Tokens for subscribers (per unit), load clients, an admin; tasks to change."""
    from tortoise import Tortoise

    from api.ids import global_id
    from models import clock
    from models.accounts import create_user, issue_token
    from models.db import tortoise_config
    from models.units import Unit
    from models.users import UserRole
    from tasks.queue.workflow import create_task

    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        chosen = await Unit.all().order_by("id").limit(units + load_clients)
        subscribed, loaders = chosen[:units], chosen[units : units + load_clients]
        due = clock.today() + timedelta(days=10)
        people: dict[str, Any] = {"subscribers": [], "probes": {}, "probe_pks": {}, "loaders": [], "admin": None}
        for unit in subscribed:
            task, _ = await create_task(title=f"基准：探测 {unit.code}", unit=unit, due=due)
            people["probes"][unit.id] = global_id("Task", task.id)
            people["probe_pks"][global_id("Task", task.id)] = task.id
            for n in range(per_unit):
                user = await create_user(unit, UserRole.LIAISON, f"订阅者{n}")
                people["subscribers"].append((unit.id, await issue_token(user)))
        for unit in loaders:
            user = await create_user(unit, UserRole.LIAISON, "负载")
            tasks = [await create_task(title=f"基准：负载 {unit.code} {n}", unit=unit, due=due) for n in range(5)]
            people["loaders"].append((await issue_token(user), [global_id("Task", t.id) for t, _ in tasks]))
        office = await Unit.get(code="leading-group-office")
        people["admin"] = await issue_token(await create_user(office, UserRole.ADMIN, "管理员"))
        return people
    finally:
        await Tortoise.close_connections()


def load_process(addresses: list[str], loaders: list[tuple[str, list[str]]], seconds: float, results: Any) -> None:
    async def main() -> dict[str, int]:
        stop, counts = asyncio.Event(), defaultdict(int)
        clients = [
            asyncio.create_task(load_client(addresses[i % 2], token, ids, stop, counts))
            for i, (token, ids) in enumerate(loaders)
        ]
        await asyncio.sleep(seconds)
        stop.set()
        await asyncio.gather(*clients)
        return dict(counts)

    results.put(asyncio.run(main()))


async def load_client(
    address: str, token: str, task_ids: list[str], stop: asyncio.Event, counts: dict[str, int]
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        n = 0
        while not stop.is_set():
            n += 1
            if n % 5 == 0:
                answer = await post(http, address, token, COMMENT, id=random.choice(task_ids), t=f"负载 {n}")
                counts["mutations"] += 1
            else:
                answer = await post(http, address, token, QUEUE)
                counts["reads"] += 1
            if answer.status_code != 200:
                counts[f"http_{answer.status_code}"] += 1


async def run(
    database: str, subscribers: int, units: int, clients: int, idle_seconds: float, load_seconds: float
) -> dict[str, Any]:
    url = database_url(ADMIN_URL, database)
    from tests.live_support import webhook_receiver

    log_dir = ROOT / "var" / "bench-live"
    log_dir.mkdir(parents=True, exist_ok=True)
    processes: list[Server] = []
    redis_port, port_a, port_b = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("CLOCK_AS_OF",)}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=url,
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        DEMO_DATA="true",
        RATE_LIMIT_PER_MINUTE="1000000",  # every benchmark client comes from 127.0.0.1
        WS_MAX_SOCKETS_PER_TOKEN="5",
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        DB_POOL_MAX="10",
    )
    figures: dict[str, Any] = {"subscribers": subscribers, "units": units, "clients": clients,
                               "idle_seconds": idle_seconds, "load_seconds": load_seconds}  # fmt: skip
    await recreate_database(ADMIN_URL, database)
    for command in (["migrate"], ["seed"]):
        subprocess.run([PYTHON, "-m", "scripts.manage", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    per_unit = max(1, subscribers // units)
    people = await setup_people(url, units, per_unit, clients)
    processes.append(start_redis(redis_port, log_dir))
    try:
        apis: list[Server] = []
        for name, port in (("api-a", port_a), ("api-b", port_b)):
            command = [PYTHON, "-m", "uvicorn", "api.asgi:app", "--port", str(port), "--no-access-log",
                       "--ws-ping-interval", "0"]  # fmt: skip
            apis.append(start_server(name, command, env, ROOT, port, log_dir / f"{name}.log"))
        processes += apis
        processes.append(start_worker(env, log_dir / "worker.log"))
        addresses = [api.address for api in apis]
        for api in apis:
            await asyncio.to_thread(wait_until_healthy, api, "/readyz", 120.0)
        # 1. idle subscribers
        subs = [
            Subscriber(token, unit_id, addresses[i % 2]) for i, (unit_id, token) in enumerate(people["subscribers"])
        ]
        started = time.monotonic()
        tasks: list[asyncio.Task[None]] = []
        for start in range(0, len(subs), 100):
            batch = subs[start : start + 100]
            tasks += [asyncio.create_task(subscribe(s)) for s in batch]
            await asyncio.gather(*(s.ready.wait() for s in batch))
        figures["connect_seconds"] = round(time.monotonic() - started, 1)
        figures["subscribed"] = sum(1 for s in subs if s.updates and s.closed is None)
        # PostgreSQL (15+) flushes an idle backend's statistics up to 10 s late: let the connects' count land first.
        await asyncio.sleep(15)
        before, t0 = await transactions(database), time.monotonic()
        await asyncio.sleep(idle_seconds)
        await asyncio.sleep(11)  # and the window's own, before reading
        after, t1 = await transactions(database), time.monotonic()  # all of it idle
        figures["idle_transactions"] = after - before - 2  # less the measurement's own two
        figures["idle_per_second"] = round(figures["idle_transactions"] / (t1 - t0), 2)

        # 2 and 3. load, probes, webhooks
        with webhook_receiver() as receiver:
            async with httpx.AsyncClient(timeout=30) as http:
                hook = {"url": receiver.url, "eventKinds": ["TASK_CREATED", "TASK_CHANGED"]}
                made = (await post(http, addresses[0], people["admin"], CREATE_ENDPOINT, input=hook)).json()
                receiver.secret = made["data"]["webhookEndpointCreate"]["secret"]
                mark = await last_id(url, "outbox_event")
                # The load runs in its own process, so that its clients do not slow this one's subscribers.
                results: multiprocessing.Queue[dict[str, int]] = SPAWN.Queue()
                load = SPAWN.Process(target=load_process, args=(addresses, people["loaders"], load_seconds, results))
                load.start()
                by_unit: dict[int, list[Subscriber]] = defaultdict(list)
                for s in subs:
                    by_unit[s.unit_id].append(s)
                latencies: list[float] = []
                bus_armed: dict[int, int] = {}
                answered: list[float] = []
                bus_heard: dict[tuple[int, str], tuple[float, float]] = {}
                sent_wall: list[float] = []
                bus_listener = asyncio.create_task(listen_bus(redis_port, bus_armed, bus_heard))
                sent_probes: list[tuple[float, list[Subscriber]]] = []
                unit_ids = list(people["probes"])
                end = time.monotonic() + load_seconds
                while time.monotonic() < end:
                    number = len(sent_probes)
                    unit_id = unit_ids[number % len(unit_ids)]
                    task_id, listeners = people["probes"][unit_id], by_unit[unit_id]
                    for s in listeners:
                        s.armed[task_id] = number
                    bus_armed[people["probe_pks"][task_id]] = number
                    sent = time.monotonic()
                    sent_wall.append(time.time())
                    token = _probe_token(people, unit_id)
                    await post(http, addresses[number % 2], token, COMMENT, id=task_id, t=f"探测 {number}")
                    answered.append(time.monotonic() - sent)
                    sent_probes.append((sent, listeners))
                    await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - sent)))
                counts = await asyncio.to_thread(results.get, True, load_seconds + 60)
                load.join(10)
                await asyncio.sleep(5)  # the last probes' arrivals
                bus_listener.cancel()
                hops = _hops(sent_probes, sent_wall, answered, bus_heard)
                probes, missing = len(sent_probes), 0
                after_answer: list[float] = []
                for number, (sent, listeners) in enumerate(sent_probes):
                    for s in listeners:
                        arrived = s.arrivals.get(number)
                        if arrived is None:
                            missing += 1
                        else:
                            latencies.append(arrived - sent)
                            after_answer.append(max(0.0, arrived - sent - answered[number]))
                figures.update(
                    probes=probes,
                    pushes_expected=probes * per_unit,
                    pushes_missing=missing,
                    latency_p50_ms=round(percentile(latencies, 50) * 1000, 1),
                    latency_p99_ms=round(percentile(latencies, 99) * 1000, 1),
                    latency_max_ms=round(max(latencies) * 1000, 1) if latencies else None,
                    after_answer_p50_ms=round(percentile(after_answer, 50) * 1000, 1),
                    after_answer_p99_ms=round(percentile(after_answer, 99) * 1000, 1),
                    answered_p50_ms=round(percentile(answered, 50) * 1000, 1),
                    answered_p99_ms=round(percentile(answered, 99) * 1000, 1),
                    **hops,
                    load_reads=counts.get("reads", 0),
                    load_mutations=counts.get("mutations", 0),
                    load_errors={k: v for k, v in counts.items() if k.startswith("http_")},
                )
            figures.update(await _webhook_figures(url, mark, receiver))
        figures["sockets_closed_early"] = sum(1 for s in subs if s.closed is not None)
        figures["load_average"] = " / ".join(f"{x:.1f}" for x in os.getloadavg()) + " (1, 5, 15 min)"
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for process in reversed(processes):
            stop_server(process, 15.0)
    return figures


def _hops(
    sent_probes: list[tuple[float, list[Subscriber]]],
    sent_wall: list[float],
    answered: list[float],
    heard: dict[tuple[int, str], tuple[float, float]],
) -> dict[str, Any]:
    """Each hop of a probe's path, p50 / p99 in ms: sending to the publication on the bus (by the API process that
    committed it, and by the worker's drain), the bus to this process, and the first publication to each push."""
    hops: dict[str, list[float]] = defaultdict(list)
    for number, (sent, listeners) in enumerate(sent_probes):
        published = [(at, got, source) for (n, source), (at, got) in heard.items() if n == number]
        for at, _, source in published:
            hops[f"send_to_{source}_publish"].append(at - sent_wall[number])
        if not published:
            continue
        at, got, _ = min(published)
        hops["answer_to_publish"].append(at - sent_wall[number] - answered[number])
        hops["publish_to_heard"].append(got - sent - (at - sent_wall[number]))
        for s in listeners:
            if number in s.arrivals:
                hops["heard_to_push"].append(s.arrivals[number] - got)
    return {
        f"hop_{name}_ms": f"{percentile(v, 50) * 1000:.1f} / {percentile(v, 99) * 1000:.1f} ({len(v)})"
        for name, v in sorted(hops.items())
    }


def _probe_token(people: dict[str, Any], unit_id: int) -> str:
    """A subscriber of the unit makes the change (its own unit's task)."""
    return next(token for u, token in people["subscribers"] if u == unit_id)


async def _webhook_figures(url: str, mark: int, receiver: Any) -> dict[str, Any]:
    connection = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            pending = await connection.fetchval(
                "SELECT count(*) FROM outbox_event WHERE processed_at IS NULL"
            ) + await connection.fetchval("SELECT count(*) FROM webhook_delivery WHERE status = 'PENDING'")
            if pending == 0:
                break
            await asyncio.sleep(1)
        drained_after = round(180 - (deadline - time.monotonic()), 1)
        events = await connection.fetchval(
            "SELECT count(*) FROM outbox_event WHERE id > $1 AND topic IN ('task.created', 'task.changed')", mark
        )
        rows = await connection.fetch("SELECT id, status FROM webhook_delivery")
    finally:
        await connection.close()
    received = [r for r in receiver.accepted()]
    ids = [r.message_id for r in received]
    delivered = {f"msg_{r['id']}" for r in rows if r["status"] == "DELIVERED"}
    return {
        "webhook_events": events,
        "webhook_deliveries": len(rows),
        "webhook_delivered": len(delivered),
        "webhook_received": len(ids),
        "webhook_received_unique": len(set(ids)),
        "webhook_lost": events - len(set(ids) & delivered),
        "webhook_sent_twice": len(ids) - len(set(ids)),
        "webhook_unverified": sum(1 for r in receiver.received if not r.verified),
        "webhook_drained_within_s": drained_after,
    }


def report(figures: dict[str, Any]) -> str:
    f = figures
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""# Benchmark: the live service (`./scripts/bench live`)

Run {when} on this machine (2 shared cores, PostgreSQL and a private redis-server on localhost), with
two API processes (uvicorn) and one worker:
`./scripts/bench live --subscribers {f["subscribers"]} --units {f["units"]} --clients {f["clients"]} --idle-seconds {f["idle_seconds"]:g} --load-seconds {f["load_seconds"]:g}`.

| measure | target | measured |
|---|---|---|
| idle subscribers connected (half on each API process) | 2,000 | {f["subscribed"]} (connected in {f["connect_seconds"]} s) |
| database transactions a second while they sit idle (all sources: both APIs, the worker's 5 s and 30 s sweeps) | < 5 | **{f["idle_per_second"]}** ({f["idle_transactions"]} in {f["idle_seconds"]:g} s) |
| a change reaching every subscriber of its unit, p50 / p99 / max, while {f["clients"]} clients load the API | p99 < 1 s | {f["latency_p50_ms"]} / **{f["latency_p99_ms"]}** / {f["latency_max_ms"]} ms |
| of which: the mutation's own answer (it commits before answering), p50 / p99 | | {f["answered_p50_ms"]} / {f["answered_p99_ms"]} ms |
| the same, counted from the mutation's answer (the live path alone: publication, bus, fan-out), p50 / p99 | | {f["after_answer_p50_ms"]} / {f["after_answer_p99_ms"]} ms |
{_hop_rows(f)}
| pushes expected / missing | 0 missing | {f["pushes_expected"]} / {f["pushes_missing"]} |
| load served meanwhile (reads / comment mutations / non-200) | | {f["load_reads"]} / {f["load_mutations"]} / {f["load_errors"] or 0} |
| webhook events (task.created, task.changed) during the load | | {f["webhook_events"]} |
| deliveries recorded / delivered | one per event | {f["webhook_deliveries"]} / {f["webhook_delivered"]} |
| received by the loopback receiver (unique) / lost / sent twice / bad signature | 0 lost, 0 twice | {f["webhook_received_unique"]} / **{f["webhook_lost"]}** / **{f["webhook_sent_twice"]}** / {f["webhook_unverified"]} |
| outbox and deliveries drained within | | {f["webhook_drained_within_s"]} s after the load |

How it is counted: idle cost is the delta of `xact_commit + xact_rollback` of the benchmark database in
`pg_stat_database` (every statement outside a transaction block is one transaction) over the idle window.
Latency: one comment a second on a probe task of a subscribed unit, made by one of its liaisons through
either API process; for each subscriber of that unit, the time from sending the mutation to receiving the
update whose `changedTasks` names the task (the path: commit, the committing API process publishes on Redis
pub/sub, each API process wakes the unit's subscriptions and reads once per unit; the worker's drain publishes
the same event again, heard once). Hops: each bus message carries when it was published (`at`) and by whom.
Webhooks: the delivery log (`webhook_delivery`) and the receiver's own record of accepted `webhook-id`s.
Every benchmark client connects from 127.0.0.1, so the rate limit (keyed on the address before sign-in)
is raised for the run. The load runs in a process of its own (closed loop: each of the clients sends its
next request when the last is answered; four reads of a queue page for each comment); the subscribers,
the probe and the webhook receiver share this process. Load average during the run: {f["load_average"]}
(the machine's two cores are shared with other work; the figures are this machine's, not a server's).
"""


HOP_NAMES = {
    "hop_send_to_api_publish_ms": "hop: sending the mutation to its publication on Redis by the API process that committed it",
    "hop_send_to_worker_publish_ms": "hop: sending the mutation to the worker's publication of the same event (webhooks' and recovery's path)",
    "hop_answer_to_publish_ms": "hop: the mutation's answer to the first publication (negative: published before the answer was read)",
    "hop_publish_to_heard_ms": "hop: the first publication to this process hearing it on Redis",
    "hop_heard_to_push_ms": "hop: this process hearing it to each subscriber's push (both API processes' fan-out, the socket, this process)",
}


def _hop_rows(f: dict[str, Any]) -> str:
    return "\n".join(
        f"| {label}, p50 / p99 ms (samples) | | {f[key]} |" for key, label in HOP_NAMES.items() if key in f
    )


@app.command()
def main(
    subscribers: Annotated[int, typer.Option(help="idle subscribers, half on each API process")] = 2000,
    units: Annotated[int, typer.Option(help="units they belong to (subscribers / units each)")] = 40,
    clients: Annotated[int, typer.Option(help="clients loading the API meanwhile")] = 20,
    idle_seconds: Annotated[float, typer.Option(help="idle window")] = 30,
    load_seconds: Annotated[float, typer.Option(help="load window (one probe change a second)")] = 60,
    output: Annotated[Path, typer.Option(help="where to write the figures")] = ROOT / "docs" / "benchmark-live.md",
    database: Annotated[str, typer.Option(help="the benchmark database, created afresh")] = DB_NAME,
) -> None:
    figures = asyncio.run(run(database, subscribers, units, clients, idle_seconds, load_seconds))
    text = report(figures)
    output.write_text(text)
    typer.echo(text)
    typer.echo(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    app()
