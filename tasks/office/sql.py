"""The few SQL fragments the office's figures need that PostgreSQL and SQLite write differently.

The figures are computed by the database (GROUP BY over the period's rows), never by a Python loop
over tasks; these helpers keep one statement text per figure with a dialect's spelling of seconds
between two moments, the county month of a moment, and a median.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from models import clock

SORT_MEMORY = "32MB"
JOIN_MEMORY = "64MB"
JOIN_SETTINGS = "SET LOCAL plan_cache_mode = force_custom_plan"  # JIT is off for every session (models/db.py)


@dataclass
class Sql:
    """One statement being written: text with placeholders in the connection's style, and its values."""

    dialect: str
    values: list[Any] = field(default_factory=list)

    def param(self, value: Any) -> str:
        """A numbered placeholder ($n, or ?n for SQLite) that may be written more than once."""
        self.values.append(value)
        return f"${len(self.values)}" if self.dialect == "postgres" else f"?{len(self.values)}"

    def ids(self, values: Sequence[int]) -> str:
        """An IN list of integers, written inline (ints only: nothing a user typed)."""
        return "(" + ",".join(str(int(v)) for v in values) + ")" if values else "(NULL)"

    def seconds(self, later: str, earlier: str) -> str:
        if self.dialect == "postgres":
            return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
        return f"((julianday({later}) - julianday({earlier})) * 86400.0)"

    def month(self, moment: str) -> str:
        """'2026-09': the county month of a stored (UTC) moment."""
        if self.dialect == "postgres":
            return f"to_char({moment} AT TIME ZONE '{clock.COUNTY_TZ.key}', 'YYYY-MM')"
        offset = datetime.now(UTC).astimezone(clock.COUNTY_TZ).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset else 0
        return f"strftime('%Y-%m', {moment}, '{minutes:+d} minutes')"


def dialect() -> str:
    return connections.get("default").capabilities.dialect


async def rows(statement: str, sql: Sql) -> list[dict[str, Any]]:
    return await connections.get("default").execute_query_dict(statement, sql.values)


async def medians(sql: Sql, value: str, group: str, source: str, where: str) -> dict[Any, tuple[float, float]]:
    """Median and largest `value` per `group` over `source WHERE where`: {group: (median, max)}."""
    if sql.dialect == "postgres":
        statement = (
            f"SELECT {group} AS g, percentile_cont(0.5) WITHIN GROUP (ORDER BY {value}) AS median, "
            f"MAX({value}) AS slowest FROM {source} WHERE {where} GROUP BY {group}"
        )
    else:  # SQLite has no percentile: the middle row(s) by a window
        statement = (
            f"WITH d AS (SELECT {group} AS g, {value} AS v FROM {source} WHERE {where}), "
            "r AS (SELECT g, v, ROW_NUMBER() OVER (PARTITION BY g ORDER BY v) AS rn, "
            "COUNT(*) OVER (PARTITION BY g) AS n FROM d) "
            "SELECT g, AVG(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN v END) AS median, MAX(v) AS slowest "
            "FROM r GROUP BY g"
        )
    return {r["g"]: (float(r["median"]), float(r["slowest"])) for r in await sorted_rows(statement, sql)}


async def sorted_rows(statement: str, sql: Sql) -> list[dict[str, Any]]:
    """A statement that sorts many rows (a median): on PostgreSQL with room to sort in memory, not on disk."""
    return await _rows_with(statement, sql, f"SET LOCAL work_mem = '{SORT_MEMORY}'")


async def joined_rows(statement: str, sql: Sql) -> list[dict[str, Any]]:
    """A statement that joins hundreds of thousands of rows (the targets): on PostgreSQL with room to hash
    them in memory in one batch, and planned for
    its values every time (after five runs of a prepared statement PostgreSQL may keep a generic plan, which
    estimates the birth-date range blindly and was half again slower)."""
    return await _rows_with(statement, sql, f"SET LOCAL work_mem = '{JOIN_MEMORY}'; {JOIN_SETTINGS}")


async def _rows_with(statement: str, sql: Sql, settings: str) -> list[dict[str, Any]]:
    if sql.dialect != "postgres":
        return await rows(statement, sql)
    async with in_transaction() as connection:
        await connection.execute_script(settings)
        return await connection.execute_query_dict(statement, sql.values)
