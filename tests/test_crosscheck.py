"""The cross-check (四(一)3) over a small made-up county where every finding is known in advance.

The county (大丰镇, its first and second village, 大丰镇中心小学 as the catchment school of 第一村1组):
  A  age 6, on no roll                      → NOT_ENROLLED, a NOT_ENROLLED_GRADE1 case at the catchment school
  B  age 10, pupil, lives here              → nothing
  C  age 12, pupil, lives outside the county → NOT_LIVING_HERE (人籍分离), for the pupil's school
  D  age 11, pupil, 12 absences, open case  → NOT_ATTENDING (空挂学籍), on the absence case
  E  age 13, pupil of the middle school whom the census finds at another primary → TWO_SCHOOLS
  F  in the census only                     → CENSUS_ONLY
  G  age 14, on no roll, census: 县外就读     → nothing (explained)
  H  age 4, on no roll                      → NOT_ENROLLED (pre-school band), no case, no task
  I  age 5, in kindergarten                 → nothing
  J  age 18, on no roll                     → nothing (outside the bands)
  K  age 8, on no roll, village group with no catchment school → NOT_ENROLLED, a task for the township, no case
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from models import clock
from models.audit import AuditAction, AuditEntry
from models.cases import Absence, Case, CaseEvent, CaseKind
from models.children import Gender, Household, Student
from models.citizen_id import make
from models.population import CensusLineStatus, CrossCheckFinding
from models.tasks import Task, TaskCooperator, TaskEvent
from models.units import Unit
from models.users import UserRole
from tasks.children.students import StudentData, create_student
from tasks.machinery import dispatch
from tasks.registers.population import CensusRow, ResidentRow, upsert_census_lines, upsert_residents
from tests.support import data_of, gql, sign_in

AS_OF = date(2026, 8, 31)
TODAY = date(2026, 9, 1)
REGION = "659901"  # made up: no demo child has it


def cid(born: date, n: int) -> str:
    return make(REGION, born, n)


BORN = {
    "A": date(2020, 3, 1),
    "B": date(2016, 5, 1),
    "C": date(2014, 2, 1),
    "D": date(2015, 6, 1),
    "E": date(2013, 4, 1),
    "F": date(2017, 1, 1),
    "G": date(2012, 1, 1),
    "H": date(2022, 1, 1),
    "I": date(2020, 10, 1),
    "J": date(2008, 1, 1),
    "K": date(2018, 3, 1),
}
IDS = {name: cid(born, i + 1) for i, (name, born) in enumerate(BORN.items())}


async def _units() -> dict[str, Unit]:
    codes = {
        "township": "dafeng",
        "v1": "demo-dafeng-v1",
        "v2": "demo-dafeng-v2",
        "catchment": "demo-primary-2",
        "other_primary": "demo-primary-1",
        "middle": "demo-middle-1",
        "kindergarten": "demo-kindergarten-1",
    }
    return {k: await Unit.get(code=c) for k, c in codes.items()}


async def _pupil(name: str, school: Unit, grade: int, township: Unit, village: Unit) -> Student:
    return await create_student(
        StudentData(
            name=f"学生{name}",
            gender=Gender.MALE,
            birth_date=BORN[name],
            citizen_id=IDS[name],
            school_id=school.id,
            grade=grade,
            township_id=township.id,
            village_id=village.id,
        )
    )


@pytest.fixture
async def county(database: str) -> AsyncIterator[dict[str, Any]]:
    u = await _units()
    with clock.as_of(clock.parse_moment(TODAY.isoformat())):
        residents = [
            ResidentRow(
                citizen_id=IDS[n],
                name=f"居民{n}",
                gender=Gender.MALE,
                birth_date=BORN[n],
                township_id=u["township"].id,
                village_id=(u["v2"] if n == "K" else u["v1"]).id,
                village_group="2组" if n == "K" else "1组",
                household_number=f"T-{n}",
                head_name=f"户主{n}",
                registered_address="大丰镇第一村",
                actual_address="昌吉市" if n == "C" else "大丰镇第一村",
                living_here=n != "C",
            )
            for n in "ABCDEGHIJK"
        ]
        summary = await upsert_residents(residents, "police", date(2026, 7, 31))
        assert (summary.imported, summary.updated, summary.unchanged) == (10, 0, 0)
        census = [
            CensusRow(
                year=2026,
                school_id=u["catchment"].id,
                village_id=u["v1"].id,
                village_group="1组",
                household_number=f"T-{n}",
                head_name=f"户主{n}",
                citizen_id=IDS[n],
                name=f"居民{n}",
                gender=Gender.MALE,
                birth_date=BORN[n],
                status=status,
                attending_school_id=school.id if school else None,
                school_text=text,
                guardian_phone="13900001234",
            )
            for n, status, school, text in (
                ("A", CensusLineStatus.NOT_ENROLLED, None, ""),
                ("B", CensusLineStatus.IN_SCHOOL, u["catchment"], ""),
                ("E", CensusLineStatus.IN_SCHOOL, u["other_primary"], ""),
                ("F", CensusLineStatus.NOT_ENROLLED, None, ""),
                ("G", CensusLineStatus.OUT_OF_COUNTY, None, "昌吉市第一中学"),
            )
        ]
        assert (await upsert_census_lines(census, "census:demo-primary-2", AS_OF)).imported == 5
        pupils = {
            "B": await _pupil("B", u["catchment"], 4, u["township"], u["v1"]),
            "C": await _pupil("C", u["other_primary"], 6, u["township"], u["v1"]),
            "D": await _pupil("D", u["catchment"], 5, u["township"], u["v1"]),
            "E": await _pupil("E", u["middle"], 7, u["township"], u["v1"]),
            "I": await _pupil("I", u["kindergarten"], 0, u["township"], u["v1"]),
        }
        # D: on the roll, absent twelve school days in June without coming back (an open absence case).
        d = pupils["D"]
        case = await Case.create(
            student=d,
            kind=CaseKind.ABSENT_WITHOUT_REASON,
            open_key=f"{d.id}:{CaseKind.ABSENT_WITHOUT_REASON.value}",
            school_id=d.school_id,
            township_id=u["township"].id,
            absent_since=date(2026, 6, 8),
            opened_at=clock.now(),
        )
        days = [date(2026, 6, 8) + timedelta(days=i) for i in range(20)]
        for day in [x for x in days if x.weekday() < 5][:12]:
            await Absence.create(student=d, case=case, day=day, recorded_at=clock.now())
    yield {"units": u, "pupils": pupils, "absence_case": case}
    # Children before parents: what the run made, then the county's pupils and households.
    students = await Student.filter(citizen_id__in=list(IDS.values())).values_list("id", flat=True)
    cases = await Case.filter(student_id__in=students).values_list("id", flat=True)
    await CrossCheckFinding.all().delete()
    tasks = await Task.filter(case_id__in=cases).values_list("id", flat=True)
    tasks += await Task.filter(unique_key__startswith="crosscheck:").values_list("id", flat=True)
    await TaskEvent.filter(task_id__in=tasks).delete()
    await TaskCooperator.filter(task_id__in=tasks).delete()
    await Task.filter(id__in=tasks).delete()
    await Absence.filter(student_id__in=students).delete()
    await CaseEvent.filter(case_id__in=cases).delete()
    await Case.filter(id__in=cases).delete()
    households = await Student.filter(id__in=students).values_list("household_id", flat=True)
    await Student.filter(id__in=students).delete()
    from models.population import CensusBook, CensusLine, CensusPage, Resident, ResidentVersion

    await CensusLine.all().delete()
    await CensusPage.all().delete()
    await CensusBook.all().delete()
    await ResidentVersion.all().delete()
    await Resident.all().delete()
    await Household.filter(id__in=households).delete()
    await Household.filter(household_number__startswith="T-").delete()


RUN = """mutation($asOf: Date) { crossCheckRun(input: {asOf: $asOf}) {
  run { id status asOf } userErrors { field code message } } }"""
RUN_NODE = """query($id: ID!) { node(id: $id) { ... on CrossCheckRun { status asOf summary error } } }"""
FINDINGS = """query($filter: CrossCheckFindingFilter) { crossCheckFindings(filter: $filter, first: 100) {
  totalCount nodes { id kind band status name citizenId evidence closeReason
    township { code } school { code } actingUnit { code }
    case { kind status school { code } student { grade } tasks { title status assigneeUnit { code } } } } } }"""
TASKS = """{ tasks(first: 100) { nodes { title status assigneeUnit { code } cooperatingUnits { code } } } }"""


async def _call(client: httpx.AsyncClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    with clock.as_of(clock.parse_moment(TODAY.isoformat())):
        result = data_of(await gql(client, query, variables, token))
        await dispatch.settle()
    return result


async def _run(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    started = (await _call(client, token, RUN, asOf=AS_OF.isoformat()))["crossCheckRun"]
    assert started["userErrors"] == [], started
    assert started["run"]["status"] == "RUNNING"
    run = (await _call(client, token, RUN_NODE, id=started["run"]["id"]))["node"]
    assert run["status"] == "DONE", run
    return run


def _by_name(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["name"][-1]: f for f in findings}


async def test_the_made_up_county_gives_exactly_its_findings_once_and_closes_them(client, county) -> None:
    police = await sign_in("police", UserRole.LIAISON, "公安局联络员")
    office = await sign_in("leading-group-office", UserRole.OFFICE, "办公室")

    first = await _run(client, police)
    assert first["asOf"] == "2026-08-31"
    assert first["summary"]["opened"] == {
        "NOT_ENROLLED": 3,
        "NOT_LIVING_HERE": 1,
        "NOT_ATTENDING": 1,
        "TWO_SCHOOLS": 1,
        "CENSUS_ONLY": 1,
    }
    assert first["summary"]["casesOpened"] == 1
    assert first["summary"]["studentsRecorded"] == 1

    found = (await _call(client, office, FINDINGS))["crossCheckFindings"]
    assert found["totalCount"] == 7
    kinds = {n: (f["kind"], f["band"]) for n, f in _by_name(found["nodes"]).items()}
    assert kinds == {
        "A": ("NOT_ENROLLED", "PRESCHOOL"),
        "H": ("NOT_ENROLLED", "PRESCHOOL"),
        "K": ("NOT_ENROLLED", "PRIMARY"),
        "C": ("NOT_LIVING_HERE", "PRIMARY"),
        "D": ("NOT_ATTENDING", "PRIMARY"),
        "E": ("TWO_SCHOOLS", "JUNIOR"),
        "F": ("CENSUS_ONLY", "PRIMARY"),
    }
    by = _by_name(found["nodes"])
    a = by["A"]
    assert a["citizenId"] == IDS["A"][:6] + "********" + IDS["A"][-4:]
    assert a["evidence"]["age"] == 6
    assert a["actingUnit"] == {"code": "dafeng"}
    assert a["case"]["kind"] == "NOT_ENROLLED_GRADE1"
    assert a["case"]["status"] == "OPEN"
    assert a["case"]["school"] == {"code": "demo-primary-2"}
    assert a["case"]["student"]["grade"] == 0  # recorded at the catchment school, not enrolled
    titles = {t["assigneeUnit"]["code"]: t["title"] for t in a["case"]["tasks"]}
    assert "dafeng" in titles and "劝返" in titles["dafeng"]  # the township's persuasion task
    assert by["H"]["case"] is None and by["H"]["actingUnit"] is None  # pre-school: kept, nobody tasked
    assert by["K"]["case"] is None and by["K"]["actingUnit"] == {"code": "dafeng"}  # no catchment school known
    assert by["C"]["actingUnit"] == {"code": "demo-primary-1"}
    assert by["C"]["evidence"]["actualAddress"] == "昌吉市"
    assert by["D"]["evidence"]["absentDays"] == 12
    assert by["D"]["case"]["kind"] == "ABSENT_WITHOUT_REASON"
    assert by["E"]["actingUnit"] == {"code": "education"}
    assert by["F"]["actingUnit"] == {"code": "dafeng"}

    tasks = (await _call(client, police, TASKS))["tasks"]["nodes"]
    assert [t["title"] for t in tasks if t["assigneeUnit"]["code"] == "police"] == []
    assert any("F" in t["title"] for t in tasks if {"code": "police"} in t["cooperatingUnits"])

    # A second run creates nothing twice.
    second = await _run(client, police)
    assert second["summary"]["opened"] == {} and second["summary"]["closed"] == {}
    assert second["summary"]["casesOpened"] == 0 and second["summary"]["tasksCreated"] == 0
    assert (await _call(client, office, FINDINGS))["crossCheckFindings"]["totalCount"] == 7

    # The roll import enrols A in grade 1: the next run closes A's finding and case (销号) by itself.
    await Student.filter(citizen_id=IDS["A"]).update(grade=1, class_name="1班")
    third = await _run(client, police)
    assert third["summary"]["closed"] == {"NOT_ENROLLED": 1}
    assert third["summary"]["casesClosed"] == 1
    closed = (await _call(client, office, FINDINGS, filter={"status": "CLOSED"}))["crossCheckFindings"]["nodes"]
    assert [(f["name"], f["kind"]) for f in closed] == [("居民A", "NOT_ENROLLED")]
    assert "已入学" in closed[0]["closeReason"]
    assert closed[0]["case"]["status"] == "CLOSED"
    assert all(t["status"] in ("DONE", "CANCELLED") for t in closed[0]["case"]["tasks"])
    still = (await _call(client, office, FINDINGS, filter={"status": "OPEN"}))["crossCheckFindings"]
    assert still["totalCount"] == 6


EXPLAIN = """mutation($id: ID!, $input: CrossCheckFindingExplainInput!) {
  crossCheckFindingExplain(id: $id, input: $input) {
    finding { status closeReason closeEvidence } userErrors { field code message } } }"""


async def test_an_explained_finding_is_not_raised_again(client, county) -> None:
    police = await sign_in("police", UserRole.LIAISON, "公安局联络员")
    await _run(client, police)
    township = await sign_in("dafeng", UserRole.LIAISON, "镇联络员")
    found = _by_name((await _call(client, township, FINDINGS))["crossCheckFindings"]["nodes"])
    school = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    refused = await _call(client, school, EXPLAIN, id=found["K"]["id"], input={"reason": "x", "evidence": "y"})
    assert refused["crossCheckFindingExplain"]["userErrors"][0]["code"] == "NOT_FOUND"  # not theirs to see
    blank = await _call(client, township, EXPLAIN, id=found["A"]["id"], input={"reason": " ", "evidence": "证明"})
    assert blank["crossCheckFindingExplain"]["userErrors"][0]["field"] == "reason"
    explained = await _call(
        client, township, EXPLAIN, id=found["A"]["id"], input={"reason": "送教上门", "evidence": "教育局安置决定书"}
    )
    assert explained["crossCheckFindingExplain"] == {
        "finding": {"status": "EXPLAINED", "closeReason": "送教上门", "closeEvidence": "教育局安置决定书"},
        "userErrors": [],
    }
    a = _by_name((await _call(client, township, FINDINGS))["crossCheckFindings"]["nodes"])["A"]
    assert a["case"]["status"] == "CLOSED"
    assert all(t["status"] in ("DONE", "CANCELLED") for t in a["case"]["tasks"])
    again = await _run(client, police)
    assert again["summary"]["opened"] == {} and again["summary"]["closed"] == {}
    again_twice = await _call(client, township, EXPLAIN, id=found["A"]["id"], input={"reason": "x", "evidence": "y"})
    assert again_twice["crossCheckFindingExplain"]["userErrors"][0]["code"] == "INVALID_TRANSITION"


async def test_findings_are_seen_through_the_one_gate(client, county) -> None:
    police = await sign_in("police", UserRole.LIAISON, "公安局联络员")
    await _run(client, police)
    other_primary = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    seen = (await _call(client, other_primary, FINDINGS))["crossCheckFindings"]["nodes"]
    assert [(f["name"], f["kind"]) for f in seen] == [("学生C", "NOT_LIVING_HERE")]
    township = await sign_in("dafeng", UserRole.LIAISON, "镇联络员")
    mine = (await _call(client, township, FINDINGS, filter={"kind": "NOT_ENROLLED"}))["crossCheckFindings"]
    assert mine["totalCount"] == 3
    stranger = await sign_in("wugongtai", UserRole.LIAISON, "五工台镇联络员")
    assert (await _call(client, stranger, FINDINGS))["crossCheckFindings"]["totalCount"] == 0
    refused = (await _call(client, stranger, RUN, asOf=AS_OF.isoformat()))["crossCheckRun"]
    assert refused["run"] is None and refused["userErrors"][0]["code"] == "FORBIDDEN"


BOOKS = """{ householdBooks(filter: {year: 2026}) { totalCount nodes { id year downloadPath
  villageGroup { name village { code } school { code } } school { code } lineCount
  pages(first: 10) { totalCount nodes { householdNumber headName
    lines { name citizenId status schoolText school { code } guardianPhone } } } } } }"""


async def test_the_household_book_by_page_and_line_and_as_a_spreadsheet(client, county) -> None:
    school = await sign_in("demo-primary-2", UserRole.SCHOOL_OFFICE, "教务处")
    books = (await _call(client, school, BOOKS))["householdBooks"]
    assert books["totalCount"] == 1
    book = books["nodes"][0]
    assert book["villageGroup"] == {
        "name": "1组",
        "village": {"code": "demo-dafeng-v1"},
        "school": {"code": "demo-primary-2"},
    }
    assert book["lineCount"] == 5
    pages = book["pages"]
    assert pages["totalCount"] == 5
    first = pages["nodes"][0]
    assert first["householdNumber"] == "T-A" and first["headName"] == "户主A"
    assert first["lines"][0]["citizenId"].count("*") == 8
    assert first["lines"][0]["guardianPhone"] == "139****1234"
    g = next(p for p in pages["nodes"] if p["householdNumber"] == "T-G")["lines"][0]
    assert (g["status"], g["schoolText"]) == ("OUT_OF_COUNTY", "昌吉市第一中学")

    for unit in ("dafeng", "demo-dafeng-v1"):  # the township and the village it covers
        assert (await _call(client, await sign_in(unit), BOOKS))["householdBooks"]["totalCount"] == 1
    stranger = await sign_in("demo-middle-1", UserRole.SCHOOL_OFFICE, "教务处")
    assert (await _call(client, stranger, BOOKS))["householdBooks"]["totalCount"] == 0
    node = """query($id: ID!) { node(id: $id) { ... on HouseholdBook { year } } }"""
    assert (await _call(client, stranger, node, id=book["id"]))["node"] is None
    assert (await _call(client, school, node, id=book["id"]))["node"] == {"year": 2026}
    assert (await client.get(book["downloadPath"], headers={"Authorization": f"Bearer {stranger}"})).status_code == 404
    assert (await client.get(book["downloadPath"])).status_code == 401

    response = await client.get(book["downloadPath"], headers={"Authorization": f"Bearer {school}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = _xlsx_rows(response.content)
    assert rows[0][0].startswith("2026年 学户册：") and "1组" in rows[0][0]
    assert rows[1][0].startswith("普查学校：【演示】大丰镇中心小学；共5户、5人")
    assert rows[2][:3] == ["户号：T-A", "户主：户主A", "地址："]
    assert rows[3][:4] == ["序号", "姓名", "性别", "身份证号"]
    assert rows[4][1:4] == ["居民A", "男", IDS["A"]]  # whole for the school that made the book
    downloads = await AuditEntry.filter(action=AuditAction.DOWNLOAD, operation="householdBook").order_by("id")
    assert [d.outcome for d in downloads][-2:] == ["NOT_FOUND", "OK"]


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    from io import BytesIO

    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_filelike(BytesIO(content)).get_sheet_by_index(0)
    return [[c for c in row] for row in sheet.to_python(skip_empty_area=False) if any(c != "" for c in row)]
