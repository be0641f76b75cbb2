"""The plan's targets (二) as live figures, each opening the children behind it."""

from __future__ import annotations

import datetime as dt

import strawberry

from api.context import Info, require_viewer
from api.types.connection import Connection, page_size, paged
from api.types.student import StudentType
from api.types.unit import UnitType
from models.children import Student
from models.paging import SortKey, keyset_page
from tasks.access import visible_students
from tasks.office import targets


@strawberry.type(description="One target of the plan (二) for a township or the county, as of a day.")
class TargetFigure:
    code: str = strawberry.field(description="enrolment, disabled-enrolment, care-groups-enrolment, ...")
    name: str
    line: str = strawberry.field(description="township (enrolment) or education (retention): who answers (四(二)1).")
    definition: str = strawberry.field(description="How the county counts it (the policy file).")
    target: float
    numerator: int
    denominator: int
    value: float | None = strawberry.field(description="numerator ÷ denominator (0-1); null when nobody is counted.")
    met: bool | None
    _townships: strawberry.Private[list[int] | None]
    _day: strawberry.Private[dt.date]

    @classmethod
    def of(cls, figure: targets.TargetFigure, townships: list[int] | None, day: dt.date) -> TargetFigure:
        spec = figure.spec
        return cls(
            code=spec.code,
            name=spec.name,
            line=spec.line,
            definition=spec.definition,
            target=spec.target,
            numerator=figure.numerator,
            denominator=figure.denominator,
            value=figure.value,
            met=figure.met,
            _townships=townships,
            _day=day,
        )

    @strawberry.field(
        description="The pupils behind the figure that you may see: counted (the numerator) or, with "
        "counted: false, in the denominator but not counted. Residents on no roll are the cross-check's findings."
    )
    async def children(
        self, info: Info, counted: bool = True, first: int | None = None, after: str | None = None
    ) -> Connection[StudentType]:
        viewer = require_viewer(info)
        size = page_size(first)
        ids = await targets.children_behind(self.code, self._day, self._townships, counted)
        query = Student.filter(visible_students(viewer), id__in=ids)
        return await paged(lambda: keyset_page([query], (SortKey("id"),), size, after), StudentType.from_row)


@strawberry.type(description="A township's targets.")
class TownshipTargets:
    township: UnitType
    figures: list[TargetFigure]


@strawberry.type(
    description="The plan's targets as of a day, for the county (or the townships you may see) and each township."
)
class TargetsView:
    as_of: dt.date
    school_year: str
    county: list[TargetFigure] = strawberry.field(description="Over every township in view.")
    townships: list[TownshipTargets]
