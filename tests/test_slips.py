"""Small contract slips, mended: userErrors name the argument, the calendar after generating, Chinese messages."""

from __future__ import annotations

import re

from api.ids import global_id
from models.users import UserRole
from tests.ladder_support import demo_student
from tests.support import data_of, gql, sign_in

ABSENCE = """mutation($id: ID!) {
  absenceRecord(id: $id, input: {day: "2026-09-01"}) { case { id } userErrors { field code message } }
}"""
ACK = """mutation($id: ID!) {
  reportReceiptAcknowledge(id: $id, input: {receiverName: "王股长", receiverContact: "13900000000"}) {
    routing { id } userErrors { field code message }
  }
}"""
GENERATE = """mutation($year: String!) {
  dutyCalendarGenerate(input: {schoolYear: $year}) { created calendar { total toCreate } userErrors { field } }
}"""
GENERATE_WITH_MESSAGE = """mutation($year: String!) {
  dutyCalendarGenerate(input: {schoolYear: $year}) { created userErrors { field message } }
}"""
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def chinese_with_gloss(message: str) -> bool:
    return bool(CHINESE.search(message)) and bool(re.search(r"\([A-Za-z][^)]*\)", message))


async def test_user_errors_name_the_argument_the_client_sent(client) -> None:
    outsider = await sign_in("police")
    student = await demo_student()

    absence = data_of(await gql(client, ABSENCE, {"id": global_id("Student", student.id)}, outsider))
    acknowledged = data_of(await gql(client, ACK, {"id": global_id("ReportRouting", 987654)}, outsider))

    assert absence["absenceRecord"]["userErrors"][0]["field"] == "id"
    assert absence["absenceRecord"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert acknowledged["reportReceiptAcknowledge"]["userErrors"][0]["field"] == "id"


async def test_generating_the_calendar_returns_it_as_it_is_afterwards(client) -> None:
    office = await sign_in("leading-group-office", UserRole.OFFICE)

    generated = data_of(await gql(client, GENERATE, {"year": "2026-2027"}, office))["dutyCalendarGenerate"]

    assert generated["userErrors"] == []
    assert generated["created"] > 0
    assert generated["calendar"] == {"total": generated["created"], "toCreate": 0}


async def test_messages_a_client_sees_are_chinese_with_an_english_gloss(client) -> None:
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    asked = {
        "first": "{ units(first: 101) { totalCount } }",
        "after": '{ units(first: 5, after: "not-a-cursor") { totalCount } }',
        "school year": '{ dutyCalendarPreview(schoolYear: "2026") { total } }',
        "id": '{ duties(ownerUnitId: "nonsense") { totalCount } }',
    }
    for what, query in asked.items():
        answer = await gql(client, query, None, office)
        message = answer["errors"][0]["message"]
        assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (what, answer)
        assert chinese_with_gloss(message), (what, message)
    refused = data_of(await gql(client, GENERATE_WITH_MESSAGE, {"year": "2026"}, office))["dutyCalendarGenerate"]
    assert refused["userErrors"][0]["field"] == "schoolYear"
    assert chinese_with_gloss(refused["userErrors"][0]["message"]), refused
