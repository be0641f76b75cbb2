"""Raw SQL for the registers' bulk paths, in the dialect of the connection in use (inside a transaction, its own).

Tortoise's model objects cost tens of microseconds a field to build; a 100,000-row file would spend most of
its time there. These helpers take and give plain tuples, with the values converted by the models' own
fields (`db_values`), so SQLite and PostgreSQL store exactly what the ORM would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from typing import Any

from tortoise import connections
from tortoise import fields as fields_module
from tortoise.models import Model


class Raw:
    """`:name` placeholders in the dialect's style (PostgreSQL $n, SQLite ?); `:name*` expands a list."""

    def __init__(self) -> None:
        self.db = connections.get("default")
        self.postgres = self.db.capabilities.dialect == "postgres"

    def _sql(self, sql: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
        values: list[Any] = []
        numbers: dict[str, str] = {}

        def place(match: re.Match[str]) -> str:
            name, many = match.group(1), match.group(2) == "*"
            value = params[name]
            if many:
                items = list(value)
                if self.postgres:
                    values.append(items)
                    return f"${len(values)}"
                values.extend(items)
                return "(" + ", ".join("?" * len(items)) + ")" if items else "(NULL)"
            if not self.postgres:
                values.append(value.isoformat() if isinstance(value, date) else value)
                return "?"
            if name not in numbers:
                values.append(value)
                numbers[name] = f"${len(values)}"
            return numbers[name]

        return re.sub(r"(?<![:\w]):([a-z_]+)(\*?)", place, sql), values

    def in_list(self, column: str, name: str, sql_type: str = "text") -> str:
        """`column IN (the list :name)`. On PostgreSQL a semi-join with unnest($n), which the planner hashes or
        looks up by index: `= ANY($n)` over a fresh (not yet analysed) table is a scan comparing each row with
        each element, and grows with the table times the batch."""
        if self.postgres:
            return f"{column} IN (SELECT unnest(CAST(:{name}* AS {sql_type}[])))"
        return f"{column} IN :{name}*"

    async def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        text, values = self._sql(sql, params)
        _, rows = await self.db.execute_query(text, values)
        return [tuple(r) for r in rows]

    async def dicts(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        text, values = self._sql(sql, params)
        return await self.db.execute_query_dict(text, values)

    async def insert(self, model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """INSERT many rows (values already converted with db_values)."""
        if not rows:
            return
        table = model._meta.db_table
        if self.postgres:  # COPY: an order of magnitude faster than one INSERT per row, in the same transaction
            async with self.db.acquire_connection() as connection:
                await connection.copy_records_to_table(table, records=[tuple(r) for r in rows], columns=list(columns))
            return
        marks = ", ".join("?" for _ in columns)
        await self.db.execute_many(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", list(rows))

    async def update(self, model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """UPDATE many rows by id: each row is the new values of `columns`, then the id."""
        if not rows:
            return
        table = model._meta.db_table
        sets = ", ".join(f"{c} = {f'${i + 1}' if self.postgres else '?'}" for i, c in enumerate(columns))
        where = f"${len(columns) + 1}" if self.postgres else "?"
        await self.db.execute_many(f"UPDATE {table} SET {sets} WHERE id = {where}", list(rows))


_CONVERTERS: dict[tuple[type[Model], tuple[str, ...]], list[Callable[[Any], Any] | None]] = {}


def _converters(model: type[Model], columns: Sequence[str]) -> list[Callable[[Any], Any] | None]:
    """Per column: None when the value goes as it is, else the field's own conversion (enums, JSON, times)."""
    key = (model, tuple(columns))
    if key not in _CONVERTERS:
        fields = model._meta.fields_map
        plain = (fields_module.IntField, fields_module.CharField, fields_module.BooleanField, fields_module.DateField)
        _CONVERTERS[key] = [
            None
            if isinstance(fields[c], plain) and not isinstance(fields[c], fields_module.data.CharEnumFieldInstance)
            else _last_one(partial(fields[c].to_db_value, instance=model))
            if isinstance(fields[c], fields_module.DatetimeField)
            else partial(fields[c].to_db_value, instance=model)
            for c in columns
        ]
    return _CONVERTERS[key]


def _last_one(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A batch stamps every row with the same moment: convert it once."""
    last: list[Any] = [object(), None]

    def cached(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return cached


def db_values(model: type[Model], columns: Sequence[str], values: dict[str, Any]) -> list[Any]:
    """The values as the model's fields write them (enums as text, JSON encoded, times as the dialect wants)."""
    return [
        values[c] if convert is None else convert(values[c])
        for c, convert in zip(columns, _converters(model, columns), strict=True)
    ]


def canonical(value: Any) -> Any:
    """A value as both dialects can compare it: dates as text, booleans as 0/1, enums by value."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    return value
