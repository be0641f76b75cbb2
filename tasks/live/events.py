"""Live events: written to the outbox with the change that causes them, published once drained.

Each is an outbox row (tasks/machinery/outbox.py) in the transaction of its change, so an event
is published only for a committed change and is never lost: the worker (or the in-process runner)
drains the outbox, publishes the batch on the bus (tasks/live/bus.py) and queues the webhook
deliveries. Payloads hold ids and times only, never a child's personal data.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any

from models import clock
from models.outbox import TOKEN_REVOKED, OutboxEvent


class LiveKind(StrEnum):
    """The event kinds a webhook endpoint may ask for (and the outbox topics that carry them)."""

    TASK_CREATED = "task.created"
    TASK_CHANGED = "task.changed"
    TASK_ESCALATED = "task.escalated"
    CASE_CHANGED = "case.changed"
    TASK_OVERDUE = "task.overdue"  # its deadline passed with no change of its own (tasks/live/falling_due.py)


LIVE_TOPICS = {k.value for k in LiveKind} | {TOKEN_REVOKED}


def _ids(values: Iterable[int | None]) -> list[int]:
    return sorted({v for v in values if v is not None})


async def tasks_changed(
    kind: LiveKind,
    task_ids: Sequence[int],
    unit_ids: Iterable[int | None],
    case_ids: Iterable[int | None] = (),
) -> None:
    """Inside the change's transaction: these tasks were created, changed or escalated."""
    if not task_ids:
        return
    await OutboxEvent.create(
        topic=kind.value,
        payload={"task_ids": sorted(set(task_ids)), "unit_ids": _ids(unit_ids), "case_ids": _ids(case_ids)},
        effective_on=clock.today(),
    )


async def tokens_revoked(token_hashes: Sequence[str] = (), user_ids: Sequence[int] = ()) -> None:
    if token_hashes or user_ids:
        await OutboxEvent.create(
            topic=TOKEN_REVOKED, payload={"token_hashes": list(token_hashes), "user_ids": list(user_ids)}
        )


FIELDS = ("unit_ids", "case_ids", "task_ids", "escalated_task_ids", "token_hashes", "user_ids")


def entry(event: OutboxEvent) -> dict[str, Any]:
    """One event as the bus carries it: its id (for de-duplication) and what it concerns."""
    payload = event.payload or {}
    case_ids = set(payload.get("case_ids", ()))
    if "case_id" in payload:
        case_ids.add(payload["case_id"])
    task_ids = sorted(set(payload.get("task_ids", ())))
    concerns = {
        "unit_ids": sorted(set(payload.get("unit_ids", ()))),
        "case_ids": sorted(case_ids),
        "task_ids": task_ids,
        "escalated_task_ids": task_ids if event.topic == LiveKind.TASK_ESCALATED else [],
        "token_hashes": list(payload.get("token_hashes", ())),
        "user_ids": list(payload.get("user_ids", ())),
    }
    return {"id": event.id, **{k: v for k, v in concerns.items() if v}}


def merged(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """What a set of events concerns, together: the fields subscriptions wait on."""
    together: dict[str, set[Any]] = {name: set() for name in FIELDS}
    for one in entries:
        for name in FIELDS:
            together[name].update(one.get(name, ()))
    return {name: sorted(values) for name, values in together.items()}


def summary(events: Sequence[OutboxEvent], source: str = "worker") -> dict[str, Any] | None:
    """One bus message for events committed together: each event (by id, so a process hears it once
    whether the change's own API process or the worker's drain published it first) and when it was sent."""
    live = [entry(e) for e in events if e.topic in LIVE_TOPICS]
    if not live:
        return None
    return {"events": live, "source": source}
