"""Lists under an object as connections (Case.tasksConnection, Student.factsConnection ...).

Each is the rows of the one gate (tasks/access.py) under its parent, in one order, paged by keyset cursors
like the top-level lists. The same definitions serve the resolvers and the compiled SQL reads
(api/compiled/sql_plan.py), so the two cannot page or filter differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.models import Model

from api.types.connection import Connection, page_size, paged
from models.cases import Case
from models.facts import Fact
from models.paging import SortKey, keyset_page
from models.tasks import Task
from models.users import User
from tasks.access import visible

T = TypeVar("T")

SOONEST_DUE = (SortKey("due_at"), SortKey("id"))
NEWEST_FIRST = (SortKey("id", descending=True),)


@dataclass(frozen=True)
class NestedList:
    model: type[Model]
    parent: str  # the child's column holding the parent's id
    keys: tuple[SortKey, ...]  # one direction for every key: cursors compare as a row


CASE_TASKS = NestedList(Task, "case_id", SOONEST_DUE)
FACT_TASKS = NestedList(Task, "fact_id", SOONEST_DUE)
STUDENT_FACTS = NestedList(Fact, "student_id", NEWEST_FIRST)
STUDENT_CASES = NestedList(Case, "student_id", NEWEST_FIRST)

# By the GraphQL type and field: (the node type, the list).
NESTED_LISTS: dict[str, dict[str, tuple[str, NestedList]]] = {
    "Case": {"tasksConnection": ("Task", CASE_TASKS)},
    "Fact": {"tasksConnection": ("Task", FACT_TASKS)},
    "Student": {"factsConnection": ("Fact", STUDENT_FACTS), "casesConnection": ("Case", STUDENT_CASES)},
}

REPLACED = "a list under an object is a connection now (first, after, totalCount, pageInfo)"


def replaced_by(field: str) -> str:
    return f"Use {field}: {REPLACED}."


async def nested_page(
    listed: NestedList, viewer: User, parent_id: int, first: int | None, after: str | None, wrap: Callable[[Any], T]
) -> Connection[T]:
    size = page_size(first)
    query = listed.model.filter(visible(listed.model, viewer), **{listed.parent: parent_id})
    return await paged(lambda: keyset_page([query], listed.keys, size, after), wrap)
