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


def summary(events: Sequence[OutboxEvent]) -> dict[str, Any] | None:
    """One bus message for a drained batch: which units, cases and tasks changed; which tokens died."""
    live = [e for e in events if e.topic in LIVE_TOPICS]
    if not live:
        return None
    message: dict[str, Any] = {
        "event_ids": [e.id for e in live],
        "unit_ids": set(),
        "case_ids": set(),
        "task_ids": set(),
        "escalated_task_ids": set(),
        "token_hashes": set(),
        "user_ids": set(),
    }
    for event in live:
        payload = event.payload or {}
        message["unit_ids"].update(payload.get("unit_ids", ()))
        message["case_ids"].update(payload.get("case_ids", ()))
        if "case_id" in payload:
            message["case_ids"].add(payload["case_id"])
        message["task_ids"].update(payload.get("task_ids", ()))
        if event.topic == LiveKind.TASK_ESCALATED:
            message["escalated_task_ids"].update(payload.get("task_ids", ()))
        message["token_hashes"].update(payload.get("token_hashes", ()))
        message["user_ids"].update(payload.get("user_ids", ()))
    return {k: sorted(v) if isinstance(v, set) else v for k, v in message.items()}
