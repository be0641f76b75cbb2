"""Tortoise configuration for the one database the product uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tortoise import Tortoise
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
]


def tortoise_config(database_url: str | None = None, connection: str = "default") -> dict[str, Any]:
    url = database_url or settings().database_url
    if url.startswith(("postgres://", "postgresql://")):
        url = url.replace("postgresql://", "postgres://", 1)
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}maxsize={settings().db_pool_max}"
    return {
        "connections": {connection: url},
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
