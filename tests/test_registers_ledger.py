"""The dropout ledger (四(二)7) through the API and as a spreadsheet; the disabled persons' federation records
the disability facts it owns."""

from __future__ import annotations

import io
from datetime import date

from python_calamine import CalamineWorkbook

from models import clock
from models.audit import AuditAction, AuditEntry
from models.users import UserRole
from tests.registers_support import call, codes, gid, new_pupil, person
from tests.support import data_of

ABSENCE = """mutation($id: ID!, $day: Date) {
  absenceRecord(id: $id, input: {day: $day}) { case { id } userErrors { code } } }"""
MARK = """
mutation($id: ID!, $mark: LedgerMark!, $day: Date) {
  caseLedgerMark(id: $id, input: {mark: $mark, day: $day, evidence: "家访记录、村委证明"}) {
    entry { mark day evidence recordedByName } case { status } userErrors { field code }
  }
}"""
LEDGER = """
query($unit: ID!) { dropoutLedger(unitId: $unit, first: 50) { totalCount nodes {
  currentMark case { id status student { name } } entries { mark day }
} } }"""


async def test_a_case_on_the_ledger_its_listing_and_its_spreadsheet(client, database) -> None:
    _, office = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    _, liaison = await person("demo-primary-1", UserRole.LIAISON, "联络员")
    _, township = await person("yuanhucun", UserRole.LIAISON, "乡镇联络员")
    _, other_township = await person("queergou", UserRole.LIAISON, "外乡镇联络员")
    pupil = await new_pupil("demo-primary-1", 5, township="yuanhucun", name="台账学生")
    opened = data_of(
        await call(client, office, date(2026, 9, 7), ABSENCE, id=gid("Student", pupil.id), day="2026-09-07")
    )
    case_id = opened["absenceRecord"]["case"]["id"]

    async def mark(token: str, kind: str, day: str) -> dict:
        return data_of(await call(client, token, date(2026, 9, 30), MARK, id=case_id, mark=kind, day=day))[
            "caseLedgerMark"
        ]

    assert codes(await mark(office, "PERSUADED_BACK", "2026-09-10")) == ["INVALID_TRANSITION"]
    assert codes(await mark(liaison, "UNREACHABLE", "2026-09-10")) == ["FORBIDDEN"]
    unreachable = await mark(office, "UNREACHABLE", "2026-09-10")
    assert unreachable["entry"] == {"mark": "UNREACHABLE", "day": "2026-09-10", "evidence": "家访记录、村委证明",
                                    "recordedByName": "教务处"}  # fmt: skip
    assert codes(await mark(office, "UNREACHABLE", "2026-09-11")) == ["DUPLICATE"]
    assert codes(await mark(office, "CONFIRMED_DROPOUT", "2026-09-09")) == ["INVALID"]  # before the last line
    assert (await mark(office, "CONFIRMED_DROPOUT", "2026-09-14"))["case"]["status"] == "OPEN"

    school = gid("Unit", pupil.school_id)
    lines = data_of(await call(client, office, date(2026, 9, 30), LEDGER, unit=school))["dropoutLedger"]
    mine = [n for n in lines["nodes"] if n["case"]["id"] == case_id]
    assert [(n["currentMark"], [e["mark"] for e in n["entries"]]) for n in mine] == [
        ("CONFIRMED_DROPOUT", ["UNREACHABLE", "CONFIRMED_DROPOUT"])
    ]
    yuanhucun = gid("Unit", await _unit_id("yuanhucun"))
    by_township = data_of(await call(client, township, date(2026, 9, 30), LEDGER, unit=yuanhucun))["dropoutLedger"]
    assert case_id in [n["case"]["id"] for n in by_township["nodes"]]
    elsewhere = data_of(await call(client, other_township, date(2026, 9, 30), LEDGER, unit=yuanhucun))
    assert case_id not in [n["case"]["id"] for n in elsewhere["dropoutLedger"]["nodes"]]

    # The spreadsheet: authenticated, audited, read back with calamine.
    assert (await client.get("/exports/ledger.xlsx?unit=demo-primary-1")).status_code == 401
    with clock.as_of(clock.parse_moment("2026-09-30")):
        response = await client.get(
            "/exports/ledger.xlsx", params={"unit": school}, headers={"Authorization": f"Bearer {office}"}
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    rows = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert "辍学学生工作台账" in rows[0][0]
    header = rows[1]
    assert header[:3] == ["序号", "姓名", "性别"]
    found = [r for r in rows[2:] if r[header.index("姓名")] == pupil.name]
    assert len(found) == 1
    row = found[0]
    assert row[header.index("台账状态")] == "确认辍学"
    assert row[header.index("联系不上日期")] == "2026-09-10"
    assert row[header.index("确认辍学日期")] == "2026-09-14"
    assert row[header.index("户籍乡镇")] == "园户村镇"
    assert "*" in row[header.index("身份证号")]  # masked, as everywhere
    assert await AuditEntry.filter(action=AuditAction.DOWNLOAD, operation="ledger", target="demo-primary-1").exists()
    with clock.as_of(clock.parse_moment("2026-09-30")):
        refused = await client.get(
            "/exports/ledger.xlsx", params={"unit": "education"}, headers={"Authorization": f"Bearer {office}"}
        )
    assert refused.status_code == 404

    # 劝返复学 closes the case and stays on the ledger.
    back = await mark(office, "PERSUADED_BACK", "2026-09-21")
    assert (back["entry"]["mark"], back["case"]["status"]) == ("PERSUADED_BACK", "CLOSED")
    lines = data_of(await call(client, office, date(2026, 9, 30), LEDGER, unit=school))["dropoutLedger"]
    assert [n["currentMark"] for n in lines["nodes"] if n["case"]["id"] == case_id] == ["PERSUADED_BACK"]


async def _unit_id(code: str) -> int:
    from models.units import Unit

    return (await Unit.get(code=code)).id


FACT = """
mutation($id: ID!, $kind: FactKind!) {
  factRecord(id: $id, input: {kind: $kind, source: "县残联", reason: "残疾证", disabilityKind: VISUAL}) {
    fact { kind } userErrors { code }
  }
}"""


async def test_the_disabled_persons_federation_records_the_disability_facts_it_owns(client, database) -> None:
    _, federation = await person("disabled-federation", UserRole.LIAISON, "残联联络员")
    _, women = await person("women-federation", UserRole.LIAISON, "妇联联络员")
    pupil = await new_pupil("demo-primary-2", 2, township="shitizi")
    sid = gid("Student", pupil.id)
    before = data_of(
        await call(client, federation, date(2026, 9, 7), "query($id: ID!) { node(id: $id) { id } }", id=sid)
    )
    assert before["node"] is None  # not a child it works on yet
    recorded = data_of(await call(client, federation, date(2026, 9, 7), FACT, id=sid, kind="DISABILITY"))["factRecord"]
    assert (recorded["fact"], recorded["userErrors"]) == ({"kind": "DISABILITY"}, [])
    assert codes(
        data_of(await call(client, women, date(2026, 9, 7), FACT, id=sid, kind="DISABILITY"))["factRecord"]
    ) == ["NOT_FOUND"]
