"""Settings, read once from environment variables (pydantic-settings).

Every variable is documented in README.md; the defaults run on a bare laptop.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str = Field(
        default=f"sqlite://{ROOT / 'var' / 'kongchuo.sqlite3'}",
        description="sqlite:///path or postgres://user@host:port/db",
    )
    redis_url: str | None = Field(default=None, description="redis://host:port/db; unset runs jobs inside the server")
    host: str = "127.0.0.1"
    port: int = 8000
    policy_file: Path = ROOT / "tasks" / "policy" / "hutubi.yaml"
    demo_data: bool = Field(default=True, description="seed the clearly marked demo villages and schools")
    timezone: str = "Asia/Shanghai"
    clock_as_of: str | None = Field(
        default=None, description="freeze the clock at this ISO date or datetime (tests, replays)"
    )
    token_ttl_days: int = 90
    max_page_size: int = 100
    graphiql: bool = True
    db_pool_max: int = 20


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()
