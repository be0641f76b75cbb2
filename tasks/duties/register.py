"""Reading the duty register: which duties a unit owns, by name or by its kind."""

from __future__ import annotations

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models.duties import Duty, DutyParty, PartyRole
from models.paging import Page, SortKey, keyset_page
from models.units import Unit

DUTY_ORDER = (SortKey("position"), SortKey("id"))


def owner_condition(unit: Unit) -> Q:
    return Q(unit_id=unit.id) | Q(unit_kind=unit.kind)


def duties_of(owner: Unit | None) -> QuerySet[Duty]:
    """The register, or the duties `owner` owns (the compiled reads, api/compiled/sql_plan.py, render it too)."""
    query = Duty.all()
    if owner is not None:
        owners = DutyParty.filter(owner_condition(owner), role=PartyRole.OWNER).values("duty_id")
        query = query.filter(id__in=Subquery(owners))
    return query


async def duties_page(owner: Unit | None, first: int, after: str | None) -> Page[Duty]:
    return await keyset_page([duties_of(owner)], DUTY_ORDER, first, after)
