"""A unit's own and shared tasks, a page at a time, with each task's owner unit, case and student.

The liaison's queue is the page every unit opens all day. Through the ORM it cost a queryset per
list with select_related (SQL built anew each time, two model instances per row), then a query
each for the cases and their students. Here the two lists (own, shared) are one prepared
statement that also joins the owner unit, the case and the case's student and merges the lists,
so a page is one query whatever it shows; rows become the same model instances the ORM makes
(models/hydrate.py). Same order, same cursors, same answers as tasks.queue.lists.task_page;
PostgreSQL and SQLite run the same SQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from tortoise.models import Model

from models.cases import Case
from models.children import Student
from models.hydrate import Hydrator, hydrator
from models.paging import Page, SortKey, cursor_values
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
    """Placeholders in the dialect's style, values in order; PostgreSQL's numbered ones said once per name."""

    def __init__(self, dialect: str) -> None:
        self.numbered = dialect == "postgres"
        self.values: list[Any] = []
        self.named: dict[str, str] = {}

    def __call__(self, value: Any, name: str | None = None) -> str:
        if self.numbered and name in self.named:
            return self.named[name]  # type: ignore[index]
        self.values.append(value)
        placeholder = f"${len(self.values)}" if self.numbered else "?"
        if name is not None:
            self.named[name] = placeholder
        return placeholder


def _literal(status: TaskStatus) -> str:
    assert status.value.isidentifier()  # an enum value of ours, safe to write into the SQL
    return f"'{status.value}'"


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
class QueueQuery:
    """Both lists of a unit's queue in one statement: each list's head in its order (sort keys and ids
    only), the two merged into the page, then the page's rows joined with their units, cases and students.

    The lists are disjoint (a unit's own tasks are not among those it cooperates on), so the
    merged order is total. SQLite compares the stored datetimes as text, in the same order.

    The statuses are written into the SQL and the unit is one parameter: with a parameter per
    status and per mention of the unit, PostgreSQL judged its generic plan of the prepared statement
    too costly and planned every execution anew (1.1 ms of its CPU a page, twice the execution).
    """

    unit_id: int
    statuses: tuple[TaskStatus, ...] | None
    keys: tuple[SortKey, ...]
    after: list[Any] | None
    limit: int

    def sql(self, dialect: str) -> tuple[str, list[Any]]:
        p = Params(dialect)
        table, unit, case, student = (m._meta.db_table for m in (Task, Unit, Case, Student))
        page = self.page(dialect, p)

        def order(prefix: str) -> str:
            return ", ".join(f'{prefix}"k{i}" {"DESC" if k.descending else "ASC"}' for i, k in enumerate(self.keys))

        sql = (
            f"SELECT {layout().select_list()} FROM ({page}) AS p"
            f' JOIN "{table}" t ON t."id" = p."tid"'
            f' JOIN "{unit}" u ON u."id" = t."assignee_unit_id"'
            f' LEFT JOIN "{case}" c ON c."id" = t."case_id"'
            f' LEFT JOIN "{student}" s ON s."id" = c."student_id"'
            f" ORDER BY {order('p.')}"
        )
        return sql, p.values

    def page(self, dialect: str, p: Callable[..., str], whole_rows: bool = False) -> str:
        """The page's task ids ("tid") and sort keys ("k0", ...) in order; `p(value, name)` gives a placeholder.
        `whole_rows`: every column of the tasks in place of their ids (the head of the queue's compiled read,
        api/compiled/sql_plan.py, which builds the answer from them)."""
        table = Task._meta.db_table
        sort_columns = ", ".join(f't."{k.field}" AS "k{i}"' for i, k in enumerate(self.keys))

        def order(prefix: str) -> str:
            return ", ".join(f'{prefix}"k{i}" {"DESC" if k.descending else "ASC"}' for i, k in enumerate(self.keys))

        def head(shared: bool) -> str:
            if shared:
                links = TaskCooperator._meta.db_table
                if dialect == "postgres":
                    # The unit's links first (OFFSET 0 keeps them a subquery of their own): a generic plan would
                    # otherwise walk every open task in due order (task_open_due_idx) looking for the unit's links.
                    unit_id = p(self.unit_id, "unit")
                    source = (
                        f'(SELECT "task_id" FROM "{links}" WHERE "unit_id" = {unit_id} OFFSET 0) tc'
                        f' JOIN "{table}" t ON t."id" = tc."task_id"'
                    )
                    where = [f't."assignee_unit_id" <> {p(self.unit_id, "unit")}']
                else:
                    source = f'"{table}" t JOIN "{links}" tc ON tc."task_id" = t."id"'
                    unit_id = p(self.unit_id, "unit")
                    where = [f'tc."unit_id" = {unit_id}', f't."assignee_unit_id" <> {p(self.unit_id, "unit")}']
            else:
                source = f'"{table}" t'
                where = [f't."assignee_unit_id" = {p(self.unit_id, "unit")}']
            if self.statuses is not None:
                where.append(f't."status" IN ({", ".join(_literal(s) for s in self.statuses)})')
            if self.after is not None:
                where.append(_after(p, self.keys, self.after))
            taken = "t.*" if whole_rows else 't."id" AS "tid"'
            rows = f"SELECT {sort_columns}, {taken} FROM {source} WHERE {' AND '.join(where)}"
            if shared and dialect == "postgres":
                # The joined rows too (OFFSET 0): else a generic plan walks every open task in due order
                # (task_open_due_idx), testing each against the unit's links, hoping to stop early.
                rows = f"SELECT * FROM ({rows} OFFSET 0) AS j"
                order_by = order("")
            else:
                order_by = _order_by(self.keys)
            return f"SELECT * FROM ({rows} ORDER BY {order_by} LIMIT {p(self.limit)}) AS h{int(shared)}"

        return f"SELECT * FROM ({head(False)} UNION ALL {head(True)}) AS m ORDER BY {order('')} LIMIT {p(self.limit)}"


class RowReader:
    """Rows into the model instances the ORM's select_related would make; a unit, case or student once."""

    def __init__(self) -> None:
        self.seen: dict[tuple[type[Model], Any], Model] = {}
        shape = layout()
        self.parts: list[tuple[slice, Hydrator[Any]]] = []
        start = 0
        for model, (_, columns) in zip((Task, Unit, Case, Student), shape.parts(), strict=True):
            self.parts.append((slice(start, start + len(columns)), hydrator(model, columns)))
            start += len(columns)

    def _instance(self, part: tuple[slice, Hydrator[M]], row: Sequence[Any]) -> M | None:
        columns, make = part
        values = row[columns]
        if values[0] is None:  # no such row: a LEFT JOIN found nothing
            return None
        key = (make.model, values[0])
        if key not in self.seen:
            self.seen[key] = make(values)
        return self.seen[key]  # type: ignore[return-value]

    def task(self, row: Sequence[Any]) -> Task:
        tasks, units, cases, students = self.parts
        task = tasks[1](row[tasks[0]])
        case = self._instance(cases, row)
        task.__dict__["_assignee_unit"] = self._instance(units, row)
        task.__dict__["_case"] = case
        if case is not None:
            case.__dict__["_student"] = self._instance(students, row)
        return task


async def unit_queue_page(
    unit_id: int,
    statuses: tuple[TaskStatus, ...] | None,
    keys: tuple[SortKey, ...],
    first: int,
    after: str | None,
    count: Callable[[], Awaitable[int]],
) -> Page[Task]:
    """One page of the unit's own and shared tasks (disjoint lists), in the order of `keys`: one statement."""
    values = cursor_values(Task, keys, after) if after else None
    db = Task._meta.db
    sql, parameters = QueueQuery(unit_id, statuses, keys, values, first + 1).sql(db.capabilities.dialect)
    _, rows = await db.execute_query(sql, parameters)
    reader = RowReader()
    items = [reader.task(tuple(row)) for row in rows[:first]]
    return Page(
        items=items,
        keys=keys,
        has_next=len(rows) > first,
        has_previous=after is not None,
        count=count,
    )
