"""A unit's own and shared tasks, a page at a time, with each task's owner unit, case and student.

The liaison's queue is the page every unit opens all day. Through the ORM it cost a queryset per
list with select_related (SQL built anew each time, two model instances per row), then a query
each for the cases and their students. Here each of the two lists (own, shared) is one prepared
statement that also joins the owner unit, the case and the case's student, so a page is two
queries whatever it shows; rows become the same model instances the ORM makes. Same order, same
cursors, same answers as tasks.queue.task_page; PostgreSQL and SQLite run the same SQL.
"""

from __future__ import annotations

import heapq
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from tortoise.models import Model

from models.cases import Case
from models.children import Student
from models.paging import Page, SortKey, cursor_values, encode_cursor
from models.tasks import Task, TaskCooperator, TaskStatus
from models.units import Unit

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Layout:
    """The columns each model contributes to a row, in order."""

    task: tuple[str, ...]
    unit: tuple[str, ...]
    case: tuple[str, ...]
    student: tuple[str, ...]

    def select_list(self) -> str:
        parts = [(alias, column) for alias, columns in self.parts() for column in columns]
        return ", ".join(f'{alias}."{column}"' for alias, column in parts)

    def parts(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return (("t", self.task), ("u", self.unit), ("c", self.case), ("s", self.student))


@cache
def layout() -> Layout:
    """Read after Tortoise is set up: foreign-key columns are known only then."""

    def columns(model: type[Model]) -> tuple[str, ...]:
        return tuple(model._meta.fields_db_projection.values())

    return Layout(columns(Task), columns(Unit), columns(Case), columns(Student))


class Params:
    """Placeholders in the dialect's style, values in order."""

    def __init__(self, dialect: str) -> None:
        self.numbered = dialect == "postgres"
        self.values: list[Any] = []

    def __call__(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}" if self.numbered else "?"


def _order_by(keys: Sequence[SortKey]) -> str:
    return ", ".join(f't."{k.field}" {"DESC" if k.descending else "ASC"}' for k in keys)


def _after(p: Params, keys: Sequence[SortKey], values: Sequence[Any]) -> str:
    """(a, b) after (va, vb) in the order's own directions, as models.paging.after_condition spells it."""
    alternatives = []
    for i, key in enumerate(keys):
        equal = [f't."{k.field}" = {p(v)}' for k, v in zip(keys[:i], values[:i], strict=True)]
        op = "<" if key.descending else ">"
        alternatives.append("(" + " AND ".join([*equal, f't."{key.field}" {op} {p(values[i])}']) + ")")
    return "(" + " OR ".join(alternatives) + ")"


@dataclass(frozen=True)
class ListQuery:
    unit_id: int
    shared: bool  # the tasks the unit cooperates on, else those it owns
    statuses: tuple[TaskStatus, ...] | None
    keys: tuple[SortKey, ...]
    after: list[Any] | None
    limit: int

    def sql(self, dialect: str) -> tuple[str, list[Any]]:
        p = Params(dialect)
        table, unit, case, student = (m._meta.db_table for m in (Task, Unit, Case, Student))
        if self.shared:
            source = f'"{table}" t JOIN "{TaskCooperator._meta.db_table}" tc ON tc."task_id" = t."id"'
            where = [f'tc."unit_id" = {p(self.unit_id)}', f't."assignee_unit_id" <> {p(self.unit_id)}']
        else:
            source = f'"{table}" t'
            where = [f't."assignee_unit_id" = {p(self.unit_id)}']
        if self.statuses is not None:
            where.append(f't."status" IN ({", ".join(p(s.value) for s in self.statuses)})')
        if self.after is not None:
            where.append(_after(p, self.keys, self.after))
        sql = (
            f"SELECT {layout().select_list()} FROM {source}"
            f' JOIN "{unit}" u ON u."id" = t."assignee_unit_id"'
            f' LEFT JOIN "{case}" c ON c."id" = t."case_id"'
            f' LEFT JOIN "{student}" s ON s."id" = c."student_id"'
            f" WHERE {' AND '.join(where)} ORDER BY {_order_by(self.keys)} LIMIT {p(self.limit)}"
        )
        return sql, p.values


class RowReader:
    """Rows into the model instances the ORM's select_related would make; a unit, case or student once."""

    def __init__(self, keys: Sequence[SortKey]) -> None:
        self.seen: dict[tuple[type[Model], Any], Model] = {}
        shape = layout()
        self.slices: list[slice] = []
        start = 0
        for _, columns in shape.parts():
            self.slices.append(slice(start, start + len(columns)))
            start += len(columns)
        fields = Task._meta.fields_map
        self.key_fields = [(shape.task.index(k.field), fields[k.field], k.descending) for k in keys]

    def sort_key(self, row: Sequence[Any]) -> tuple[Any, ...]:
        """The order of `keys` on a raw row, as models.paging gives it on an instance."""
        parts: list[Any] = []
        for index, field, descending in self.key_fields:
            value = field.to_python_value(row[index])
            if isinstance(value, datetime):
                value = value.timestamp()
            parts.append(-value if descending else value)
        return tuple(parts)

    def _instance(self, model: type[M], columns: tuple[str, ...], values: Sequence[Any]) -> M | None:
        if values[0] is None:  # no such row: a LEFT JOIN found nothing
            return None
        key = (model, values[0])
        if key not in self.seen:
            self.seen[key] = model._init_from_db(**dict(zip(columns, values, strict=True)))
        return self.seen[key]  # type: ignore[return-value]

    def task(self, row: Sequence[Any]) -> Task:
        shape, (tasks, units, cases, students) = layout(), self.slices
        task = Task._init_from_db(**dict(zip(shape.task, row[tasks], strict=True)))
        case = self._instance(Case, shape.case, row[cases])
        object.__setattr__(task, "_assignee_unit", self._instance(Unit, shape.unit, row[units]))
        object.__setattr__(task, "_case", case)
        if case is not None:
            object.__setattr__(case, "_student", self._instance(Student, shape.student, row[students]))
        return task


async def _fetch(query: ListQuery) -> list[tuple[Any, ...]]:
    db = Task._meta.db
    sql, values = query.sql(db.capabilities.dialect)
    _, rows = await db.execute_query(sql, values)
    return [tuple(row) for row in rows]


async def unit_queue_page(
    unit_id: int,
    statuses: tuple[TaskStatus, ...] | None,
    keys: tuple[SortKey, ...],
    first: int,
    after: str | None,
    count: Callable[[], Awaitable[int]],
) -> Page[Task]:
    """One page of the unit's own and shared tasks (disjoint lists), merged in the order of `keys`.

    Rows are merged as they come; only those on the page become model instances.
    """
    values = cursor_values(Task, keys, after) if after else None
    reader = RowReader(keys)
    lists = [await _fetch(ListQuery(unit_id, shared, statuses, keys, values, first + 1)) for shared in (False, True)]
    rows = list(heapq.merge(*lists, key=reader.sort_key))
    items = [reader.task(row) for row in rows[:first]]
    return Page(
        items=items,
        cursors=[encode_cursor(r, keys) for r in items],
        has_next=len(rows) > first,
        has_previous=after is not None,
        count=count,
    )
