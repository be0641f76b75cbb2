"""Lists under an object as connections (Case.tasksConnection, Student.factsConnection ...).

Each is the rows of the one gate (tasks/access.py) under its parent, in one order, paged by keyset cursors
like the top-level lists. The same definitions serve the resolvers and the compiled SQL reads
(api/compiled/sql_plan.py), so the two cannot page or filter differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model

from api.types.connection import Connection, page_size, paged
from models.cases import Case, CaseEvent, DropoutReport, PersuasionRecord, ReportRouting
from models.facts import Fact
from models.paging import SortKey, keyset_page
from models.tasks import Task, TaskEvent
from models.units import Membership, Unit
from models.users import User
from tasks.access import visible

T = TypeVar("T")

SOONEST_DUE = (SortKey("due_at"), SortKey("id"))
NEWEST_FIRST = (SortKey("id", descending=True),)
OLDEST_FIRST = (SortKey("id"),)
IN_POSITION = (SortKey("position"), SortKey("id"))


@dataclass(frozen=True)
class NestedList:
    model: type[Model]
    parent: str  # the child's column holding the parent's id
    keys: tuple[SortKey, ...]  # one direction for every key: cursors compare as a row
    gated: bool = True  # False: rows seen through their parent only (a case's timeline), no gate of their own


CASE_TASKS = NestedList(Task, "case_id", SOONEST_DUE)
FACT_TASKS = NestedList(Task, "fact_id", SOONEST_DUE)
STUDENT_FACTS = NestedList(Fact, "student_id", NEWEST_FIRST)
STUDENT_CASES = NestedList(Case, "student_id", NEWEST_FIRST)
CASE_TIMELINE = NestedList(CaseEvent, "case_id", OLDEST_FIRST, gated=False)
CASE_PERSUASIONS = NestedList(PersuasionRecord, "case_id", (SortKey("held_at"), SortKey("id")))
CASE_REPORTS = NestedList(DropoutReport, "case_id", OLDEST_FIRST)
REPORT_ROUTING = NestedList(ReportRouting, "report_id", OLDEST_FIRST)
TASK_HISTORY = NestedList(TaskEvent, "task_id", OLDEST_FIRST, gated=False)
UNIT_CHILDREN = NestedList(Unit, "parent_id", IN_POSITION)
UNIT_MEMBERS = NestedList(Membership, "unit_id", IN_POSITION, gated=False)

# By the GraphQL type and field: (the node type, the list).
NESTED_LISTS: dict[str, dict[str, tuple[str, NestedList]]] = {
    "Case": {
        "tasksConnection": ("Task", CASE_TASKS),
        "timelineConnection": ("CaseEvent", CASE_TIMELINE),
        "persuasionRecordsConnection": ("PersuasionRecord", CASE_PERSUASIONS),
        "reportsConnection": ("DropoutReport", CASE_REPORTS),
    },
    "Fact": {"tasksConnection": ("Task", FACT_TASKS)},
    "Student": {"factsConnection": ("Fact", STUDENT_FACTS), "casesConnection": ("Case", STUDENT_CASES)},
    "DropoutReport": {"routingConnection": ("ReportRouting", REPORT_ROUTING)},
    "Task": {"historyConnection": ("TaskEvent", TASK_HISTORY)},
    "Unit": {"childrenConnection": ("Unit", UNIT_CHILDREN), "membersConnection": ("Member", UNIT_MEMBERS)},
}

REPLACED = "a list under an object is a connection now (first, after, totalCount, pageInfo)"


def replaced_by(field: str) -> str:
    return f"Use {field}: {REPLACED}."


async def nested_page(
    listed: NestedList, viewer: User, parent_id: int, first: int | None, after: str | None, wrap: Callable[[Any], T]
) -> Connection[T]:
    size = page_size(first)
    seen = visible(listed.model, viewer) if listed.gated else Q()
    query = listed.model.filter(seen, **{listed.parent: parent_id})
    return await paged(lambda: keyset_page([query], listed.keys, size, after), wrap)
