"""The leading-group office's queries: who owes what, (later) the targets, the reports and accountability."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry

from api.context import Info, require_viewer
from api.errors import BadUserInput
from api.ids import BadGlobalId, parse_global_id
from api.types.accountability import AccountabilityMeasureType, MeasureKindEnum
from api.types.connection import Connection, page_size, paged
from api.types.office_report import OfficeReportType, ReportKindEnum
from api.types.owing import Owing
from api.types.targets import TargetFigure, TargetsView, TownshipTargets
from api.types.unit import UnitType
from models.office import MeasureKind, ReportKind
from models.units import Unit, UnitKind
from tasks.office import targets
from tasks.office.accountability import measures_page
from tasks.office.owing import Period, scope_for
from tasks.office.reports.generate import reports_page
from tasks.school_days import school_year_of

MAX_PERIOD_DAYS = 3 * 366


def unit_pk(value: strawberry.ID, argument: str) -> int:
    try:
        return parse_global_id(value, "Unit")[1]
    except BadGlobalId as exc:
        raise BadUserInput(f"{argument}: {exc}") from exc


def period_of(since: dt.date, until: dt.date) -> Period:
    if until < since:
        raise BadUserInput("to: must not be before from")
    if (until - since).days > MAX_PERIOD_DAYS:
        raise BadUserInput(f"to: a period of at most {MAX_PERIOD_DAYS} days")
    return Period(since, until)


@strawberry.type
class OfficeQueries:
    @strawberry.field(
        description="Who owes what over a period (county days, both included), for the county or one township "
        "or department (unitId: that unit and every unit under it). The office sees every unit; anyone else "
        "their own unit's rows."
    )
    async def owing(
        self,
        info: Info,
        since: Annotated[dt.date, strawberry.argument(name="from")],
        until: Annotated[dt.date, strawberry.argument(name="to")],
        unit_id: strawberry.ID | None = None,
    ) -> Owing:
        viewer = require_viewer(info)
        period = period_of(since, until)
        unit = None
        if unit_id is not None:
            unit = unit_pk(unit_id, "unitId")
            if not await Unit.exists(id=unit):
                raise BadUserInput("unitId: no such unit")
        return Owing.of(period, await scope_for(viewer, unit))

    @strawberry.field(
        description="约谈, 通报 and 限期整改 recorded by the office, newest first: all for the office, those against "
        "your unit otherwise; by unit and school year."
    )
    async def accountability_measures(
        self,
        info: Info,
        unit_id: strawberry.ID | None = None,
        school_year: str | None = None,
        kind: MeasureKindEnum | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AccountabilityMeasureType]:
        viewer = require_viewer(info)
        size = page_size(first)
        unit = unit_pk(unit_id, "unitId") if unit_id is not None else None
        if school_year is not None and len(school_year) > 9:
            raise BadUserInput("schoolYear: like 2026-2027")
        chosen = MeasureKind(kind) if kind is not None else None
        return await paged(
            lambda: measures_page(viewer, unit_id=unit, school_year=school_year, kind=chosen, first=size, after=after),
            AccountabilityMeasureType.from_row,
        )

    @strawberry.field(
        description="The plan's targets (二) per township and for the county, for a school year (as of its last "
        "day, or today within it) or as of any day: numerator, denominator, value, target, met. The office sees "
        "every township; a township its own."
    )
    async def targets(
        self,
        info: Info,
        school_year: str | None = None,
        as_of: dt.date | None = None,
        township_id: strawberry.ID | None = None,
    ) -> TargetsView:
        viewer = require_viewer(info)
        if school_year is not None and (len(school_year) != 9 or school_year[4] != "-"):
            raise BadUserInput("schoolYear: like 2026-2027")
        day = targets.as_of_for(school_year, as_of)
        townships = await Unit.filter(kind=UnitKind.TOWNSHIP).order_by("position", "id")
        if not viewer.sees_every_unit:
            townships = [t for t in townships if t.id == viewer.unit_id]
        if township_id is not None:
            wanted = unit_pk(township_id, "townshipId")
            townships = [t for t in townships if t.id == wanted]
        ids = [t.id for t in townships]
        found = await targets.target_figures(day, ids)
        return TargetsView(
            as_of=day,
            school_year=school_year_of(day),
            county=[TargetFigure.of(f, ids, day) for f in found.get(None, [])],
            townships=[
                TownshipTargets(
                    township=UnitType.from_row(t),
                    figures=[TargetFigure.of(f, [t.id], day) for f in found.get(t.id, [])],
                )
                for t in townships
            ],
        )

    @strawberry.field(
        description="Reports the product wrote (普九月报, 通报, 督导评估), newest first: all for the office; those "
        "your unit files (and a township its own evaluation) otherwise."
    )
    async def office_reports(
        self,
        info: Info,
        kind: ReportKindEnum | None = None,  # type: ignore[valid-type]
        unit_id: strawberry.ID | None = None,
        period: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[OfficeReportType]:
        viewer = require_viewer(info)
        size = page_size(first)
        unit = unit_pk(unit_id, "unitId") if unit_id is not None else None
        if period is not None and len(period) > 16:
            raise BadUserInput("period: like 2026-09, 2026-Q3 or 2026-2027")
        chosen = ReportKind(kind) if kind is not None else None
        return await paged(
            lambda: reports_page(viewer, kind=chosen, unit_id=unit, period=period, first=size, after=after),
            OfficeReportType.from_row,
        )
