"""Tortoise configuration for the one database the product uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import DBConnectionError
from tortoise.migrations.api import migrate

from config import settings

MODEL_MODULES = [
    "models.units",
    "models.duties",
    "models.users",
    "models.tasks",
    "models.children",
    "models.cases",
    "models.calendar",
    "models.outbox",
    "models.facts",
    "models.rules",
    "models.audit",
    "models.imports",
    "models.registers",
    "models.live",
    "models.office",
    "models.registers",
    "models.population",
]


class PooledConnection(asyncpg.Connection):
    """A pooled PostgreSQL connection that goes back to the pool without a reset statement.

    asyncpg's default reset (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL) is a round trip after
    every query Tortoise runs outside a transaction, several per request. Nothing here takes advisory
    locks, opens cursors, listens or changes session settings; an open transaction is still rolled back.
    """

    def get_reset_query(self) -> str:
        return ""


# Without JIT: a compiled read's estimated cost counts each nested list's gate once per row, so a page of a
# school's cases with their nested connections passes jit_above_cost; PostgreSQL then compiles ~480 functions
# (~170 ms) at every execution of the kept generic plan to run a 20 ms statement. The API's statements are short.
# In the county's time zone: a compiled read writes a moment as the API does (2026-09-03T09:00:00+08:00) with one
# to_char (models/json_select.py iso_moment); computing the offset per value cost a third of a page's statement.
# Nothing else reads the session's zone: parameters and results are binary (UTC), and the SQL we write names
# its zone (AT TIME ZONE) wherever it turns a moment into a day or a month.
def session_settings() -> dict[str, str]:
    return {"jit": "off", "timezone": settings().county_timezone}


def _connection(url: str) -> str | dict[str, Any]:
    if not url.startswith(("postgres://", "postgresql://")):
        return url
    config = expand_db_url(url.replace("postgresql://", "postgres://", 1))
    config["credentials"]["maxsize"] = settings().db_pool_max
    config["credentials"]["connection_class"] = PooledConnection
    config["credentials"]["server_settings"] = session_settings()
    return config


# The database cannot be reached just now (restarting, down, a connection cut): retry shortly; not a bug.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    ConnectionError,  # refused, reset, broken pipe
    asyncpg.exceptions.ConnectionDoesNotExistError,  # closed in the middle of an operation
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08
    asyncpg.exceptions.CannotConnectNowError,  # starting up or shutting down
    asyncpg.exceptions.AdminShutdownError,  # terminated by a restart
    asyncpg.exceptions.CrashShutdownError,
    DBConnectionError,
)


def database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) says the database is out of reach rather than that a query is wrong."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, _UNAVAILABLE) or _dropped_connection(error):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _dropped_connection(error: BaseException) -> bool:
    """asyncpg's words for a pooled connection PostgreSQL cut (a restart terminates every backend) while it sat
    idle or just as it was used; seen in the benchmark's restarts, never under load without one."""
    message = str(error)
    if isinstance(error, asyncpg.exceptions.InterfaceError):
        return "connection is closed" in message
    return isinstance(error, asyncpg.exceptions.InternalClientError) and "another operation" in message


def tortoise_config(database_url: str | None = None, connection: str = "default") -> dict[str, Any]:
    url = database_url or settings().database_url
    return {
        "connections": {connection: _connection(url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": connection,
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def is_postgres(url: str | None = None) -> bool:
    return (url or settings().database_url).startswith(("postgres://", "postgresql://"))


# Read by the `tortoise` command line (makemigrations): `tortoise -c models.db.TORTOISE_ORM`.
TORTOISE_ORM = tortoise_config()


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite://") and ":memory:" not in url:
        Path(url.removeprefix("sqlite://").split("?")[0]).parent.mkdir(parents=True, exist_ok=True)


@asynccontextmanager
async def connected(database_url: str | None = None) -> AsyncIterator[None]:
    """Tortoise set up for a command or a worker, closed on the way out."""
    url = database_url or settings().database_url
    _ensure_sqlite_folder(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        yield
    finally:
        await Tortoise.close_connections()


async def apply_migrations(
    database_url: str | None = None, progress: Callable[[str, str, str], object] | None = None
) -> None:
    """Apply every committed migration that the database lacks; a no-op when it is current."""
    url = database_url or settings().database_url
    _ensure_sqlite_folder(url)
    try:
        await migrate(config=tortoise_config(url), progress=progress)
    finally:
        await Tortoise.close_connections()
