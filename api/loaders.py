"""Data loaders: a page of tasks costs one query per relation, not one per task."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader as StrawberryDataLoader
from tortoise.models import Model

from models.cases import Absence, Case, CaseEvent, DropoutReport, PersuasionRecord, ReportRouting
from models.children import Guardian, Household, Student
from models.duties import Duty, DutyParty
from models.facts import Fact
from models.rules import Rule
from models.tasks import Task, TaskCooperator, TaskEvent
from models.units import Membership, Person, Unit
from models.users import User

M = TypeVar("M", bound=Model)
K = TypeVar("K")
T = TypeVar("T")


class DataLoader(StrawberryDataLoader[K, T]):
    """Strawberry's, with each caller's wait shielded. When a field fails, graphql-core cancels its siblings; a
    sibling waiting on a cached future would cancel that future for every other field sharing it, and the
    CancelledError would escape the request instead of one field's error."""

    def load(self, key: K) -> Awaitable[T]:
        return asyncio.shield(super().load(key))


def _by_id(model: type[M]) -> DataLoader[int, M | None]:
    async def load(ids: Sequence[int]) -> list[M | None]:
        rows = {row.pk: row for row in await model.filter(id__in=list(ids))}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)


def _grouped(model: type[M], key: str, order: Iterable[str] = ("id",)) -> DataLoader[int, list[M]]:
    async def load(ids: Sequence[int]) -> list[list[M]]:
        groups: dict[int, list[M]] = defaultdict(list)
        for row in await model.filter(**{f"{key}__in": list(ids)}).order_by(*order):
            groups[getattr(row, key)].append(row)
        return [groups.get(i, []) for i in ids]

    return DataLoader(load_fn=load)


async def _absence_days(ids: Sequence[int]) -> list[int]:
    from tasks.case_queries import absence_days_of

    days = await absence_days_of(await Case.filter(id__in=list(ids)))
    return [days.get(i, 0) for i in ids]


class Loaders:
    def __init__(self) -> None:
        self.unit = _by_id(Unit)
        self.user = _by_id(User)
        self.duty = _by_id(Duty)
        self.person = _by_id(Person)
        self.cooperators = _grouped(TaskCooperator, "task_id")
        self.task_events = _grouped(TaskEvent, "task_id")
        self.unit_members = _grouped(Membership, "unit_id", ("position", "id"))
        self.person_memberships = _grouped(Membership, "person_id", ("position", "id"))
        self.duty_parties = _grouped(DutyParty, "duty_id", ("position", "id"))
        self.unit_children = _grouped(Unit, "parent_id", ("position", "id"))
        self.student = _by_id(Student)
        self.household = _by_id(Household)
        self.case = _by_id(Case)
        self.guardians = _grouped(Guardian, "household_id")
        self.case_events = _grouped(CaseEvent, "case_id")
        self.case_tasks = _grouped(Task, "case_id", ("due_at", "id"))
        self.case_absences = _grouped(Absence, "case_id", ("day", "id"))
        self.persuasion_records = _grouped(PersuasionRecord, "case_id", ("held_at", "id"))
        self.reports = _grouped(DropoutReport, "case_id")
        self.routings = _grouped(ReportRouting, "report_id")
        self.student_cases = _grouped(Case, "student_id")
        self.absence_days = DataLoader(load_fn=_absence_days)
        self.rule = _by_id(Rule)
        self.fact = _by_id(Fact)
        self.fact_tasks = _grouped(Task, "fact_id", ("due_at", "id"))
        self.student_facts = _grouped(Fact, "student_id")

    async def units(self, ids: Sequence[int]) -> list[Unit]:
        return [u for u in await self.unit.load_many(list(ids)) if u is not None]
