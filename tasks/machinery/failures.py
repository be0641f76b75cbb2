"""Known failures (database, role, password, Redis), each turned into one line: what is wrong, and what to do.

The command line prints it instead of a traceback; the worker and the in-process jobs log it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from urllib.parse import urlsplit

import asyncpg
from redis import exceptions as redis_errors

from config import settings
from tasks.machinery.logs import redact


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _where(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    return parts.username or "", f"{parts.hostname or 'localhost'}:{parts.port or 5432}", parts.path.lstrip("/")


def explain(error: BaseException) -> str | None:
    """One line for a failure an operator can mend; None for anything else (a fault: keep the traceback)."""
    url = settings().database_url
    shown = redact(url)
    user, address, name = _where(url)
    causes = list(_chain(error))
    specific = [c for c in causes if isinstance(c, asyncpg.PostgresError)]  # the server's own words first
    for cause in specific + causes:
        if isinstance(cause, asyncpg.InvalidCatalogNameError):
            return (
                f"数据库 {name!r} 不存在 (database does not exist) at {address}: create it "
                f"(createdb -h {address.split(':')[0]} -U postgres -O {user or 'postgres'} {name}) "
                f"or fix DATABASE_URL ({shown})"
            )
        if isinstance(cause, asyncpg.InvalidPasswordError):
            return (
                f"密码错误 (password authentication failed for role {user!r}) at {address}: "
                f"fix the password in DATABASE_URL ({shown}) or the role's (ALTER ROLE {user} PASSWORD '...')"
            )
        if isinstance(cause, asyncpg.InvalidAuthorizationSpecificationError):
            return (
                f"数据库角色 {user!r} 不存在或不能登录 (role does not exist or may not log in) at {address}: "
                f"create it (createuser -h {address.split(':')[0]} -U postgres {user}) or fix the user in "
                f"DATABASE_URL ({shown}); {cause}"
            )
        if isinstance(cause, redis_errors.RedisError | TimeoutError) and "redis" in repr(type(cause)).lower():
            return (
                f"连不上 Redis (cannot reach Redis at {redact(settings().redis_url)}): start redis-server or fix "
                f"REDIS_URL; without REDIS_URL the jobs run in this process ({cause})"
            )
        if isinstance(cause, sqlite3.OperationalError) or (
            type(cause).__name__ == "OperationalError" and url.startswith("sqlite") and "unable to open" in str(cause)
        ):
            return f"打不开 SQLite 数据库 (cannot open the SQLite database {shown}): check the path ({cause})"
        if isinstance(cause, ConnectionRefusedError | OSError) and not url.startswith("sqlite"):
            return (
                f"连不上数据库 (cannot reach PostgreSQL at {address}): is it running? check DATABASE_URL ({shown}); "
                f"{cause}"
            )
    return None


async def check_redis(seconds: float = 3.0) -> None:
    """Raise at once when Redis is out of reach (arq would retry for several seconds, then print a traceback)."""
    from redis.asyncio import Redis

    client = Redis.from_url(settings().redis_url or "", socket_connect_timeout=seconds, socket_timeout=seconds)
    try:
        await client.ping()
    finally:
        await client.aclose()
