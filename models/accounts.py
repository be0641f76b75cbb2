"""Users and their bearer tokens. A token is shown once, and only its SHA-256 is kept."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache

from tortoise.transactions import in_transaction

from config import settings
from models import audit, clock
from models.audit import AuditAction
from models.outbox import TOKEN_REVOKED, OutboxEvent
from models.units import Unit
from models.users import Token, User, UserRole

TOKEN_PREFIX = "kc_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(unit: Unit, role: UserRole, name: str) -> User:
    return await User.create(unit=unit, role=role, name=name.strip())


async def issue_token(user: User, ttl_days: int | None = None, source: str = "cli") -> str:
    """A new bearer token (a sign-in). Only its hash is stored; the audit keeps its first characters."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    days = ttl_days if ttl_days is not None else settings().token_ttl_days
    await Token.create(
        user=user,
        token_hash=hash_token(token),
        prefix=token[:10],
        expires_at=clock.now() + timedelta(days=days),
    )
    await audit.record(AuditAction.SIGN_IN, actor=user, source=source, target=token[:10], detail={"days": days})
    return token


async def revoke_token(token_or_prefix: str) -> int:
    """Revoke by the whole token or by its first 10 characters; returns how many were revoked."""
    query = Token.filter(revoked_at=None)
    if len(token_or_prefix) > 10:
        query = query.filter(token_hash=hash_token(token_or_prefix))
    else:
        query = query.filter(prefix=token_or_prefix)
    async with in_transaction():
        hashes = await query.values_list("token_hash", flat=True)
        revoked = await Token.filter(token_hash__in=list(hashes), revoked_at=None).update(revoked_at=clock.now())
        if hashes:  # open WebSockets of these tokens close on every process (api/live.py)
            await OutboxEvent.create(topic=TOKEN_REVOKED, payload={"token_hashes": list(hashes), "user_ids": []})
    await audit.record(
        AuditAction.TOKEN_REVOKED, source="cli", target=token_or_prefix[:10], detail={"revoked": revoked}
    )
    return revoked


async def deactivate_user(user_id: int) -> int:
    """The user can no longer sign in; their open WebSockets close on every process."""
    async with in_transaction():
        changed = await User.filter(id=user_id, is_active=True).update(is_active=False)
        if changed:
            await OutboxEvent.create(topic=TOKEN_REVOKED, payload={"token_hashes": [], "user_ids": [user_id]})
    return changed


async def token_expiry(token: str) -> datetime | None:
    row = await Token.filter(token_hash=hash_token(token)).first().values_list("expires_at", flat=True)
    return row  # type: ignore[return-value]


async def authenticate(token: str) -> User | None:
    """The active user a live token belongs to, or None. One query.

    Every request makes it, so it is written once as SQL (the same statement each time, prepared by
    asyncpg) rather than built by the ORM per request: that cost about 0.3 ms of CPU a request.
    """
    db = User._meta.db
    sql = _authenticate_sql(db.capabilities.dialect)
    # In UTC, as stored: SQLite compares datetimes as text, so another offset would compare wrong.
    _, rows = await db.execute_query(sql, [hash_token(token), clock.now()])
    if not rows:
        return None
    user = User._init_from_db(**dict(zip(_user_columns(), tuple(rows[0]), strict=True)))
    return user if user.is_active else None


def _user_columns() -> tuple[str, ...]:
    return tuple(User._meta.fields_db_projection.values())


@cache
def _authenticate_sql(dialect: str) -> str:
    token_hash, moment = ("$1", "$2") if dialect == "postgres" else ("?", "?")
    columns = ", ".join(f'u."{c}"' for c in _user_columns())
    return (
        f'SELECT {columns} FROM "{Token._meta.db_table}" t JOIN "{User._meta.db_table}" u ON u."id" = t."user_id" '
        f'WHERE t."token_hash" = {token_hash} AND t."revoked_at" IS NULL AND t."expires_at" > {moment} LIMIT 1'
    )
