"""The audit trail: every write, every reveal of a sensitive field, every sign-in and failed
sign-in, every export and download. Append-only: the database itself refuses to change or
delete a line (triggers installed by migration 0004), and no API offers to.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

log = logging.getLogger("kongchuo.audit")


class AuditAction(StrEnum):
    WRITE = "WRITE"  # a mutation or a command that changed data (or tried to)
    REVEAL = "REVEAL"  # a sensitive field shown whole, with the purpose stated
    SIGN_IN = "SIGN_IN"  # a token issued
    SIGN_IN_FAILED = "SIGN_IN_FAILED"  # a request with a token that is not valid
    TOKEN_REVOKED = "TOKEN_REVOKED"
    DOWNLOAD = "DOWNLOAD"  # a printable form or any export


class AuditEntry(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    action = fields.CharEnumField(AuditAction, max_length=16)
    actor_id = fields.IntField(null=True)  # a user id; kept even if the user goes
    actor_name = fields.CharField(max_length=100, default="")
    unit_id = fields.IntField(null=True)
    source = fields.CharField(max_length=64, default="")  # client address, or "cli"
    operation = fields.CharField(max_length=100, default="")  # mutation or command name
    target = fields.CharField(max_length=120, default="")  # a global id or "table:id"
    outcome = fields.CharField(max_length=32, default="OK")  # OK, or the userError / fault code
    detail = fields.JSONField(default=dict)
    request_id = fields.CharField(max_length=32, default="")

    class Meta:
        table = "audit_entry"
        indexes = (
            Index(fields=("at", "id"), name="audit_at_idx"),
            Index(fields=("actor_id", "id"), name="audit_actor_idx"),
        )


async def record(
    action: AuditAction,
    *,
    actor: object | None = None,
    source: str = "",
    operation: str = "",
    target: str = "",
    outcome: str = "OK",
    detail: dict[str, object] | None = None,
    request_id: str = "",
) -> AuditEntry:
    """Append one line, and say so in the log with the request id. `actor` is a User, or None."""
    from models import clock

    log.info(
        "audit %s %s %s by %s from %s: %s [request %s]",
        action.value,
        _text(operation, 100),
        _text(target, 120),
        getattr(actor, "id", "-"),
        _text(source, 64),
        _text(outcome, 32),
        _text(request_id, 32),
    )
    return await AuditEntry.create(
        at=clock.now(),
        action=action,
        actor_id=getattr(actor, "id", None),
        actor_name=_text(getattr(actor, "name", ""), 100),
        unit_id=getattr(actor, "unit_id", None),
        source=_text(source, 64),
        operation=_text(operation, 100),
        target=_text(target, 120),
        outcome=_text(outcome, 32),
        detail=detail or {},
        request_id=_text(request_id, 32),
    )


async def failed_sign_in(source: str, token: str, channel: str, request_id: str = "") -> None:
    """A request with a token that is not valid (HTTP, a document download, a WebSocket's connection_init).

    Made-up tokens must not flood the trail: from one client address at most AUDIT_FAILED_SIGN_INS_PER_MINUTE
    lines a minute are written, the last of them saying so; further ones that minute go to the log only.
    """
    from config import settings
    from models import clock

    cap = settings().audit_failed_sign_ins_per_minute
    minute = clock.now().replace(second=0, microsecond=0)
    source = _text(source, 64)
    written = 0
    if cap > 0:
        written = await AuditEntry.filter(action=AuditAction.SIGN_IN_FAILED, source=source, at__gte=minute).count()
    if cap > 0 and written >= cap:
        log.info("audit SIGN_IN_FAILED %s from %s: not written, %d this minute [request %s]", channel, source,
                 written, _text(request_id, 32))  # fmt: skip
        return
    detail: dict[str, object] = {"channel": channel}
    if cap > 0 and written == cap - 1:
        detail["note"] = f"further failed sign-ins from {source} this minute are logged, not written"
    await record(
        AuditAction.SIGN_IN_FAILED, source=source, operation=channel, target=token[:10], detail=detail,
        request_id=request_id,
    )  # fmt: skip


def _text(value: str, length: int) -> str:
    """What a caller sent may hold U+0000 (a URL's %00, a token): PostgreSQL cannot store it, so it is replaced."""
    return value.replace("\x00", "\ufffd")[:length]
