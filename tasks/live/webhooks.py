"""Webhooks (Standard Webhooks): endpoints an admin registers, deliveries the worker makes.

A drained outbox event of a kind an endpoint asked for becomes one WebhookDelivery row (unique per
endpoint and event, so a batch drained twice delivers once). The worker posts it signed with the
`standardwebhooks` library (headers webhook-id, webhook-timestamp, webhook-signature), retries with
exponential back-off, records every attempt's outcome, and disables an endpoint that keeps failing,
telling the admin's unit with a task. Payloads carry the event kind, ids and times only.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import secrets
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import orjson
from standardwebhooks import Webhook
from tortoise.expressions import F, Q

from config import settings
from models import clock
from models.live import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from models.outbox import OutboxEvent
from models.units import Unit
from models.users import User, UserRole
from tasks.errors import DomainError, ErrorCode, optional_text
from tasks.live.events import LiveKind

log = logging.getLogger("kongchuo.webhooks")
SECRET_PREFIX = "whsec_"
BATCH = 200
TYPE_NAMES = {"task_ids": "Task", "case_ids": "Case", "unit_ids": "Unit"}


def _now() -> datetime:
    """Deliveries keep real time: the county clock may be frozen or replayed, a receiver's is not."""
    return datetime.now(UTC)


def _global(type_name: str, pk: int) -> str:  # the API's opaque ids (api/ids.py), so a receiver can ask node(id:)
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def _require_admin(user: User) -> None:
    if user.role is not UserRole.ADMIN:
        raise DomainError(ErrorCode.FORBIDDEN, "只有系统管理员可以管理回调地址 (admins only)", "id")


def _checked_url(url: str) -> str:
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(text) > 500:
        raise DomainError(ErrorCode.INVALID, "回调地址须为 http(s) 网址 (url: http or https)", "url")
    host = parts.hostname
    if host in settings().allowed_webhook_hosts:
        return text
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)}
    except OSError as error:
        raise DomainError(ErrorCode.INVALID, "回调地址的主机无法解析 (host does not resolve)", "url") from error
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise DomainError(
                ErrorCode.FORBIDDEN, "回调地址不能指向内网或本机 (url: private or loopback address)", "url"
            )
    return text


def _checked_kinds(kinds: Sequence[str]) -> list[str]:
    chosen = sorted(set(kinds))
    known = {k.value for k in LiveKind}
    if not chosen or not set(chosen) <= known:
        raise DomainError(ErrorCode.INVALID, f"事件类型须为：{'、'.join(sorted(known))} (event kinds)", "eventKinds")
    return chosen


def _checked_secret(secret: str | None) -> str:
    if not secret:
        return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        Webhook(secret)
        raw = base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==")
    except Exception as error:
        raise DomainError(ErrorCode.INVALID, "密钥须为 whsec_ 加 base64 (secret: whsec_<base64>)", "secret") from error
    if len(raw) < 24:
        raise DomainError(ErrorCode.INVALID, "密钥至少 24 字节 (secret: at least 24 bytes)", "secret")
    return secret if secret.startswith(SECRET_PREFIX) else SECRET_PREFIX + secret


async def register_endpoint(
    user: User, url: str, event_kinds: Sequence[str], secret: str | None = None, description: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """The new endpoint and its secret (shown this once)."""
    _require_admin(user)
    endpoint = await WebhookEndpoint.create(
        url=_checked_url(url),
        event_kinds=_checked_kinds(event_kinds),
        secret=_checked_secret(secret),
        description=optional_text(description, "description", 200),
        unit_id=user.unit_id,
        created_by=user,
    )
    return endpoint, endpoint.secret


async def update_endpoint(
    user: User, endpoint_id: int, *, enabled: bool | None = None, event_kinds: Sequence[str] | None = None
) -> WebhookEndpoint:
    _require_admin(user)
    endpoint = await WebhookEndpoint.get_or_none(id=endpoint_id)
    if endpoint is None:
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这个回调地址 (endpoint not found)", "id")
    if event_kinds is not None:
        endpoint.event_kinds = _checked_kinds(event_kinds)
    if enabled is not None:
        endpoint.enabled = enabled
        if enabled:
            endpoint.consecutive_failures, endpoint.disabled_reason = 0, None
    await endpoint.save()
    return endpoint


async def redeliver(user: User, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again (whatever its status): it becomes due now, with a fresh round of attempts."""
    _require_admin(user)
    delivery = await WebhookDelivery.get_or_none(id=delivery_id)
    if delivery is None:
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这次投递 (delivery not found)", "id")
    delivery.status, delivery.next_attempt_at, delivery.attempts = DeliveryStatus.PENDING, _now(), 0
    await delivery.save(update_fields=["status", "next_attempt_at", "attempts"])
    return delivery


def payload_of(event: OutboxEvent) -> dict[str, object]:
    data: dict[str, object] = {"eventId": str(event.id)}
    for key, type_name in TYPE_NAMES.items():
        ids = list(event.payload.get(key, ()))
        if key == "case_ids" and "case_id" in event.payload:
            ids.append(event.payload["case_id"])
        if ids:
            data[key.replace("_ids", "Ids")] = [_global(type_name, i) for i in sorted(set(ids))]
    return {"type": event.topic, "timestamp": event.created_at.astimezone(UTC).isoformat(), "data": data}


async def queue_deliveries(events: Sequence[OutboxEvent]) -> int:
    """Inside the drain: one delivery per enabled endpoint that asked for the event's kind."""
    kinds = {k.value for k in LiveKind}
    wanted = [e for e in events if e.topic in kinds]
    if not wanted:
        return 0
    endpoints = await WebhookEndpoint.filter(enabled=True)
    rows = [
        WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id=event.id,
            event_kind=event.topic,
            payload=payload_of(event),
            next_attempt_at=_now(),
        )
        for event in wanted
        for endpoint in endpoints
        if event.topic in endpoint.event_kinds
    ]
    if rows:
        await WebhookDelivery.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def backoff(attempts: int) -> timedelta:
    """After the n-th failed attempt: base × 2^(n-1), at most an hour."""
    base = settings().webhook_backoff_seconds
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def _due() -> Q:
    when = Q(next_attempt_at__lte=_now()) | Q(next_attempt_at=None)
    return Q(status=DeliveryStatus.PENDING, endpoint__enabled=True) & when


async def deliver_due(limit: int = BATCH) -> int:
    """Post every delivery that is due; returns how many were attempted. Safe to run in several workers."""
    attempted = 0
    async with httpx.AsyncClient(timeout=settings().webhook_timeout_seconds, follow_redirects=False) as http:
        while True:
            due = await WebhookDelivery.filter(_due()).order_by("id").limit(limit).select_related("endpoint")
            if not due:
                return attempted
            # A few at a time (WEBHOOK_CONCURRENCY), each claimed just before it is sent: a burst of changes is no
            # flood for a small receiver (hundreds of connections at once look like an outage and disable it), and
            # no claim's lease runs out while it waits its turn.
            step = max(1, settings().webhook_concurrency)
            for start in range(0, len(due), step):
                claimed = [d for d in due[start : start + step] if await _claim(d)]
                await asyncio.gather(*(_attempt(http, d) for d in claimed))
                attempted += len(claimed)
            if len(due) < limit:
                return attempted


async def _claim(delivery: WebhookDelivery) -> bool:
    """Take the delivery for this worker: its next attempt moves past the request timeout, once."""
    lease = _now() + timedelta(seconds=settings().webhook_timeout_seconds + 5)
    taken = await WebhookDelivery.filter(
        id=delivery.id, status=DeliveryStatus.PENDING, attempts=delivery.attempts
    ).update(next_attempt_at=lease, attempts=F("attempts") + 1)
    delivery.attempts += 1
    return taken == 1


async def _attempt(http: httpx.AsyncClient, delivery: WebhookDelivery) -> None:
    endpoint = delivery.endpoint
    body = orjson.dumps(delivery.payload).decode()
    message_id = f"msg_{delivery.id}"
    sent_at = datetime.now(UTC)  # the receiver checks it against its own clock: real time, not the county clock
    headers = {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(endpoint.secret).sign(message_id, sent_at, body),
        "user-agent": "kongchuo-webhooks/1",
    }
    code: int | None = None
    try:
        response = await http.post(endpoint.url, content=body.encode(), headers=headers)
        code = response.status_code
        error = None if 200 <= code < 300 else f"HTTP {code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    if error is None:
        await WebhookDelivery.filter(id=delivery.id).update(
            status=DeliveryStatus.DELIVERED, response_code=code, delivered_at=_now(), last_error=None
        )
        await WebhookEndpoint.filter(id=endpoint.id).update(consecutive_failures=0)
        return
    gave_up = delivery.attempts >= settings().webhook_max_attempts
    await WebhookDelivery.filter(id=delivery.id).update(
        status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
        response_code=code,
        last_error=error,
        next_attempt_at=None if gave_up else _now() + backoff(delivery.attempts),
    )
    await WebhookEndpoint.filter(id=endpoint.id).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = (await WebhookEndpoint.get(id=endpoint.id)).consecutive_failures
    if failures >= settings().webhook_disable_after_failures:
        await _disable(endpoint, f"连续 {failures} 次投递失败，最近一次：{error}")


async def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    from tasks.queue.workflow import create_task

    disabled = await WebhookEndpoint.filter(id=endpoint.id, enabled=True).update(
        enabled=False, disabled_reason=reason[:300]
    )
    if not disabled:
        return
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
    await create_task(
        title=f"回调地址已停用，请检查后重新启用：{endpoint.url}"[:300],
        description=f"{reason} (webhook endpoint disabled after repeated failures)",
        unit=await Unit.get(id=endpoint.unit_id),
        due=clock.today() + timedelta(days=3),
        unique_key=f"webhook-disabled:{endpoint.id}:{clock.now().isoformat()}"[:200],
    )
