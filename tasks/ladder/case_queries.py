"""Listing cases and students for a viewer: what they may see, filtered, in keyset pages."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models import clock
from models.cases import Case, CaseKind, CaseStage, CaseStatus
from models.children import Student
from models.paging import Page, SortKey, keyset_page
from models.tasks import OPEN_STATUSES, Task
from models.users import User
from tasks.access import visible_cases, visible_students
from tasks.ladder.steps import absence_days
from tasks.school_days import SchoolDayCache, years_around

NEWEST_FIRST = (SortKey("id", descending=True),)
BY_ID = (SortKey("id"),)


@dataclass(frozen=True)
class CaseCriteria:
    status: CaseStatus | None = None
    stage: CaseStage | None = None
    kind: CaseKind | None = None
    school_id: int | None = None
    township_id: int | None = None
    student_id: int | None = None
    overdue_step: bool | None = None
    condition: Q | None = None  # the set behind one of the office's figures (tasks/office/owing.py)


async def case_page(user: User, criteria: CaseCriteria, first: int, after: str | None) -> Page[Case]:
    return await keyset_page([case_query(user, criteria)], NEWEST_FIRST, first, after)


def case_query(user: User, criteria: CaseCriteria) -> QuerySet[Case]:
    """The cases the user may see that meet the criteria (also compiled into SQL reads: api/compiled/sql_plan.py)."""
    query = Case.filter(visible_cases(user))
    for field in ("status", "stage", "kind", "school_id", "township_id", "student_id"):
        value = getattr(criteria, field)
        if value is not None:
            query = query.filter(**{field: value})
    if criteria.condition is not None:
        query = query.filter(criteria.condition)
    if criteria.overdue_step is not None:
        late = Subquery(
            Task.filter(case_id__not_isnull=True, status__in=list(OPEN_STATUSES), due_at__lt=clock.now()).values(
                "case_id"
            )
        )
        query = query.filter(id__in=late) if criteria.overdue_step else query.exclude(id__in=late)
    return query


async def student_page(
    user: User, school_id: int | None, name: str | None, first: int, after: str | None
) -> Page[Student]:
    return await keyset_page([student_query(user, school_id, name)], BY_ID, first, after)


def student_query(user: User, school_id: int | None, name: str | None) -> QuerySet[Student]:
    query = Student.filter(visible_students(user))
    if school_id is not None:
        query = query.filter(school_id=school_id)
    if name:
        query = query.filter(name__icontains=name.strip())
    return query


async def absence_days_of(cases: list[Case]) -> dict[int, int]:
    """School days absent so far, for a page of cases, with one calendar query."""
    if not cases:
        return {}
    today = clock.today()
    cache = SchoolDayCache()
    earliest = min(c.absent_since for c in cases)
    await cache.preload(years_around(min(earliest, today), today), school_ids={c.school_id for c in cases})
    return {c.id: absence_days(cache.for_school(c.school_id, c.absent_since, today), c, today) for c in cases}
