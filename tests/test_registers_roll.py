"""The school roll through the API: each movement, refusals that change nothing, the status on a day, a
transfer in the county with its confirmation and the case it opens by itself, and the graduate handover."""

from __future__ import annotations

from datetime import date

from models.users import UserRole
from tests.ladder_support import tick
from tests.registers_support import call, codes, gid, new_pupil, person
from tests.support import data_of

RECORD = """
mutation($id: ID!, $input: RollMovementRecordInput!) {
  rollMovementRecord(id: $id, input: $input) {
    movement { id kind day scope otherPlace leaveReason expectedReturn grade evidence recordedByName
               school { code } otherSchool { code } }
    userErrors { field message code }
  }
}"""
ROLL = """
query($id: ID!, $a: Date, $b: Date, $c: Date) { node(id: $id) { ... on Student {
  school { code } grade
  a: rollStatus(on: $a) b: rollStatus(on: $b) c: rollStatus(on: $c) now: rollStatus
  rollMovements { kind day }
  cases { kind status school { code } }
} } }"""
CONFIRM = """
mutation($id: ID!, $day: Date) {
  transferArrivalConfirm(id: $id, input: {day: $day, evidence: "已到校报到"}) {
    movement { kind day school { code } otherSchool { code } }
    userErrors { field code }
  }
}"""
INCOMING = """
query($code: String!) { unit(code: $code) { incomingTransfers { id day arrivalCase { kind } } } }"""
MY_TASKS = """
query { tasks(first: 50, filter: {status: [OPEN, DONE]}) { nodes { title status assigneeRole dueDate } } }"""


def movement(kind: str, day: str, **extra: object) -> dict[str, object]:
    return {"kind": kind, "day": day, "evidence": "学籍异动审批表", **extra}


async def test_each_movement_the_refusals_and_the_status_on_any_day(client, database) -> None:
    _, office = await person("demo-nine-year-1", UserRole.SCHOOL_OFFICE, "教务处")
    _, teacher = await person("demo-nine-year-1", UserRole.LIAISON, "联络员")
    pupil = await new_pupil("demo-nine-year-1", 4, township="wugongtai")
    sid = gid("Student", pupil.id)
    today = date(2026, 9, 30)

    async def record(token: str = office, **fields: object) -> dict:
        return data_of(await call(client, token, today, RECORD, id=sid, input=fields))["rollMovementRecord"]

    async def roll(a: str, b: str, c: str) -> dict:
        return data_of(await call(client, office, today, ROLL, id=sid, a=a, b=b, c=c))["node"]

    refused = await record(**movement("RESUME", "2026-09-01"))
    assert (refused["movement"], codes(refused)) == (None, ["ROLL_CONFLICT"])
    assert "复学" in refused["userErrors"][0]["message"]
    assert codes(await record(**movement("SUSPEND", "2026-09-07"))) == ["REQUIRED"]  # expected return date
    assert codes(await record(teacher, **movement("SUSPEND", "2026-09-07", expectedReturn="2026-10-12"))) == [
        "FORBIDDEN"
    ]
    assert codes(await record(**movement("SUSPEND", "2026-10-07", expectedReturn="2026-10-12"))) == ["INVALID"]
    assert (await roll("2026-09-01", "2026-09-02", "2026-09-03"))["rollMovements"] == []  # nothing changed

    suspended = await record(**movement("SUSPEND", "2026-09-07", expectedReturn="2026-10-12"))
    assert suspended["userErrors"] == []
    assert suspended["movement"]["expectedReturn"] == "2026-10-12"
    assert suspended["movement"]["recordedByName"] == "教务处"
    assert codes(await record(**movement("SUSPEND", "2026-09-08", expectedReturn="2026-10-12"))) == ["ROLL_CONFLICT"]
    assert codes(await record(**movement("RESUME", "2026-09-01"))) == ["INVALID"]  # before the last movement
    assert (await record(**movement("RESUME", "2026-09-21")))["userErrors"] == []
    out = await record(
        **movement("TRANSFER_OUT", "2026-09-28", scope="OTHER_PROVINCE", otherPlace="甘肃省某县第一小学")
    )
    assert out["movement"]["otherPlace"] == "甘肃省某县第一小学"
    second = await record(**movement("TRANSFER_OUT", "2026-09-29", scope="OTHER_COUNTY", otherPlace="昌吉市第二小学"))
    assert (second["movement"], codes(second)) == (None, ["ROLL_CONFLICT"])

    seen = await roll("2026-09-06", "2026-09-14", "2026-09-25")
    assert (seen["a"], seen["b"], seen["c"], seen["now"]) == ("ENROLLED", "SUSPENDED", "ENROLLED", "TRANSFERRED_OUT")
    assert [m["kind"] for m in seen["rollMovements"]] == ["SUSPEND", "RESUME", "TRANSFER_OUT"]

    # Graduation, then leaving for good; nothing fits after that.
    leaver = await new_pupil("demo-nine-year-1", 9, township="wugongtai")
    sid = gid("Student", leaver.id)
    assert (await record(**movement("GRADUATE", "2026-09-10")))["userErrors"] == []
    assert codes(await record(**movement("LEAVE", "2026-09-11"))) == ["REQUIRED"]  # the reason
    left = await record(**movement("LEAVE", "2026-09-11", leaveReason="EMIGRATION"))
    assert left["movement"]["leaveReason"] == "EMIGRATION"
    assert codes(await record(**movement("SUSPEND", "2026-09-12", expectedReturn="2026-10-12"))) == ["ROLL_CONFLICT"]
    assert codes(await record(**movement("GRADUATE", "2026-09-12"))) == ["ROLL_CONFLICT"]
    seen = await roll("2026-09-09", "2026-09-10", "2026-09-11")
    assert (seen["a"], seen["b"], seen["c"]) == ("ENROLLED", "GRADUATED", "LEFT")

    # 升学 to the next school: the pupil is on its roll, a grade up.
    climber = await new_pupil("demo-nine-year-1", 9, township="wugongtai")
    sid = gid("Student", climber.id)
    high = gid("Unit", (await new_pupil("demo-high-1", 10)).school_id)
    up = await record(**movement("PROMOTE", "2026-09-01", otherSchoolId=high))
    assert (up["movement"]["school"]["code"], up["movement"]["otherSchool"]["code"], up["movement"]["grade"]) == (
        "demo-high-1",
        "demo-nine-year-1",
        10,
    )


async def test_a_transfer_in_the_county_is_confirmed_or_opens_a_case_after_the_policys_school_days(
    client, database
) -> None:
    _, sender = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "转出校教务处")
    _, receiver = await person("demo-primary-2", UserRole.SCHOOL_OFFICE, "转入校教务处")
    late, prompt = await new_pupil("demo-primary-1", 3), await new_pupil("demo-primary-1", 3)
    to_primary_2 = gid("Unit", (await new_pupil("demo-primary-2", 1)).school_id)
    day = date(2026, 9, 7)  # Monday; five school days later is Monday 14 September
    for pupil in (late, prompt):
        out = data_of(await call(client, sender, day, RECORD, id=gid("Student", pupil.id),
                                 input=movement("TRANSFER_OUT", day.isoformat(), scope="IN_COUNTY",
                                                otherSchoolId=to_primary_2)))["rollMovementRecord"]  # fmt: skip
        assert out["userErrors"] == [] and out["movement"]["otherSchool"]["code"] == "demo-primary-2"
    again = data_of(await call(client, sender, day, RECORD, id=gid("Student", late.id),
                               input=movement("TRANSFER_OUT", day.isoformat(), scope="IN_COUNTY",
                                              otherSchoolId=to_primary_2)))["rollMovementRecord"]  # fmt: skip
    assert codes(again) == ["ROLL_CONFLICT"]

    # The receiving school has a task per pupil to confirm the arrival, and the list of incoming transfers.
    tasks = data_of(await call(client, receiver, day, MY_TASKS))["tasks"]["nodes"]
    mine = [
        t
        for t in tasks
        if t["title"].startswith("确认转入学生") and (late.name in t["title"] or prompt.name in t["title"])
    ]
    assert sorted(t["dueDate"] for t in mine) == ["2026-09-14", "2026-09-14"]
    incoming = data_of(await call(client, receiver, day, INCOMING, code="demo-primary-2"))["unit"]["incomingTransfers"]
    ids = [m["id"] for m in incoming][-2:]
    late_transfer, prompt_transfer = ids
    assert data_of(await call(client, sender, day, INCOMING, code="demo-primary-2"))["unit"]["incomingTransfers"] == []

    # Only the receiving school confirms; once.
    not_theirs = data_of(await call(client, sender, day, CONFIRM, id=prompt_transfer, day="2026-09-09"))
    assert codes(not_theirs["transferArrivalConfirm"]) == ["FORBIDDEN"]
    confirmed = data_of(await call(client, receiver, date(2026, 9, 9), CONFIRM, id=prompt_transfer, day="2026-09-09"))
    assert confirmed["transferArrivalConfirm"]["movement"] == {
        "kind": "TRANSFER_IN",
        "day": "2026-09-09",
        "school": {"code": "demo-primary-2"},
        "otherSchool": {"code": "demo-primary-1"},
    }
    twice = data_of(await call(client, receiver, date(2026, 9, 9), CONFIRM, id=prompt_transfer))
    assert codes(twice["transferArrivalConfirm"]) == ["INVALID_TRANSITION"]
    arrived = data_of(await call(client, receiver, date(2026, 9, 9), ROLL, id=gid("Student", prompt.id),
                                 a="2026-09-08", b="2026-09-09", c="2026-09-10"))["node"]  # fmt: skip
    assert (arrived["school"]["code"], arrived["a"], arrived["b"]) == ("demo-primary-2", "TRANSFERRING", "ENROLLED")
    done = data_of(await call(client, receiver, date(2026, 9, 9), MY_TASKS))["tasks"]["nodes"]
    assert [t["status"] for t in done if prompt.name in t["title"]] == ["DONE"]

    # The other pupil is not confirmed: on the deadline nothing yet, the school day after it a case, once.
    await tick(date(2026, 9, 14))
    waiting = data_of(await call(client, sender, date(2026, 9, 14), ROLL, id=gid("Student", late.id),
                                 a="2026-09-14", b="2026-09-14", c="2026-09-14"))["node"]  # fmt: skip
    assert (waiting["now"], waiting["cases"]) == ("TRANSFERRING", [])
    await tick(date(2026, 9, 15))
    await tick(date(2026, 9, 15))
    opened = data_of(await call(client, sender, date(2026, 9, 15), ROLL, id=gid("Student", late.id),
                                a="2026-09-15", b="2026-09-15", c="2026-09-15"))["node"]  # fmt: skip
    assert opened["cases"] == [
        {"kind": "ABSENT_WITHOUT_REASON", "status": "OPEN", "school": {"code": "demo-primary-1"}}
    ]
    incoming = data_of(await call(client, receiver, date(2026, 9, 15), INCOMING, code="demo-primary-2"))
    assert incoming["unit"]["incomingTransfers"][-1] == {
        "id": late_transfer,
        "day": "2026-09-07",
        "arrivalCase": None,  # the case is the sending school's, not visible to the receiver
    }

    # The pupil turns up after all: confirming closes the case.
    data_of(await call(client, receiver, date(2026, 9, 16), CONFIRM, id=late_transfer, day="2026-09-16"))
    closed = data_of(await call(client, receiver, date(2026, 9, 16), ROLL, id=gid("Student", late.id),
                                a="2026-09-16", b="2026-09-16", c="2026-09-16"))["node"]  # fmt: skip
    assert closed["now"] == "ENROLLED"
    assert [c["status"] for c in closed["cases"]] == ["CLOSED"]


PREPARE = """
mutation($school: ID!, $term: Date) {
  handoverPrepare(input: {schoolId: $school, schoolYear: "2026-2027", termStart: $term}) {
    handover { id schoolYear termStart primarySchool { code } middleSchool { code } lines { id name registeredOn } }
    userErrors { field code }
  }
}"""
ACKNOWLEDGE = """
mutation($id: ID!) {
  handoverAcknowledge(id: $id, input: {signedByName: "初中教务主任"}) {
    handover { acknowledgedAt signedByName } userErrors { code }
  }
}"""
REGISTER = """
mutation($id: ID!, $day: Date) {
  handoverRegister(id: $id, input: {day: $day}) { line { name registeredOn } userErrors { code } }
}"""
HANDOVER = """
query($id: ID!) { node(id: $id) { ... on GraduateHandover {
  before: responsibleSchool(on: "2026-09-07") { code } after: responsibleSchool(on: "2026-09-08") { code }
  lines { name registeredOn case { kind status school { code } } }
} } }"""


async def test_the_graduate_handover_its_signature_and_the_grade7_case_a_week_into_term(client, database) -> None:
    _, primary = await person("demo-primary-2", UserRole.SCHOOL_OFFICE, "小学教务处")
    _, middle = await person("demo-middle-1", UserRole.SCHOOL_OFFICE, "初中教务处")
    _, county = await person("leading-group-office", UserRole.OFFICE, "督办员")
    summer = date(2026, 7, 3)
    reporting, missing = (
        await new_pupil("demo-primary-2", 6, "shitizi"),
        await new_pupil("demo-primary-2", 6, "shitizi"),
    )
    for pupil in (reporting, missing):
        graduated = data_of(await call(client, primary, summer, RECORD, id=gid("Student", pupil.id),
                                       input=movement("GRADUATE", summer.isoformat())))  # fmt: skip
        assert graduated["rollMovementRecord"]["userErrors"] == []
    school = gid("Unit", reporting.school_id)
    middle_school = gid("Unit", (await new_pupil("demo-middle-1", 7)).school_id)

    assert codes(data_of(await call(client, middle, summer, PREPARE, school=school))["handoverPrepare"]) == [
        "FORBIDDEN"
    ]
    no_feeder = data_of(await call(client, county, summer, PREPARE, school=middle_school))["handoverPrepare"]
    assert codes(no_feeder) == ["INVALID"]
    made = data_of(await call(client, primary, summer, PREPARE, school=school))["handoverPrepare"]
    assert made["userErrors"] == []
    roster = made["handover"]
    assert (roster["termStart"], roster["middleSchool"]["code"]) == ("2026-09-01", "demo-middle-1")  # its calendar
    lines = {line["name"]: line["id"] for line in roster["lines"]}
    assert {reporting.name, missing.name} <= set(lines)
    again = data_of(await call(client, primary, summer, PREPARE, school=school))["handoverPrepare"]["handover"]
    assert (again["id"], len(again["lines"])) == (roster["id"], len(roster["lines"]))  # twice adds nothing

    assert codes(data_of(await call(client, primary, summer, ACKNOWLEDGE, id=roster["id"]))["handoverAcknowledge"]) == [
        "WRONG_SCHOOL"
    ]
    signed = data_of(await call(client, middle, summer, ACKNOWLEDGE, id=roster["id"]))["handoverAcknowledge"]
    assert signed["handover"]["signedByName"] == "初中教务主任"
    assert codes(data_of(await call(client, middle, summer, ACKNOWLEDGE, id=roster["id"]))["handoverAcknowledge"]) == [
        "INVALID_TRANSITION"
    ]
    view = data_of(await call(client, middle, summer, HANDOVER, id=roster["id"]))["node"]
    assert (view["before"]["code"], view["after"]["code"]) == ("demo-primary-2", "demo-middle-1")

    registered = data_of(
        await call(client, middle, date(2026, 9, 2), REGISTER, id=lines[reporting.name], day="2026-09-02")
    )
    assert registered["handoverRegister"]["line"]["registeredOn"] == "2026-09-02"
    on_roll = data_of(await call(client, middle, date(2026, 9, 2), ROLL, id=gid("Student", reporting.id),
                                 a="2026-09-01", b="2026-09-02", c="2026-09-02"))["node"]  # fmt: skip
    assert (on_roll["school"]["code"], on_roll["grade"], on_roll["a"], on_roll["b"]) == (
        "demo-middle-1", 7, "GRADUATED", "ENROLLED",
    )  # fmt: skip

    # The first week of term the primary school answers; after it a case opens at the middle school, once.
    await tick(date(2026, 9, 7))
    view = data_of(await call(client, middle, date(2026, 9, 7), HANDOVER, id=roster["id"]))["node"]
    assert [line["case"] for line in view["lines"] if line["name"] == missing.name] == [None]
    await tick(date(2026, 9, 8))
    await tick(date(2026, 9, 8))
    view = data_of(await call(client, middle, date(2026, 9, 8), HANDOVER, id=roster["id"]))["node"]
    cases = {line["name"]: line["case"] for line in view["lines"]}
    assert cases[missing.name] == {"kind": "GRADE7_NOT_REPORTED", "status": "OPEN", "school": {"code": "demo-middle-1"}}
    assert cases[reporting.name] is None

    # The graduate reports late: registering closes the case.
    data_of(await call(client, middle, date(2026, 9, 9), REGISTER, id=lines[missing.name], day="2026-09-09"))
    view = data_of(await call(client, middle, date(2026, 9, 9), HANDOVER, id=roster["id"]))["node"]
    assert [line["case"]["status"] for line in view["lines"] if line["name"] == missing.name] == ["CLOSED"]
