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
    demo_data: bool | None = Field(
        default=None,
        description="seed the clearly marked demo villages and schools; unset: only on the embedded default (SQLite)",
    )
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
    rate_limit_per_minute: int = Field(
        default=1_200,
        description="requests (and WebSocket messages) per signed-in user, or per client address before sign-in, "
        "per minute, counted once across every API process (in Redis when REDIS_URL is set); 0 off",
    )
    ws_max_sockets_per_token: int = Field(default=5, description="open WebSockets per token, across every process")
    ws_max_subscriptions_per_socket: int = Field(default=10, description="subscriptions one WebSocket may carry")
    live_check_seconds: float = Field(
        default=1.0, description="embedded mode: how often the server looks for new outbox events to publish"
    )
    webhook_allowed_hosts: str = Field(
        default="", description="comma-separated hosts a webhook may point at even if private or loopback"
    )
    webhook_max_attempts: int = Field(default=8, description="attempts of one delivery before it is FAILED")
    webhook_backoff_seconds: float = Field(default=5.0, description="wait after the first failure; doubles after each")
    webhook_timeout_seconds: float = Field(default=10.0, description="how long a receiver may take to answer")
    webhook_concurrency: int = Field(default=8, description="requests a worker sends one endpoint at once")
    webhook_disable_after_failures: int = Field(
        default=20, description="consecutive failed attempts after which an endpoint is disabled and its admin told"
    )
    idempotency_ttl_hours: int = Field(default=24, description="how long an Idempotency-Key's first answer is kept")
    audit_failed_sign_ins_per_minute: int = Field(
        default=30, description="failed sign-ins written to the audit trail per client address a minute; 0: all"
    )
    db_pool_max: int = 20
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per log line, for a log collector"
    )
    worker_metrics_port: int | None = Field(
        default=None, description="serve the worker's /metrics on this port (without PROMETHEUS_MULTIPROC_DIR)"
    )
    request_log: bool = Field(
        default=True, description="one log line per GraphQL request (id, operation, status, time)"
    )
    import_dir: Path = Field(default=ROOT / "var" / "imports", description="where uploaded import files are kept")
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, description="largest import file accepted")
    query_plans: bool = Field(
        default=True, description="answer a read query Strawberry has answered once from its plan (api/compiled)"
    )
    compiled_sql: bool = Field(
        default=True,
        description="on PostgreSQL, answer a planned read whose fields map to tables with one SQL statement that "
        "builds the JSON (api/compiled/sql_plan.py)",
    )

    def wants_demo(self) -> bool:
        """Demo data only when asked (DEMO_DATA=true) or on the embedded default; never by default in production."""
        if self.demo_data is not None:
            return self.demo_data
        return self.database_url.startswith("sqlite")

    @property
    def allowed_webhook_hosts(self) -> set[str]:
        return {h.strip() for h in self.webhook_allowed_hosts.split(",") if h.strip()}


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings()
