"""Settings, read once from environment variables (pydantic-settings).

Every variable is documented in README.md; the defaults run on a bare laptop.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

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
    county_timezone: str = Field(default="Asia/Shanghai", description="the county's days and deadlines")
    clock_as_of: str | None = Field(
        default=None, description="freeze the clock at this ISO date or datetime (tests, replays)"
    )
    clock_source: Literal["system", "database"] = Field(
        default="system",
        description="database: every process follows the clock that `manage tick --as-of` sets (tests, demos)",
    )
    job_interval_seconds: float = Field(default=30.0, description="how often the outbox sweep runs")
    ladder_sweep_hour: int = Field(default=6, description="county hour of the daily ladder sweep")
    token_ttl_days: int = 90
    max_page_size: int = 100
    graphiql: bool = True
    introspection: bool = Field(default=True, description="false hides the schema from introspection queries")
    max_query_cost: int = Field(default=50_000, description="per field, with list multipliers; reported in extensions")
    max_query_depth: int = 12
    max_aliases: int = 30
    max_query_tokens: int = 3_000
    max_request_bytes: int = Field(default=262_144, description="largest request body accepted")
    rate_limit_per_minute: int = Field(default=1_200, description="requests per token (or address) per minute; 0 off")
    db_pool_max: int = 20
    query_plans: bool = Field(
        default=True, description="answer a read query Strawberry has answered once from its plan (api/compiled)"
    )
    compiled_sql: bool = Field(
        default=True,
        description="on PostgreSQL, answer a planned read whose fields map to tables with one SQL statement that "
        "builds the JSON (api/compiled/sql_plan.py)",
    )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()
