"""Queries of the registers: the household book and the cross-check's runs and findings."""

from __future__ import annotations

import datetime as dt

import strawberry

from api.context import Info, require_viewer
from api.errors import BadUserInput
from api.ids import BadGlobalId, parse_global_id
from api.types.connection import Connection, page_size, paged
from api.types.population import (
    AgeBandEnum,
    CrossCheckFindingType,
    CrossCheckRunType,
    FindingKindEnum,
    FindingStatusEnum,
    HouseholdBookType,
    ResidentType,
)
from models.paging import SortKey, keyset_page
from models.population import CensusBook, CrossCheckFinding, CrossCheckRun, Resident
from tasks.access import visible_census_books, visible_findings, visible_residents

ID_ORDER = (SortKey("id"),)
NEWEST_FIRST = (SortKey("id", descending=True),)


def _pk(value: strawberry.ID | None, type_name: str, argument: str) -> int | None:
    if value is None:
        return None
    try:
        return parse_global_id(value, type_name)[1]
    except BadGlobalId as exc:
        raise BadUserInput(f"{argument}: {exc}") from exc


@strawberry.input(description="Narrow the household books; fields combine with AND.")
class HouseholdBookFilter:
    year: int | None = None
    school_id: strawberry.ID | None = None
    village_id: strawberry.ID | None = strawberry.field(default=None, description="The village or community.")
    township_id: strawberry.ID | None = None


@strawberry.input(description="Narrow the cross-check findings; fields combine with AND.")
class CrossCheckFindingFilter:
    kind: FindingKindEnum | None = None  # type: ignore[valid-type]
    status: FindingStatusEnum | None = None  # type: ignore[valid-type]
    band: AgeBandEnum | None = None  # type: ignore[valid-type]
    township_id: strawberry.ID | None = None
    school_id: strawberry.ID | None = None
    run_id: strawberry.ID | None = strawberry.field(default=None, description="Found by this run.")


@strawberry.input(description="Narrow the population register; fields combine with AND.")
class ResidentFilter:
    township_id: strawberry.ID | None = None
    village_id: strawberry.ID | None = None
    born_from: dt.date | None = None
    born_to: dt.date | None = None
    living_here: bool | None = None


@strawberry.type
class PopulationQueries:
    @strawberry.field(description="人口信息库: residents of your township or village (all for the office).")
    async def residents(
        self, info: Info, filter: ResidentFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[ResidentType]:
        viewer = require_viewer(info)
        size = page_size(first)
        query = Resident.filter(visible_residents(viewer))
        if filter is not None:
            if (township := _pk(filter.township_id, "Unit", "filter.townshipId")) is not None:
                query = query.filter(township_id=township)
            if (village := _pk(filter.village_id, "Unit", "filter.villageId")) is not None:
                query = query.filter(village_id=village)
            if filter.born_from is not None:
                query = query.filter(birth_date__gte=filter.born_from)
            if filter.born_to is not None:
                query = query.filter(birth_date__lte=filter.born_to)
            if filter.living_here is not None:
                query = query.filter(living_here=filter.living_here)
        return await paged(lambda: keyset_page([query], ID_ORDER, size, after), ResidentType.from_row)

    @strawberry.field(
        description="学户册 you may see: your school's, your village's or township's; all for the office."
    )
    async def household_books(
        self, info: Info, filter: HouseholdBookFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[HouseholdBookType]:
        viewer = require_viewer(info)
        size = page_size(first)
        query = CensusBook.filter(visible_census_books(viewer))
        if filter is not None:
            if filter.year is not None:
                query = query.filter(year=filter.year)
            if (school := _pk(filter.school_id, "Unit", "filter.schoolId")) is not None:
                query = query.filter(school_id=school)
            if (village := _pk(filter.village_id, "Unit", "filter.villageId")) is not None:
                query = query.filter(village_group__village_id=village)
            if (township := _pk(filter.township_id, "Unit", "filter.townshipId")) is not None:
                query = query.filter(village_group__village__parent_id=township)
        return await paged(lambda: keyset_page([query], ID_ORDER, size, after), HouseholdBookType.from_row)

    @strawberry.field(description="Cross-check findings you may see (your township's, school's, or for you to act on).")
    async def cross_check_findings(
        self,
        info: Info,
        filter: CrossCheckFindingFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CrossCheckFindingType]:
        viewer = require_viewer(info)
        size = page_size(first)
        query = CrossCheckFinding.filter(visible_findings(viewer))
        if filter is not None:
            for name in ("kind", "status", "band"):
                if (value := getattr(filter, name)) is not None:
                    query = query.filter(**{name: value})
            for name, type_name, column in (
                ("township_id", "Unit", "township_id"),
                ("school_id", "Unit", "school_id"),
                ("run_id", "CrossCheckRun", "run_id"),
            ):
                pk = _pk(getattr(filter, name), type_name, f"filter.{name}")
                if pk is not None:
                    query = query.filter(**{column: pk})
        return await paged(lambda: keyset_page([query], ID_ORDER, size, after), CrossCheckFindingType.from_row)

    @strawberry.field(description="The cross-check's runs, newest first.")
    async def cross_check_runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[CrossCheckRunType]:
        require_viewer(info)
        size = page_size(first)
        query = CrossCheckRun.all()
        return await paged(lambda: keyset_page([query], NEWEST_FIRST, size, after), CrossCheckRunType.from_row)
