"""Lists under an object as connections (Case.tasksConnection, Student.factsConnection ...).

Each is the rows of the one gate (tasks/access.py) under its parent, in one order, paged by keyset cursors
like the top-level lists. The same definitions serve the resolvers and the compiled SQL reads
(api/compiled/sql_plan.py), so the two cannot page or filter differently.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model

from api.errors import BadUserInput
from api.types.connection import Connection, connection_of, page_size, paged
from models.cases import Absence, Case, CaseEvent, DropoutReport, PersuasionRecord, ReportRouting
from models.children import Guardian
from models.facts import Fact
from models.paging import CursorError, Page, SortKey, keyset_page, listed_page
from models.population import CensusLine, ResidentVersion
from models.registers import GraduateHandover, HandoverLine, LedgerEntry, MovementKind, RollMovement, TransferScope
from models.tasks import Task, TaskEvent
from models.units import Membership, Unit
from models.users import User
from tasks.access import visible

T = TypeVar("T")

SOONEST_DUE = (SortKey("due_at"), SortKey("id"))
NEWEST_FIRST = (SortKey("id", descending=True),)
OLDEST_FIRST = (SortKey("id"),)
IN_POSITION = (SortKey("position"), SortKey("id"))
BY_DAY = (SortKey("day"), SortKey("id"))


@dataclass(frozen=True)
class NestedList:
    model: type[Model]
    parent: str  # the child's column holding the parent's id
    keys: tuple[SortKey, ...]  # one direction for every key: cursors compare as a row
    gated: bool = True  # False: rows seen through their parent only (a case's timeline), no gate of their own
    also_parent: str | None = None  # a second column that may hold the parent's id (a handover's two schools)
    where: tuple[tuple[str, object], ...] = ()  # conditions every row of the list meets


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
PERSON_MEMBERSHIPS = NestedList(Membership, "person_id", IN_POSITION, gated=False)
HANDOVER_LINES = NestedList(HandoverLine, "handover_id", OLDEST_FIRST)
CASE_ABSENCES = NestedList(Absence, "case_id", BY_DAY, gated=False)
STUDENT_MOVEMENTS = NestedList(RollMovement, "student_id", BY_DAY)
RESIDENT_HISTORY = NestedList(ResidentVersion, "resident_id", (SortKey("version"), SortKey("id")), gated=False)
# Seen through their parent only: a household through its pupil, a book's page through the book, a ledger line
# through its case.
HOUSEHOLD_GUARDIANS = NestedList(Guardian, "household_id", OLDEST_FIRST, gated=False)
CENSUS_PAGE_LINES = NestedList(CensusLine, "page_id", IN_POSITION, gated=False)
LEDGER_ENTRIES = NestedList(LedgerEntry, "case_id", OLDEST_FIRST, gated=False)
# Lists the compiled path (api/compiled/sql_plan.py) cannot express, a second parent column or conditions of
# their own: answered by the resolvers only, so they are not in NESTED_LISTS.
UNIT_HANDOVERS = NestedList(GraduateHandover, "primary_school_id", NEWEST_FIRST, also_parent="middle_school_id")
UNIT_INCOMING_TRANSFERS = NestedList(
    RollMovement,
    "other_school_id",
    BY_DAY,
    gated=False,  # the school the pupil moves to and the office see them (api/types/unit.py)
    where=(
        ("kind", MovementKind.TRANSFER_OUT),
        ("scope", TransferScope.IN_COUNTY),
        ("arrival_confirmed_at", None),
    ),
)

# By the GraphQL type and field: (the node type, the list).
NESTED_LISTS: dict[str, dict[str, tuple[str, NestedList]]] = {
    "Case": {
        "tasksConnection": ("Task", CASE_TASKS),
        "timelineConnection": ("CaseEvent", CASE_TIMELINE),
        "persuasionRecordsConnection": ("PersuasionRecord", CASE_PERSUASIONS),
        "reportsConnection": ("DropoutReport", CASE_REPORTS),
        "absencesConnection": ("Absence", CASE_ABSENCES),
    },
    "Fact": {"tasksConnection": ("Task", FACT_TASKS)},
    "Student": {
        "factsConnection": ("Fact", STUDENT_FACTS),
        "casesConnection": ("Case", STUDENT_CASES),
        "rollMovementsConnection": ("RollMovement", STUDENT_MOVEMENTS),
    },
    "DropoutReport": {"routingConnection": ("ReportRouting", REPORT_ROUTING)},
    "Task": {"historyConnection": ("TaskEvent", TASK_HISTORY)},
    "Unit": {"childrenConnection": ("Unit", UNIT_CHILDREN), "membersConnection": ("Member", UNIT_MEMBERS)},
    "Person": {"membershipsConnection": ("Member", PERSON_MEMBERSHIPS)},
    "GraduateHandover": {"linesConnection": ("HandoverLine", HANDOVER_LINES)},
    "Resident": {"historyConnection": ("ResidentVersion", RESIDENT_HISTORY)},
    "Household": {"guardiansConnection": ("Guardian", HOUSEHOLD_GUARDIANS)},
    "HouseholdPage": {"linesConnection": ("HouseholdLine", CENSUS_PAGE_LINES)},
    "DropoutLedgerLine": {"entriesConnection": ("LedgerEntry", LEDGER_ENTRIES)},
}

REPLACED = "a list under an object is a connection now (first, after, totalCount, pageInfo)"


def replaced_by(field: str) -> str:
    return f"Use {field}: {REPLACED}."


def _rows(listed: NestedList, viewer: User, parent_id: int, first: int | None, after: str | None) -> Awaitable[Page]:
    size = page_size(first)
    seen = visible(listed.model, viewer) if listed.gated else Q()
    under = Q(**{listed.parent: parent_id})
    if listed.also_parent:
        under |= Q(**{listed.also_parent: parent_id})
    query = listed.model.filter(seen, under, **dict(listed.where))
    return keyset_page([query], listed.keys, size, after)


async def nested_page(
    listed: NestedList, viewer: User, parent_id: int, first: int | None, after: str | None, wrap: Callable[[Any], T]
) -> Connection[T]:
    return await paged(lambda: _rows(listed, viewer, parent_id, first, after), wrap)


async def nested_page_of(
    listed: NestedList,
    viewer: User,
    parent_id: int,
    first: int | None,
    after: str | None,
    wrap: Callable[[list[Any]], Awaitable[Sequence[T]]],
) -> Connection[T]:
    """As nested_page, for nodes made from the whole page at once (a roster's lines and their pupils)."""
    try:
        page = await _rows(listed, viewer, parent_id, first, after)
    except CursorError as exc:
        raise BadUserInput(f"after: {exc}") from exc
    return connection_of(await wrap(page.items), page)


async def listed_connection(
    model: type[Model],
    rows: Sequence[Any],
    keys: Sequence[SortKey],
    first: int | None,
    after: str | None,
    wrap: Callable[[Any], T],
) -> Connection[T]:
    """A list computed rather than queried (a duty's units not done), its rows already in `keys` order, paged
    with the cursors a query of the same rows in the same order would give."""

    async def fetch() -> Page:
        return listed_page(model, rows, keys, page_size(first), after)

    return await paged(fetch, wrap)
