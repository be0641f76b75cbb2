"""Data loaders: a page of tasks costs one query per relation, not one per task."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Sequence
from functools import cached_property
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader as StrawberryDataLoader
from tortoise.expressions import Q
from tortoise.models import Model

from models.cases import Absence, Case, CaseEvent
from models.children import Guardian, Household, Student
from models.duties import Duty, DutyParty
from models.facts import Fact
from models.population import CensusLine, CrossCheckRun, VillageGroup
from models.rules import Rule
from models.tasks import TaskCooperator, TaskEvent
from models.units import Membership, Person, Unit
from models.users import User
from tasks.access import visible

MANY_UNITS = 100
M = TypeVar("M", bound=Model)
K = TypeVar("K")
T = TypeVar("T")


class DataLoader(StrawberryDataLoader[K, T]):
    """Strawberry's, with each caller's wait shielded. When a field fails, graphql-core cancels its siblings; a
    sibling waiting on a cached future would cancel that future for every other field sharing it, and the
    CancelledError would escape the request instead of one field's error."""

    def load(self, key: K) -> Awaitable[T]:
        return asyncio.shield(super().load(key))


def _by_id(model: type[M], where: Q | None = None) -> DataLoader[int, M | None]:
    async def load(ids: Sequence[int]) -> list[M | None]:
        query = model.filter(id__in=list(ids))
        rows = {row.pk: row for row in await (query.filter(where) if where is not None else query)}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)


def _grouped(
    model: type[M], key: str, order: Iterable[str] = ("id",), where: Q | None = None
) -> DataLoader[int, list[M]]:
    async def load(ids: Sequence[int]) -> list[list[M]]:
        groups: dict[int, list[M]] = defaultdict(list)
        query = model.filter(**{f"{key}__in": list(ids)})
        for row in await (query.filter(where) if where is not None else query).order_by(*order):
            groups[getattr(row, key)].append(row)
        return [groups.get(i, []) for i in ids]

    return DataLoader(load_fn=load)


async def _absence_days(ids: Sequence[int]) -> list[int]:
    from tasks.ladder.case_queries import absence_days_of

    days = await absence_days_of(await Case.filter(id__in=list(ids)))
    return [days.get(i, 0) for i in ids]


class Loaders:
    """A request's data loaders, each made when first asked for: most requests use a few of them."""

    @cached_property
    def unit(self) -> DataLoader[int, Unit | None]:
        return _by_id(Unit)

    @cached_property
    def user(self) -> DataLoader[int, User | None]:
        return _by_id(User)

    @cached_property
    def duty(self) -> DataLoader[int, Duty | None]:
        return _by_id(Duty)

    @cached_property
    def person(self) -> DataLoader[int, Person | None]:
        return _by_id(Person)

    @cached_property
    def cooperators(self) -> DataLoader[int, list[TaskCooperator]]:
        return _grouped(TaskCooperator, "task_id")

    @cached_property
    def task_events(self) -> DataLoader[int, list[TaskEvent]]:
        return _grouped(TaskEvent, "task_id")

    @cached_property
    def unit_members(self) -> DataLoader[int, list[Membership]]:
        return _grouped(Membership, "unit_id", ("position", "id"))

    @cached_property
    def person_memberships(self) -> DataLoader[int, list[Membership]]:
        return _grouped(Membership, "person_id", ("position", "id"))

    @cached_property
    def duty_parties(self) -> DataLoader[int, list[DutyParty]]:
        return _grouped(DutyParty, "duty_id", ("position", "id"))

    @cached_property
    def unit_children(self) -> DataLoader[int, list[Unit]]:
        return _grouped(Unit, "parent_id", ("position", "id"))

    @cached_property
    def student(self) -> DataLoader[int, Student | None]:
        return _by_id(Student)

    @cached_property
    def household(self) -> DataLoader[int, Household | None]:
        return _by_id(Household)

    @cached_property
    def case(self) -> DataLoader[int, Case | None]:
        return _by_id(Case)

    @cached_property
    def guardians(self) -> DataLoader[int, list[Guardian]]:
        return _grouped(Guardian, "household_id")

    @cached_property
    def case_events(self) -> DataLoader[int, list[CaseEvent]]:
        return _grouped(CaseEvent, "case_id")

    @cached_property
    def case_absences(self) -> DataLoader[int, list[Absence]]:
        return _grouped(Absence, "case_id", ("day", "id"))

    @cached_property
    def absence_days(self) -> DataLoader[int, int]:
        return DataLoader(load_fn=_absence_days)

    @cached_property
    def rule(self) -> DataLoader[int, Rule | None]:
        return _by_id(Rule)

    @cached_property
    def fact(self) -> DataLoader[int, Fact | None]:
        return _by_id(Fact)

    @cached_property
    def _gated(self) -> dict[tuple[str, type[Model], str], DataLoader[int, Any]]:
        return {}

    def visible(self, viewer: User, model: type[M]) -> DataLoader[int, M | None]:
        """Rows by id, None for those the viewer may not see (tasks/access.py's gate): node(id:) and nodes(ids:)."""
        key = ("id", model, "id")
        if key not in self._gated:
            self._gated[key] = _by_id(model, visible(model, viewer))
        return self._gated[key]

    def visible_under(
        self, viewer: User, model: type[M], parent: str, order: Iterable[str] = ("id",)
    ) -> DataLoader[int, list[M]]:
        """The rows under each parent (`parent` is the foreign key) that the viewer may see: the lists
        nested under an object (Case.tasks, Student.cases ...) go through the same gate as node(id:)."""
        key = ("under", model, parent)
        if key not in self._gated:
            self._gated[key] = _grouped(model, parent, order, visible(model, viewer))
        return self._gated[key]

    @cached_property
    def census_lines(self) -> DataLoader[int, list[CensusLine]]:
        """The household book's lines, by page."""
        return _grouped(CensusLine, "page_id", ("position", "id"))

    @cached_property
    def crosscheck_run(self) -> DataLoader[int, CrossCheckRun | None]:
        return _by_id(CrossCheckRun)

    @cached_property
    def village_group(self) -> DataLoader[int, VillageGroup | None]:
        return _by_id(VillageGroup)

    async def units(self, ids: Sequence[int]) -> list[Unit]:
        wanted = list(ids)
        if len(wanted) >= MANY_UNITS:  # every unit of the county (the office's overview): one query, no future each
            found = {u.id: u for u in await Unit.filter(id__in=list(set(wanted)))}
            self.unit.prime_many(found)
            return [found[i] for i in wanted if i in found]
        return [u for u in await self.unit.load_many(wanted) if u is not None]
