"""After a failed collective visit: the triplicate report, its receivers, the return, a reopening."""

from __future__ import annotations

from datetime import date

from models.users import UserRole
from tests.ladder_support import CASE_FIELDS, case_on, demo_student, open_tasks, record_absence, run, tick
from tests.security_support import office_token
from tests.support import sign_in, sign_in_head_teacher

ADD_RECORD = """
mutation($id: ID!, $kind: PersuasionKind!, $result: PersuasionResult!) {
  persuasionRecordAdd(id: $id, input: {kind: $kind, result: $result, persuaders: "校长、村委会主任",
      process: "到家中劝学，家长不同意返校", parentsAttitude: "不配合"}) {
    persuasionRecord { id kind result documentUrl }
    userErrors { field code message }
  }
}"""

FILE_REPORT = """
mutation($id: ID!) {
  dropoutReportFile(id: $id, input: {situation: "家长外出务工，学生在家", contactPerson: "【演示】校长甲",
      contactPhone: "0994-0000000"}) {
    report { id persuasionCount routing { id receiver { code } } }
    userErrors { field code message }
  }
}"""

ACK = """
mutation($id: ID!) {
  reportReceiptAcknowledge(id: $id, input: {receiverName: "王股长", receiverContact: "13900000000"}) {
    routing { receivedAt receiverName }
    userErrors { code }
  }
}"""

RESULT = """
mutation($id: ID!) {
  reportResultRecord(id: $id, input: {result: "已联合乡镇上门劝返"}) { routing { result } userErrors { code } }
}"""

RETURN = (
    """
mutation($id: ID!, $day: Date) {
  attendanceReturn(id: $id, input: {day: $day, evidence: "9月10日已到校上课，班主任确认"}) {
    case { ...CaseFields }
    userErrors { code field }
  }
}"""
    + CASE_FIELDS
)

REOPEN = (
    """
mutation($id: ID!, $day: Date) {
  caseReopen(id: $id, input: {day: $day, reason: "再次无故缺勤"}) { case { ...CaseFields } userErrors { code } }
}"""
    + CASE_FIELDS
)


async def _case_at_day_three(client, school_token: str) -> dict:
    student = await demo_student()
    case = (await record_absence(client, school_token, student, date(2026, 9, 1)))["case"]
    await tick(date(2026, 9, 3))
    return case


async def test_failed_collective_visit_calls_for_the_report_and_it_reaches_three_queues(client) -> None:
    school = await sign_in("demo-primary-1", UserRole.PRINCIPAL)
    case = await _case_at_day_three(client, school)

    early = await run(client, school, date(2026, 9, 3), FILE_REPORT, id=case["id"])
    assert early["dropoutReportFile"]["userErrors"][0]["code"] == "INVALID_TRANSITION"

    added = await run(
        client, school, date(2026, 9, 3), ADD_RECORD, id=case["id"], kind="COLLECTIVE_HOME_VISIT", result="FAILED"
    )
    assert added["persuasionRecordAdd"]["userErrors"] == []
    after_visit = await case_on(client, school, case["id"], date(2026, 9, 3))
    assert after_visit["stage"] == "REPORT_DUE"
    assert any("填报" in t["title"] and t["assigneeRole"] == "SCHOOL_OFFICE" for t in open_tasks(after_visit))

    filed = (await run(client, school, date(2026, 9, 4), FILE_REPORT, id=case["id"]))["dropoutReportFile"]
    assert filed["userErrors"] == []
    receivers = sorted(r["receiver"]["code"] for r in filed["report"]["routing"])
    assert receivers == ["dafeng", "education-section", "supervision"]
    reported = await case_on(client, school, case["id"], date(2026, 9, 4))
    assert reported["stage"] == "REPORTED"
    assert not any("填报" in t["title"] for t in open_tasks(reported))

    # Each receiver finds its own acknowledgement task in its queue.
    for code in receivers:
        token = await sign_in(code)
        queue = await run(client, token, date(2026, 9, 4), "{ viewer { taskQueue { nodes { title case { id } } } } }")
        titles = [
            t["title"] for t in queue["viewer"]["taskQueue"]["nodes"] if t["case"] and t["case"]["id"] == case["id"]
        ]
        assert any("签收" in t for t in titles), (code, titles)
    supervision_queue = await run(
        client, await sign_in("supervision"), date(2026, 9, 4), "{ viewer { taskQueue { nodes { title } } } }"
    )
    assert any("对接大丰镇" in t["title"] for t in supervision_queue["viewer"]["taskQueue"]["nodes"])

    # The township acknowledges, then gets a task to record the result, and records it.
    township = await sign_in("dafeng")
    routing_id = next(r["id"] for r in filed["report"]["routing"] if r["receiver"]["code"] == "dafeng")
    ack = await run(client, township, date(2026, 9, 4), ACK, id=routing_id)
    assert ack["reportReceiptAcknowledge"]["routing"]["receiverName"] == "王股长"
    again = await run(client, township, date(2026, 9, 4), ACK, id=routing_id)
    assert again["reportReceiptAcknowledge"]["userErrors"][0]["code"] == "INVALID_TRANSITION"
    with_result_task = await case_on(client, await office_token(), case["id"], date(2026, 9, 4))
    assert any("处理结果" in t["title"] and t["assigneeUnit"]["code"] == "dafeng" for t in open_tasks(with_result_task))
    recorded = await run(client, township, date(2026, 9, 7), RESULT, id=routing_id)
    assert recorded["reportResultRecord"]["routing"]["result"] == "已联合乡镇上门劝返"

    # Another unit may not acknowledge the township's copy.
    outsider = await sign_in("police")
    refused = await run(client, outsider, date(2026, 9, 4), ACK, id=routing_id)
    assert refused["reportReceiptAcknowledge"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_return_cancels_open_steps_closes_the_case_and_it_can_reopen(client) -> None:
    school = await sign_in_head_teacher()
    case = await _case_at_day_three(client, school)

    returned = (await run(client, school, date(2026, 9, 10), RETURN, id=case["id"], day="2026-09-10"))[
        "attendanceReturn"
    ]["case"]
    assert returned["status"] == "CLOSED" and returned["stage"] == "RETURNED"
    assert returned["returnedOn"] == "2026-09-10"
    assert open_tasks(returned) == []
    assert {t["status"] for t in returned["tasks"]} == {"CANCELLED"}
    assert returned["absenceDays"] == 7  # 1-4 and 7-9 September
    assert returned["timeline"][-1]["action"] == "RETURNED"

    await tick(date(2026, 9, 14))
    still_closed = await case_on(client, school, case["id"], date(2026, 9, 14))
    assert len(still_closed["tasks"]) == 6, "a closed case gets no new steps"

    principal = await sign_in("demo-primary-1", UserRole.PRINCIPAL)
    refused = await run(client, school, date(2026, 9, 15), REOPEN, id=case["id"], day="2026-09-15")
    assert refused["caseReopen"]["userErrors"] == [{"code": "FORBIDDEN"}], "a head teacher does not reopen cases"
    reopened = (await run(client, principal, date(2026, 9, 15), REOPEN, id=case["id"], day="2026-09-15"))["caseReopen"][
        "case"
    ]
    assert reopened["status"] == "OPEN" and reopened["absentSince"] == "2026-09-15"
    reopened = await case_on(client, school, case["id"], date(2026, 9, 15))  # the worker has run by now
    titles = [t["title"] for t in open_tasks(reopened)]
    assert len(titles) == 1 and titles[0].startswith("第1天")
    assert [e["action"] for e in reopened["timeline"]].count("REOPENED") == 1


async def test_a_week_absent_names_a_follow_up_and_escalates_level_by_level(client) -> None:
    school = await sign_in("demo-primary-1", UserRole.PRINCIPAL)
    case = await _case_at_day_three(client, school)

    await tick(date(2026, 9, 7))  # day 5
    week = await case_on(client, await office_token(), case["id"], date(2026, 9, 7))
    assert week["escalationLevel"] == 1
    assert {t["assigneeUnit"]["code"] for t in open_tasks(week)} >= {"demo-primary-1", "education-section"}

    follow = await run(
        client,
        school,
        date(2026, 9, 7),
        'mutation($id: ID!) { caseFollowUpAssign(id: $id, input: {name: "【演示】李老师", phone: "139"}) '
        "{ case { id } userErrors { code } } }",
        id=case["id"],
    )
    assert follow["caseFollowUpAssign"]["userErrors"] == []
    await tick(date(2026, 9, 14))  # day 10
    await tick(date(2026, 9, 21))  # day 15
    later = await case_on(client, await office_token(), case["id"], date(2026, 9, 21))
    assert later["escalationLevel"] == 3
    units = {t["assigneeUnit"]["code"] for t in later["tasks"]}
    assert {"supervision", "leading-group-office"} <= units
    assert [e["action"] for e in later["timeline"]].count("ESCALATED") == 3
