"""What the province benchmark records: its settings and, per size of data, the figures the report shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from scripts.benchmarks.harness.database import database_url
from scripts.benchmarks.harness.http import Stats
from scripts.benchmarks.harness.load import LoadFigures
from scripts.benchmarks.harness.postgraphile import TheirConfig
from scripts.benchmarks.harness.province_data import ProvincePlan
from scripts.benchmarks.harness.servers import OurConfig
from scripts.benchmarks.province.configs import SweepRow
from scripts.benchmarks.province.mixed import Counts, FaultWindow, Ledger, Recovery
from scripts.benchmarks.province.page import Caller


@dataclass(frozen=True)
class Settings:
    database: str
    admin_url: str
    redis_url: str
    plan: ProvincePlan
    cache: Path
    clients: int
    rounds: int
    round_seconds: float
    sweep_seconds: float
    iterations: int
    warmup: int
    sample: int
    minutes: float
    faults: bool
    fault_seconds: float
    reuse: bool
    keep: bool
    log_dir: Path

    def url(self, name: str) -> str:
        return database_url(self.admin_url, name)

    @property
    def sizes(self) -> list[tuple[str, str, ProvincePlan]]:
        return [("province", self.database, self.plan), ("a tenth", f"{self.database}_tenth", self.plan.scaled(0.1))]


@dataclass
class Size:
    label: str
    database: str
    plan: ProvincePlan
    seed_s: float | None
    data: dict[str, int]
    callers: list[Caller]
    sql: Stats
    ours_one: Stats = field(default_factory=lambda: Stats.of([]))
    theirs_one: Stats = field(default_factory=lambda: Stats.of([]))


@dataclass
class Comparison:
    ours_config: OurConfig
    theirs_config: TheirConfig
    ours: LoadFigures
    theirs: LoadFigures
    matched: int
    id_problems: list[str]
    sweep_ours: list[tuple[OurConfig, SweepRow]]
    sweep_theirs: list[tuple[TheirConfig, SweepRow]]


@dataclass
class Mixed:
    seconds: float
    ledger: Ledger
    counts: Counts
    drain_s: float | None
    worker_alive: bool
    faults: list[Recovery] = field(default_factory=list)
    windows: list[FaultWindow] = field(default_factory=list)
    redis_catch_up_s: float | None = None


@dataclass
class Outcome:
    settings: Settings
    load_at_start: str
    started: datetime
    command: str
    machine: dict[str, str]
    postgraphile: str
    sizes: list[Size]
    comparison: Comparison
    mixed: Mixed | None
    faults: Mixed | None
