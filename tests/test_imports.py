"""Imports through the API: upload a file, follow the run over GraphQL, see what was taken and what was not."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import xlsxwriter

from models.children import Household, Student
from models.citizen_id import make
from models.imports import ImportChange, ImportKind
from models.population import CensusLine, Resident, ResidentVersion
from models.registers import SchoolClass
from models.units import Unit
from models.users import UserRole
from tasks.machinery import dispatch, jobs
from tasks.registers.imports.run import record_run, store_local_file
from tests.support import data_of, gql, sign_in

REGION = "659001"  # made-up region code: every ID of this file starts with it
ROLL_HEADER = [
    "姓名",
    "性别",
    "身份证号",
    "出生日期",
    "学校",
    "年级",
    "班级",
    "全国学籍号",
    "乡镇",
    "村（社区）",
    "监护人",
    "联系电话",
]
RUN = """
query($id: ID!) {
  importRun(id: $id) {
    id kind fileName status dryRun atomic rowsTotal rowsDone progress
    imported updated unchanged ignored conflictCount errorCode error summary
    unit { code }
    conflicts(first: 50) { totalCount nodes { line column value code message } }
  }
}"""


def cid(sequence: int, born: date = date(2016, 5, 1)) -> str:
    return make(REGION, born, sequence)


def pupil(sequence: int, **changes: Any) -> dict[str, Any]:
    born = changes.pop("born", date(2016, 5, 1))
    row = {
        "姓名": f"【演示】导入{sequence}",
        "性别": "男" if int(cid(sequence, born)[16]) % 2 else "女",
        "身份证号": cid(sequence, born),
        "出生日期": born.isoformat(),
        "学校": "【演示】呼图壁县第一小学",
        "年级": "三年级",
        "班级": "1班",
        "全国学籍号": f"G{cid(sequence, born)}",
        "乡镇": "大丰镇",
        "村（社区）": "【演示】大丰镇第一村",
        "监护人": "【演示】家长",
        "联系电话": "13900000000",
    }
    row.update(changes)
    return row


def csv_bytes(
    rows: Sequence[dict[str, Any]], header: Sequence[str] = ROLL_HEADER, encoding: str = "utf-8-sig"
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(h, "") for h in header])
    return out.getvalue().encode(encoding)


@pytest.fixture(autouse=True)
async def _forget_imported_people(database: str) -> AsyncIterator[None]:
    yield
    households = await Student.filter(citizen_id__startswith=REGION).values_list("household_id", flat=True)
    await Student.filter(citizen_id__startswith=REGION).delete()
    await Household.filter(id__in=list(households)).delete()
    await Household.filter(household_number__startswith="T-").delete()
    school = await Unit.get(code="demo-primary-1")
    await SchoolClass.filter(school_id=school.id, grade__in=[3, 4]).delete()  # the classes these files named


async def upload(
    client: httpx.AsyncClient, token: str | None, kind: str, body: bytes, name: str = "学籍.csv", **flags: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"filename": name, **flags}
    return await client.post(f"/imports/{kind}", content=body, params=params, headers=headers)


async def imported(client: httpx.AsyncClient, token: str, kind: str, body: bytes, **flags: str) -> dict[str, Any]:
    """Upload, let the in-process worker finish, and read the run as its uploader does."""
    response = await upload(client, token, kind, body, **flags)
    assert response.status_code == 202, response.text
    run_id = response.json()["importRun"]["id"]
    await dispatch.settle()
    return data_of(await gql(client, RUN, {"id": run_id}, token))["importRun"]


def codes(run: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(c["line"], c["column"], c["code"]) for c in run["conflicts"]["nodes"]]


async def test_a_roll_file_is_imported_and_its_progress_and_result_read_over_graphql(client) -> None:
    token = await sign_in("education", UserRole.LIAISON, "教育局")
    run = await imported(client, token, "roll", csv_bytes([pupil(1), pupil(2), pupil(3)]))
    assert run["status"] == "DONE" and run["kind"] == "ROLL" and run["unit"] == {"code": "education"}
    assert (run["rowsTotal"], run["rowsDone"], run["progress"]) == (3, 3, 1.0)
    assert (run["imported"], run["updated"], run["unchanged"], run["ignored"], run["conflictCount"]) == (3, 0, 0, 0, 0)
    assert run["summary"]["importCount"] == {"imported": 3, "updated": 0, "unchanged": 0, "ignored": 0, "deleted": 0}
    office = await sign_in("leading-group-office", UserRole.OFFICE, "办公室")
    query = '{ students(filter: {name: "导入"}) { nodes { name grade schoolClass { grade name school { code } } } } }'
    students = data_of(await gql(client, query, token=office))["students"]["nodes"]
    assert sorted(s["name"] for s in students) == [f"【演示】导入{i}" for i in (1, 2, 3)]
    assert {s["grade"] for s in students} == {3}
    placed = {"grade": 3, "name": "1班", "school": {"code": "demo-primary-1"}}
    assert [s["schoolClass"] for s in students] == [placed] * 3  # placed in the class the file names
    listed = data_of(await gql(client, "{ importRuns(first: 5) { nodes { id status } } }", token=token))
    assert listed["importRuns"]["nodes"][0] == {"id": run["id"], "status": "DONE"}
    node = data_of(await gql(client, "query($id: ID!) { node(id: $id) { id } }", {"id": run["id"]}, token))
    assert node["node"] == {"id": run["id"]}


async def test_every_kind_of_bad_row_is_reported_with_line_column_and_code_and_the_good_rows_taken(client) -> None:
    token = await sign_in("education", UserRole.LIAISON, "教育局")
    wrong = cid(10)[:17] + ("0" if cid(10)[17] != "0" else "1")
    lost_x = next(
        make(REGION, date(2016, 5, 1), n)[:17] for n in range(20, 200) if make(REGION, date(2016, 5, 1), n)[17] == "X"
    )
    rows = [
        pupil(1),  # line 2: good
        pupil(2, 身份证号=wrong),  # 3
        pupil(3, 身份证号="6.52323E+17"),  # 4
        pupil(4, 身份证号=lost_x),  # 5
        pupil(5, 身份证号=cid(5) + ".0"),  # 6
        pupil(6, 学校="不存在的学校"),  # 7
        pupil(7, **{"村（社区）": "没有这个村"}),  # 8
        pupil(1, 全国学籍号="G99999999"),  # 9: the same ID as line 2
        pupil(8, 姓名=""),  # 10
        pupil(9, 出生日期="2015-01-01"),  # 11: not the birth date in the ID
        pupil(11, **{"村（社区）": "【演示】五工台镇第一村"}),  # 12: a village of another township
        pupil(12),  # 13: good
    ]
    run = await imported(client, token, "roll", csv_bytes(rows))
    assert run["status"] == "DONE"
    assert (run["imported"], run["ignored"], run["conflictCount"]) == (2, 10, 10)
    assert codes(run) == [
        (3, "身份证号", "BAD_CHECK_DIGIT"),
        (4, "身份证号", "ID_AS_NUMBER"),
        (5, "身份证号", "ID_LOST_X"),
        (6, "身份证号", "ID_FLOAT_SUFFIX"),
        (7, "学校", "UNKNOWN_SCHOOL"),
        (8, "村（社区）", "UNKNOWN_VILLAGE"),
        (9, "身份证号", "DUPLICATE_IN_FILE"),
        (10, "姓名", "REQUIRED"),
        (11, "出生日期", "BAD_BIRTH_DATE"),
        (12, "村（社区）", "VILLAGE_NOT_IN_TOWNSHIP"),
    ]
    by_line = {c["line"]: c for c in run["conflicts"]["nodes"]}
    assert "科学计数法" in by_line[4]["message"] and by_line[4]["value"] == "6.52323E+17"
    assert "X" in by_line[5]["message"]
    assert "第2行" in by_line[9]["message"]
    assert by_line[3]["value"].startswith(REGION) and "*" in by_line[3]["value"]  # IDs are masked in the report
    assert run["summary"]["conflictsByCode"]["ID_AS_NUMBER"] == 1
    assert await Student.filter(citizen_id__in=[cid(1), cid(12)]).count() == 2


async def test_a_dry_run_reports_and_writes_nothing(client) -> None:
    token = await sign_in("education", UserRole.LIAISON, "教育局")
    run = await imported(client, token, "roll", csv_bytes([pupil(1), pupil(2, 学校="x")]), dryRun="true")
    assert run["dryRun"] and run["status"] == "DONE"
    assert (run["imported"], run["ignored"]) == (1, 1)
    assert not await Student.filter(citizen_id__startswith=REGION).exists()


async def test_all_or_nothing_takes_nothing_when_a_row_is_bad_and_everything_when_none_is(client) -> None:
    token = await sign_in("education", UserRole.LIAISON, "教育局")
    refused = await imported(client, token, "roll", csv_bytes([pupil(1), pupil(2, 年级="十五")]), atomic="true")
    assert refused["status"] == "REFUSED" and refused["errorCode"] == "ROWS_REJECTED"
    assert (refused["imported"], refused["ignored"]) == (0, 2)
    assert codes(refused) == [(3, "年级", "BAD_GRADE")]
    assert not await Student.filter(citizen_id__startswith=REGION).exists()
    taken = await imported(client, token, "roll", csv_bytes([pupil(1), pupil(2)]), atomic="true")
    assert (taken["status"], taken["imported"]) == ("DONE", 2)
    assert await Student.filter(citizen_id__startswith=REGION).count() == 2


async def test_the_same_file_twice_changes_nothing_and_a_newer_file_updates_keeping_the_history(client) -> None:
    token = await sign_in("education", UserRole.LIAISON, "教育局")
    first = csv_bytes([pupil(1), pupil(2)])
    assert (await imported(client, token, "roll", first))["imported"] == 2
    again = await imported(client, token, "roll", first)
    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 2)
    newer = await imported(client, token, "roll", csv_bytes([pupil(1, 年级="四年级", 班级="2班"), pupil(2)]))
    assert (newer["imported"], newer["updated"], newer["unchanged"]) == (0, 1, 1)
    student = await Student.get(citizen_id=cid(1))
    assert (student.grade, student.class_name) == (4, "2班")
    history = await ImportChange.filter(subject="student", subject_id=student.id)
    assert len(history) == 1 and history[0].changes["grade"] == [3, 4]
    assert history[0].changes["class_name"] == ["1班", "2班"]
    query = "query($id: ID!) { importRun(id: $id) { changes(first: 10) { nodes { line subject changes } } } }"
    shown = data_of(await gql(client, query, {"id": newer["id"]}, token))["importRun"]["changes"]["nodes"]
    assert [(c["line"], c["subject"], c["changes"]["grade"]) for c in shown] == [(2, "student", [3, 4])]


async def test_an_xlsx_file_with_what_excel_does_to_ids(client, tmp_path: Path) -> None:
    token = await sign_in("education", UserRole.LIAISON, "教育局")
    path = tmp_path / "学籍.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ROLL_HEADER)
    for line, row in enumerate([pupil(1), pupil(2), pupil(3)], start=1):
        for column, header in enumerate(ROLL_HEADER):
            sheet.write_string(line, column, str(row[header]))
    sheet.write_datetime(1, 3, __import__("datetime").datetime(2016, 5, 1), dates)  # a real date cell
    sheet.write_number(2, 2, float(cid(2)))  # an ID stored as a number: its last digits are gone
    sheet.write_number(3, 5, 3)  # the grade as a number
    book.close()
    run = await imported(client, token, "roll", path.read_bytes(), name="学籍.xlsx")
    assert run["status"] == "DONE" and run["rowsTotal"] == 3
    assert (run["imported"], run["ignored"]) == (2, 1)
    assert codes(run) == [(3, "身份证号", "ID_AS_NUMBER")]


async def test_a_gbk_csv_with_a_title_above_its_header_line_is_read(client) -> None:
    token = await sign_in("education", UserRole.LIAISON, "教育局")
    titled = "呼图壁县2026年秋季学期学生花名册\n\n".encode("gbk") + csv_bytes(
        [pupil(1), pupil(2, 学校="x")], encoding="gbk"
    )
    run = await imported(client, token, "roll", titled)
    assert (run["status"], run["imported"]) == ("DONE", 1)
    assert codes(run) == [(5, "学校", "UNKNOWN_SCHOOL")]  # lines as the file numbers them
    assert await Student.filter(name="【演示】导入1").exists()


async def test_a_file_without_a_required_column_or_unreadable_is_refused_whole(client) -> None:
    token = await sign_in("education", UserRole.LIAISON, "教育局")
    header = [h for h in ROLL_HEADER if h != "身份证号"]
    missing = await imported(client, token, "roll", csv_bytes([pupil(1)], header=header))
    assert (missing["status"], missing["errorCode"]) == ("REFUSED", "MISSING_COLUMN")
    assert "身份证号" in missing["error"]
    broken = await imported(client, token, "roll", b"PK\x03\x04 not really a spreadsheet", name="x.xlsx")
    assert (broken["status"], broken["errorCode"]) == ("REFUSED", "UNREADABLE")


POLICE_HEADER = ["姓名", "性别", "公民身份号码", "出生日期", "民族", "户籍地址", "实际居住地址", "乡镇", "村（社区）",
                 "村民小组", "户号", "户主", "监护人", "联系电话"]  # fmt: skip


def resident(sequence: int, **changes: Any) -> dict[str, Any]:
    row = {
        "姓名": f"【演示】居民{sequence}",
        "公民身份号码": cid(sequence, date(2014, 3, 3)),
        "民族": "汉族",
        "户籍地址": "大丰镇第一村",
        "实际居住地址": "大丰镇第一村3号",
        "乡镇": "大丰镇",
        "村（社区）": "【演示】大丰镇第一村",
        "村民小组": "一组",
        "户号": f"T-{sequence}",
        "户主": "【演示】户主",
        "监护人": "【演示】监护人",
        "联系电话": "13900000001",
    }
    row.update(changes)
    return row


async def test_the_police_extract_loads_residents_and_a_newer_one_keeps_their_versions(client) -> None:
    token = await sign_in("police", UserRole.LIAISON, "公安局")
    body = csv_bytes([resident(1), resident(2), resident(3, 乡镇="不存在镇")], header=POLICE_HEADER)
    dry = await imported(client, token, "population", body, name="人口.csv", dryRun="true")
    assert (dry["status"], dry["imported"], dry["ignored"]) == ("DONE", 2, 1)
    assert not await Resident.filter(citizen_id__startswith=REGION).exists()  # a dry run writes nothing
    run = await imported(client, token, "population", body, name="人口.csv")
    assert (run["status"], run["imported"], run["ignored"]) == ("DONE", 2, 1)
    assert codes(run) == [(4, "乡镇", "UNKNOWN_TOWNSHIP")]
    first = await Resident.get(citizen_id=cid(1, date(2014, 3, 3)))
    assert first.actual_address == "大丰镇第一村3号"  # the county's own header (hutubi.yaml) for 现住址
    again = await imported(client, token, "population", body, name="人口.csv")
    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 2)
    moved = csv_bytes([resident(1, 实际居住地址="呼图壁镇5号"), resident(2)], header=POLICE_HEADER)
    newer = await imported(client, token, "population", moved, name="人口2.csv")
    assert (newer["updated"], newer["unchanged"]) == (1, 1)
    versions = await ResidentVersion.filter(resident_id=first.id).order_by("version")
    assert [v.version for v in versions] == [1, 2]
    assert versions[1].changed == ["actual_address"]
    # An older extract, loaded late, does not set anyone back.
    older = csv_bytes([resident(1, 实际居住地址="旧地址")], header=POLICE_HEADER)
    late = await imported(client, token, "population", older, name="人口-2020.csv", asOf="2020-01-01")
    assert (late["imported"], late["updated"], late["unchanged"]) == (0, 0, 1)
    assert (await Resident.get(id=first.id)).actual_address == "呼图壁镇5号"
    future = await upload(client, token, "population", older, name="x.csv", asOf="2999-01-01")
    assert future.status_code == 400 and future.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_school_imports_its_census_sheet(client) -> None:
    token = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    header = ["村（社区）", "村民小组", "户号", "户主", "姓名", "身份证号", "与户主关系", "就读状态", "就读学校"]
    rows = [
        {"村（社区）": "【演示】大丰镇第一村", "村民小组": "二组", "户号": "T-9", "户主": "【演示】户主",
         "姓名": "【演示】普查甲", "身份证号": cid(1, date(2018, 1, 1)), "与户主关系": "子", "就读状态": "在校",
         "就读学校": "【演示】呼图壁县第一小学"},
        {"村（社区）": "【演示】大丰镇第一村", "村民小组": "二组", "户号": "T-9", "户主": "【演示】户主",
         "姓名": "【演示】普查乙", "身份证号": cid(2, date(2020, 1, 1)), "与户主关系": "女",
         "就读状态": "未到入学年龄"},
    ]  # fmt: skip
    run = await imported(client, token, "census", csv_bytes(rows, header=header), name="学户册.csv")
    assert (run["status"], run["imported"], run["conflictCount"]) == ("DONE", 2, 0), run
    lines = await CensusLine.filter(citizen_id__startswith=REGION).order_by("citizen_id")
    assert [(line.name, line.status.value) for line in lines] == [
        ("【演示】普查甲", "IN_SCHOOL"),
        ("【演示】普查乙", "UNDER_AGE"),
    ]


async def test_only_the_units_that_own_the_data_may_import_it(client) -> None:
    body = csv_bytes([pupil(1)])
    assert (await upload(client, None, "roll", body)).status_code == 401
    township = await sign_in("dafeng", UserRole.LIAISON, "镇联络员")
    refused = await upload(client, township, "roll", body)
    assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    school = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    assert (await upload(client, school, "population", body)).status_code == 403
    teacher = await sign_in("demo-primary-1", UserRole.HEAD_TEACHER, "班主任")
    assert (await upload(client, teacher, "census", body)).status_code == 403
    assert not await Student.filter(citizen_id__startswith=REGION).exists()
    # A school loads its own pupils, not another school's.
    run = await imported(client, school, "roll", csv_bytes([pupil(1), pupil(2, 学校="【演示】呼图壁县第一中学")]))
    assert (run["imported"], codes(run)) == (1, [(3, "学校", "NOT_YOURS")])
    # Another unit does not see the school's import.
    police = await sign_in("police", UserRole.LIAISON, "公安局")
    assert data_of(await gql(client, RUN, {"id": run["id"]}, police))["importRun"] is None


async def test_a_pending_import_whose_nudge_was_lost_is_taken_by_the_sweep(database: str, tmp_path: Path) -> None:
    source = tmp_path / "学籍.csv"
    source.write_bytes(csv_bytes([pupil(1)]))
    unit = await Unit.get(code="education")
    run = await record_run(
        ImportKind.ROLL, file_name=source.name, stored=await store_local_file(source), unit=unit, user=None,
        uploaded_by_name="cli", dry_run=False, atomic=False,
    )  # fmt: skip
    assert await jobs.run_pending_imports() == 1
    await run.refresh_from_db()
    assert (run.status.value, run.imported) == ("DONE", 1)
    assert await jobs.run_pending_imports() == 0


def test_the_policy_files_header_map_is_checked_and_laid_over_the_built_in_one(tmp_path: Path) -> None:
    from tasks.policy.load import PolicyError, read_policy
    from tasks.registers.imports.headers import header_map

    bad = tmp_path / "county.yaml"
    bad.write_text("imports:\n  roll:\n    headers:\n      shoe_size: [鞋码]\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="unknown import field 'shoe_size'"):
        read_policy(bad)
    good = tmp_path / "county2.yaml"
    good.write_text("imports:\n  aliases:\n    name: [孩子名字]\n  roll:\n    required: [name, citizen_id]\n")
    setting = read_policy(good).imports.model_dump(mode="json", exclude_none=True)  # type: ignore[union-attr]
    roll = header_map(ImportKind.ROLL, setting)
    assert roll.columns(["孩子名字", "身份证号"]) == {"name": (0, "孩子名字"), "citizen_id": (1, "身份证号")}
    assert header_map(ImportKind.ROLL, None).required != roll.required  # school and grade no longer required
