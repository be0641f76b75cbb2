"""The population register's bulk loading, as the importer calls it: new, changed and unchanged residents,
their history kept per version, households by 户号 and village groups made on the way, and the census book."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date

import pytest

from models import clock
from models.children import Gender, Household
from models.citizen_id import make
from models.population import (
    CensusBook,
    CensusLine,
    CensusLineStatus,
    CensusPage,
    Resident,
    ResidentVersion,
    VillageGroup,
)
from models.units import Unit
from tasks.registers import population
from tasks.registers.population import CensusRow, ResidentRow, upsert_census_lines, upsert_residents

REGION = "659902"


@pytest.fixture
async def units(database: str) -> AsyncIterator[dict[str, Unit]]:
    yield {
        "township": await Unit.get(code="wugongtai"),
        "village": await Unit.get(code="demo-wugongtai-v1"),
        "school": await Unit.get(code="demo-nine-year-1"),
    }
    await Household.filter(household_number__startswith="P-").delete()


def _rows(units: dict[str, Unit], count: int) -> list[ResidentRow]:
    return [
        ResidentRow(
            citizen_id=make(REGION, date(2015, 1, 1 + i % 28), i),
            name=f"居民{i}",
            gender=Gender.FEMALE if i % 2 else Gender.MALE,
            birth_date=date(2015, 1, 1 + i % 28),
            township_id=units["township"].id,
            village_id=units["village"].id,
            village_group=f"{i % 3 + 1}组",
            household_number=f"P-{i // 2}",
            head_name=f"户主{i // 2}",
            registered_address="五工台镇第一村",
            actual_address="五工台镇第一村",
            guardian_name="监护人",
            guardian_phone="13900000000",
        )
        for i in range(count)
    ]


async def test_new_changed_and_unchanged_residents_keep_their_history(units, monkeypatch) -> None:
    monkeypatch.setattr(population, "BATCH", 7)  # several batches, and a household split across two
    rows = _rows(units, 30)
    with clock.as_of(clock.parse_moment("2026-08-01")):
        first = await upsert_residents(rows, "police", date(2026, 7, 31))
        assert (first.imported, first.updated, first.unchanged) == (30, 0, 0)
        again = await upsert_residents(rows, "police", date(2026, 7, 31))
        assert (again.imported, again.updated, again.unchanged) == (0, 0, 30)

        moved = [replace(r, actual_address="昌吉市", living_here=False) if i < 5 else r for i, r in enumerate(rows)]
        newer = await upsert_residents(moved, "police", date(2026, 8, 20))
        assert (newer.imported, newer.updated, newer.unchanged) == (0, 5, 25)
        older = await upsert_residents(rows, "census", date(2026, 6, 1))  # an older source rewrites nothing
        assert (older.imported, older.updated, older.unchanged) == (0, 0, 30)

    assert await Resident.filter(citizen_id__startswith=REGION).count() == 30
    assert await Household.filter(household_number__startswith="P-").count() == 15
    groups = await VillageGroup.filter(village_id=units["village"].id).values_list("name", flat=True)
    assert sorted(groups) == ["1组", "2组", "3组"]
    first_id = rows[0].citizen_id
    resident = await Resident.get(citizen_id=first_id)
    assert (resident.version, resident.source, resident.as_of, resident.living_here) == (
        2,
        "police",
        date(2026, 8, 20),
        False,
    )
    history = await ResidentVersion.filter(resident_id=resident.id).order_by("version")
    assert [(v.version, v.source, v.as_of) for v in history] == [
        (1, "police", date(2026, 7, 31)),
        (2, "police", date(2026, 8, 20)),
    ]
    assert history[0].data["actual_address"] == "五工台镇第一村"
    assert sorted(history[1].changed) == ["actual_address", "living_here"]
    assert history[1].data["actual_address"] == "昌吉市"


async def test_census_sheets_make_one_book_per_group_one_page_per_household_one_line_per_person(units) -> None:
    lines = [
        CensusRow(
            year=2026,
            school_id=units["school"].id,
            village_id=units["village"].id,
            village_group=f"{i % 2 + 1}组",
            household_number=f"P-C{i // 3}",
            citizen_id=make(REGION, date(2016, 3, 1), 100 + i),
            name=f"普查{i}",
            gender=Gender.MALE,
            birth_date=date(2016, 3, 1),
            status=CensusLineStatus.IN_SCHOOL,
        )
        for i in range(12)
    ]
    assert (await upsert_census_lines(lines, "census", date(2026, 8, 31))).imported == 12
    assert (await upsert_census_lines(lines, "census", date(2026, 8, 31))).unchanged == 12
    corrected = [replace(lines[0], status=CensusLineStatus.NOT_ENROLLED), *lines[1:]]
    summary = await upsert_census_lines(corrected, "census", date(2026, 9, 5))
    assert (summary.imported, summary.updated, summary.unchanged) == (0, 1, 11)
    books = await CensusBook.filter(year=2026, village_group__village_id=units["village"].id)
    assert len(books) == 2 and {b.school_id for b in books} == {units["school"].id}
    assert await CensusPage.filter(book_id__in=[b.id for b in books]).count() == 8  # households split by group
    assert await CensusLine.filter(book_id__in=[b.id for b in books]).count() == 12
    group = await VillageGroup.get(village_id=units["village"].id, name="1组")
    assert group.school_id == units["school"].id  # the census school becomes the group's catchment school


RESIDENTS = """query($filter: ResidentFilter) { residents(filter: $filter, first: 100) { totalCount nodes { id
  citizenId name livingHere actualAddress source asOf version village { code } villageGroup { name }
  history { version source asOf changed } } } }"""


async def test_the_register_and_its_history_over_graphql_through_the_gate(client, units) -> None:
    from tests.ladder_support import run
    from tests.support import sign_in

    rows = _rows(units, 4)
    with clock.as_of(clock.parse_moment("2026-08-01")):
        await upsert_residents(rows, "police", date(2026, 7, 31))
        await upsert_residents(
            [replace(rows[0], actual_address="昌吉市", living_here=False)], "police", date(2026, 8, 1)
        )
    township = await sign_in("wugongtai")
    listed = (await run(client, township, date(2026, 8, 2), RESIDENTS, filter={"livingHere": False}))["residents"]
    assert listed["totalCount"] == 1
    moved = listed["nodes"][0]
    assert moved["citizenId"] == rows[0].citizen_id[:6] + "********" + rows[0].citizen_id[-4:]
    assert (moved["actualAddress"], moved["version"], moved["asOf"]) == ("昌吉市", 2, "2026-08-01")
    assert moved["village"] == {"code": "demo-wugongtai-v1"} and moved["villageGroup"] == {"name": "1组"}
    assert [(h["version"], h["asOf"]) for h in moved["history"]] == [(1, "2026-07-31"), (2, "2026-08-01")]
    assert sorted(moved["history"][1]["changed"]) == ["actual_address", "living_here"]
    everyone = (await run(client, township, date(2026, 8, 2), RESIDENTS))["residents"]
    assert everyone["totalCount"] == 4
    stranger = await sign_in("dafeng")
    assert (await run(client, stranger, date(2026, 8, 2), RESIDENTS))["residents"]["totalCount"] == 0
    node = """query($id: ID!) { node(id: $id) { ... on Resident { name } } }"""
    assert (await run(client, stranger, date(2026, 8, 2), node, id=moved["id"]))["node"] is None
