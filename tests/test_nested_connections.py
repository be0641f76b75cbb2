"""The lists under an object made connections after the first eleven (issue 13): a school's handover rosters and
incoming transfers, a roster's lines, a resident's history, a person's memberships, a case's absences and a
pupil's roll movements; then a household's guardians, a household page's lines, a ledger line's entries, a
digest's reminders and escalations and a duty's units not done. Each is paged two at a time to its end as a role
that may see it and must give the rows of its deprecated plain list in the same order; a role that may not see
it gets nothing.
"""

from __future__ import annotations

import base64
from datetime import date, timedelta
from typing import Any

import httpx
import orjson

from models import clock
from models.cases import Absence, Case, CaseKind
from models.children import Gender, Guardian, GuardianRelation, Student
from models.duties import Duty
from models.population import CensusBook, CensusLine, CensusPage, Resident, ResidentVersion, VillageGroup
from models.registers import (
    GraduateHandover,
    HandoverLine,
    LedgerEntry,
    LedgerMark,
    MovementKind,
    RollMovement,
    TransferScope,
)
from models.rules import Digest
from models.tasks import Task, TaskKind, TaskStatus
from models.units import Unit
from models.users import UserRole
from tests.registers_support import gid, new_pupil, person
from tests.support import DEMO_PRIMARY_PUPILS, gql, sign_in_head_teacher


async def walked_like_plain(
    client: httpx.AsyncClient, token: str, query: str, path: list[str | int], plain: str, **variables: Any
) -> list[Any]:
    """The connection at `path` walked (see walked), and checked to hold what the plain list `plain` beside it
    holds, asked once whole."""
    rows = await walked(client, token, query, path, **variables)
    parent = (await gql(client, query, variables, token))["data"]
    for key in path[:-1]:
        parent = parent[key]
    assert rows == parent[plain]
    return rows


async def hidden_from(client: httpx.AsyncClient, token: str, query: str, **variables: Any) -> None:
    """The parent the query opens on is not shown to `token`'s user, connection and all."""
    assert (await gql(client, query, {**variables, "first": 2}, token))["data"]["node"] is None


async def walked(
    client: httpx.AsyncClient, token: str, query: str, path: list[str | int], **variables: Any
) -> list[Any]:
    """Every node of the connection at `path`, two a page, following endCursor; totalCount checked on each page."""
    nodes: list[Any] = []
    after: str | None = None
    while True:
        result = await gql(client, query, {**variables, "first": 2, "after": after}, token)
        assert "errors" not in result, result["errors"]
        page = result["data"]
        for key in path:
            page = page[key]
        assert [e["node"] for e in page["edges"]] == page["nodes"]
        nodes.extend(page["nodes"])
        total, info = page["totalCount"], page["pageInfo"]
        assert info["hasPreviousPage"] == (after is not None)
        if not info["hasNextPage"]:
            assert total == len(nodes)
            return nodes
        after = info["endCursor"]
        assert after == page["edges"][-1]["cursor"] and len(page["nodes"]) == 2


def connection(name: str, fields: str) -> str:
    return (
        f"{name}(first: $first, after: $after) {{ totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor }}"
        f" edges {{ cursor node {{ {fields} }} }} nodes {{ {fields} }} }}"
    )


def asked(head: str, plain: str, name: str, fields: str) -> str:
    """`head` opens the query down to the parent; the plain list and its connection are asked side by side."""
    return head + f" {plain} {{ {fields} }} " + connection(name, fields) + " } } }"


UNIT_HEAD = "query($code: String!, $first: Int, $after: String) { unit(code: $code) { ... on Unit { __typename"
INCOMING = asked(UNIT_HEAD, "incomingTransfers", "incomingTransfersConnection", "id day")
HANDOVERS = asked(UNIT_HEAD, "handovers", "handoversConnection", "id schoolYear")


def node_head(type_name: str) -> str:
    return "query($id: ID!, $first: Int, $after: String) { node(id: $id) { ... on " + type_name + " { __typename"


async def transfer(pupil_school: str, to: Unit, day: date) -> RollMovement:
    pupil = await new_pupil(pupil_school, 3)
    return await RollMovement.create(
        student=pupil, kind=MovementKind.TRANSFER_OUT, day=day, school_id=pupil.school_id,
        scope=TransferScope.IN_COUNTY, other_school=to, evidence="转学审批表", recorded_at=clock.now(),
    )  # fmt: skip


async def test_a_schools_incoming_transfers_page_by_day_and_id_for_that_school_only(client, database) -> None:
    receiver_school = await Unit.get(code="demo-primary-2")
    _, receiver = await person("demo-primary-2", UserRole.SCHOOL_OFFICE, "转入校教务处")
    _, sender = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "转出校教务处")
    _, office = await person("leading-group-office", UserRole.OFFICE, "办公室")
    # Created latest day first: the list is by day, then by id within a day.
    later = await transfer("demo-primary-1", receiver_school, date(2026, 9, 9))
    first_a = await transfer("demo-primary-1", receiver_school, date(2026, 9, 7))
    first_b = await transfer("demo-primary-1", receiver_school, date(2026, 9, 7))
    confirmed = await transfer("demo-primary-1", receiver_school, date(2026, 9, 8))
    await RollMovement.filter(id=confirmed.id).update(arrival_confirmed_at=clock.now())

    for token in (receiver, office):
        path = ["unit", "incomingTransfersConnection"]
        walked_rows = await walked_like_plain(client, token, INCOMING, path, "incomingTransfers", code="demo-primary-2")
        ours = [r for r in walked_rows if r["id"] in {gid("RollMovement", m.id) for m in (later, first_a, first_b)}]
        assert ours == [
            {"id": gid("RollMovement", first_a.id), "day": "2026-09-07"},
            {"id": gid("RollMovement", first_b.id), "day": "2026-09-07"},
            {"id": gid("RollMovement", later.id), "day": "2026-09-09"},
        ]
        assert gid("RollMovement", confirmed.id) not in {r["id"] for r in walked_rows}
    theirs = await gql(client, INCOMING, {"code": "demo-primary-2", "first": 2}, sender)
    assert theirs["data"]["unit"]["incomingTransfersConnection"]["totalCount"] == 0
    assert theirs["data"]["unit"]["incomingTransfersConnection"]["nodes"] == []


async def test_handover_rosters_and_their_lines_page_for_the_two_schools_only(client, database) -> None:
    primary, middle = await Unit.get(code="demo-primary-1"), await Unit.get(code="demo-middle-1")
    rosters = [
        await GraduateHandover.create(
            primary_school=primary,
            middle_school=middle,
            school_year=f"{year}-{year + 1}",
            term_start=date(year, 9, 1),
            created_at=clock.now(),
        )
        for year in (2024, 2025, 2026)
    ]
    pupils = [await new_pupil("demo-primary-1", 6) for _ in range(3)]
    lines = [await HandoverLine.create(handover=rosters[-1], student=p) for p in pupils]
    _, sending = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "小学教务处")
    _, receiving = await person("demo-middle-1", UserRole.SCHOOL_OFFICE, "初中教务处")
    _, elsewhere = await person("demo-primary-2", UserRole.SCHOOL_OFFICE, "别校教务处")
    ours = {gid("GraduateHandover", r.id) for r in rosters}

    for token, code in ((sending, "demo-primary-1"), (receiving, "demo-middle-1")):
        path = ["unit", "handoversConnection"]
        walked_rows = await walked_like_plain(client, token, HANDOVERS, path, "handovers", code=code)
        assert [r["schoolYear"] for r in walked_rows if r["id"] in ours] == ["2026-2027", "2025-2026", "2024-2025"]
    theirs = await gql(client, HANDOVERS, {"code": "demo-primary-1", "first": 2}, elsewhere)
    assert theirs["data"]["unit"]["handoversConnection"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
        "edges": [],
        "nodes": [],
    }

    roster = asked(node_head("GraduateHandover"), "lines", "linesConnection", "id name")
    roster_id = gid("GraduateHandover", rosters[-1].id)
    for token in (sending, receiving):
        walked_rows = await walked_like_plain(client, token, roster, ["node", "linesConnection"], "lines", id=roster_id)
        assert [r["id"] for r in walked_rows] == [gid("HandoverLine", line.id) for line in lines]
    await hidden_from(client, elsewhere, roster, id=roster_id)


async def test_a_cases_absences_and_a_pupils_movements_page_by_day_with_the_day_in_the_cursor(client, database) -> None:
    pupil = await new_pupil("demo-primary-1", 4)
    school, township = await Unit.get(code="demo-primary-1"), await Unit.get(code="dafeng")
    case = await Case.create(
        student=pupil, kind=CaseKind.ABSENT_WITHOUT_REASON, school=school, township=township,
        absent_since=date(2026, 9, 1), opened_at=clock.now(),
    )  # fmt: skip
    days = [date(2026, 9, 4), date(2026, 9, 1), date(2026, 9, 3), date(2026, 9, 2), date(2026, 9, 7)]
    for day in days:
        await Absence.create(student=pupil, case=case, day=day, note=f"缺勤{day.day}", recorded_at=clock.now())
    for day in (date(2026, 9, 10), date(2026, 9, 3), date(2026, 9, 3)):
        await RollMovement.create(
            student=pupil,
            kind=MovementKind.SUSPEND,
            day=day,
            school=school,
            evidence="休学申请",
            recorded_at=clock.now(),
        )
    _, office = await person("leading-group-office", UserRole.OFFICE, "办公室")
    _, own_school = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    _, other_school = await person("demo-middle-1", UserRole.SCHOOL_OFFICE, "别校教务处")

    absences = asked(node_head("Case"), "absences", "absencesConnection", "day note")
    case_id = gid("Case", case.id)
    for token in (office, own_school):
        path = ["node", "absencesConnection"]
        walked_rows = await walked_like_plain(client, token, absences, path, "absences", id=case_id)
        assert [r["day"] for r in walked_rows] == sorted(d.isoformat() for d in days)
    await hidden_from(client, other_school, absences, id=case_id)

    movements = asked(node_head("Student"), "rollMovements", "rollMovementsConnection", "id day")
    pupil_id = gid("Student", pupil.id)
    for token in (office, own_school):
        path = ["node", "rollMovementsConnection"]
        walked_rows = await walked_like_plain(client, token, movements, path, "rollMovements", id=pupil_id)
        assert [r["day"] for r in walked_rows] == ["2026-09-03", "2026-09-03", "2026-09-10"]
    await hidden_from(client, other_school, movements, id=pupil_id)

    # A cursor holding a moment where the list is ordered by a day is refused in one line.
    forged = base64.urlsafe_b64encode(orjson.dumps([{"dt": "2026-09-03T00:00:00+00:00"}, 1])).decode()
    refused = await gql(client, absences, {"id": case_id, "first": 2, "after": forged}, office)
    assert refused["data"] is None or refused["data"]["node"] is None
    assert "\n" not in refused["errors"][0]["message"] and "after:" in refused["errors"][0]["message"]


async def test_a_residents_history_and_a_persons_memberships_page(client, database) -> None:
    town = await Unit.get(code="shitizi")
    resident = await Resident.create(
        citizen_id="652323201505050011", name="居民", gender=Gender.MALE, birth_date=date(2015, 5, 5), township=town,
        source="police", as_of=date(2026, 7, 31),
    )  # fmt: skip
    for version in (3, 1, 2):
        await ResidentVersion.create(
            resident=resident, version=version, source="police", as_of=date(2026, 7, 31) - timedelta(days=version),
            data={}, changed=["name"], recorded_at=clock.now(),
        )  # fmt: skip
    _, township = await person("shitizi", UserRole.LIAISON, "乡镇联络员")
    _, other_township = await person("dafeng", UserRole.LIAISON, "别乡镇联络员")
    history = asked(node_head("Resident"), "history", "historyConnection", "version source")
    resident_id = gid("Resident", resident.id)
    path = ["node", "historyConnection"]
    walked_rows = await walked_like_plain(client, township, history, path, "history", id=resident_id)
    assert [r["version"] for r in walked_rows] == [1, 2, 3]
    await hidden_from(client, other_township, history, id=resident_id)

    members = (
        'query($first: Int, $after: String) { unit(code: "leading-group-office") {'
        " membersConnection(first: 1) { nodes { person { memberships { role unit { code } } "
        + connection("membershipsConnection", "role unit { code }")
        + " } } } } }"
    )
    path = ["unit", "membersConnection", "nodes"]
    first_page = (await gql(client, members, {"first": 2}, township))["data"]
    for key in path:
        first_page = first_page[key]
    assert first_page, "the office has members"
    nodes: list[Any] = []
    after = None
    while True:
        page = (await gql(client, members, {"first": 2, "after": after}, township))["data"]["unit"]
        person_page = page["membersConnection"]["nodes"][0]["person"]
        nodes.extend(person_page["membershipsConnection"]["nodes"])
        if not person_page["membershipsConnection"]["pageInfo"]["hasNextPage"]:
            break
        after = person_page["membershipsConnection"]["pageInfo"]["endCursor"]
    assert nodes == person_page["memberships"]
    assert person_page["membershipsConnection"]["totalCount"] == len(nodes)
    anonymous = await gql(client, members, {"first": 2})
    assert anonymous["data"] is None or anonymous["data"]["unit"] is None
    assert anonymous["errors"]


async def test_a_households_guardians_page_with_phones_masked_as_the_plain_list_masks_them(client, database) -> None:
    pupil = await new_pupil("demo-primary-1", 3)
    phones = [f"1391234567{i}" for i in range(5)]
    relations = [GuardianRelation.MOTHER, GuardianRelation.FATHER, GuardianRelation.OTHER]
    guardians = [
        await Guardian.create(household_id=pupil.household_id, relation=relations[i % 3], name=f"监护人{i}", phone=p)
        for i, p in enumerate(phones)
    ]
    _, own_school = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    _, office = await person("leading-group-office", UserRole.OFFICE, "办公室")
    _, other_school = await person("demo-middle-1", UserRole.SCHOOL_OFFICE, "别校教务处")
    fields = "relation name phone occupation"
    query = (
        node_head("Student")
        + f" household {{ guardians {{ {fields} }} {connection('guardiansConnection', fields)} }} }} }} }}"
    )
    pupil_id = gid("Student", pupil.id)

    for token, whole in ((own_school, True), (office, False)):  # the office reveals phones on the record only
        path = ["node", "household", "guardiansConnection"]
        walked_rows = await walked_like_plain(client, token, query, path, "guardians", id=pupil_id)
        assert [r["name"] for r in walked_rows] == [g.name for g in guardians]
        assert ([r["phone"] for r in walked_rows] == phones) is whole
    await hidden_from(client, other_school, query, id=pupil_id)


async def test_a_household_pages_lines_page_in_the_sheets_order(client, database) -> None:
    school = await Unit.get(code="demo-primary-1")
    group = await VillageGroup.create(village=await Unit.get(code="demo-dafeng-v1"), name="三组", school=school)
    book = await CensusBook.create(year=2026, village_group=group, school=school)
    page = await CensusPage.create(book=book, household_number="0007", head_name="户主", position=1)
    other_page = await CensusPage.create(book=book, household_number="0008", head_name="邻居", position=2)
    for position, name in ((3, "丙"), (1, "甲"), (2, "乙"), (1, "甲二"), (5, "戊")):
        await CensusLine.create(
            page=page, book=book, position=position, citizen_id=f"6523232016010100{position}{len(name)}",
            name=name, gender=Gender.MALE, birth_date=date(2016, 1, 1),
        )  # fmt: skip
    await CensusLine.create(
        page=other_page, book=book, position=1, citizen_id="652323201601019999", name="邻家孩子",
        gender=Gender.FEMALE, birth_date=date(2016, 1, 1),
    )  # fmt: skip
    _, own_school = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    _, township = await person("dafeng", UserRole.LIAISON, "乡镇联络员")
    _, other_school = await person("demo-primary-2", UserRole.SCHOOL_OFFICE, "别校教务处")
    fields = "position name citizenId"
    query = (
        node_head("HouseholdBook")
        + f" pages(first: 1) {{ nodes {{ lines {{ {fields} }} {connection('linesConnection', fields)} }} }} }} }} }}"
    )
    book_id = gid("HouseholdBook", book.id)
    for token in (own_school, township):
        path = ["node", "pages", "nodes", 0, "linesConnection"]
        walked_rows = await walked_like_plain(client, token, query, path, "lines", id=book_id)
        assert [r["name"] for r in walked_rows] == ["甲", "甲二", "乙", "丙", "戊"]
    await hidden_from(client, other_school, query, id=book_id)


async def test_a_ledger_lines_entries_page_oldest_first_for_those_who_see_the_case(client, database) -> None:
    pupil = await new_pupil("demo-primary-1", 5)
    school, township = await Unit.get(code="demo-primary-1"), await Unit.get(code="dafeng")
    case = await Case.create(
        student=pupil, kind=CaseKind.ABSENT_WITHOUT_REASON, school=school, township=township,
        absent_since=date(2026, 9, 1), opened_at=clock.now(),
    )  # fmt: skip
    marks = [LedgerMark.UNREACHABLE, LedgerMark.CONFIRMED_DROPOUT, LedgerMark.UNREACHABLE, LedgerMark.CONFIRMED_DROPOUT]
    marks.append(LedgerMark.PERSUADED_BACK)
    for i, mark in enumerate(marks):
        await LedgerEntry.create(
            case=case, mark=mark, day=date(2026, 9, 1 + i), evidence=f"证据{i}", recorded_at=clock.now()
        )
    _, own_school = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    _, office = await person("leading-group-office", UserRole.OFFICE, "办公室")
    _, other_school = await person("demo-primary-2", UserRole.SCHOOL_OFFICE, "别校教务处")
    fields = "mark day evidence"
    query = (
        "query($unit: ID!, $first: Int, $after: String) { dropoutLedger(unitId: $unit, first: 1) { totalCount"
        f" nodes {{ case {{ id }} entries {{ {fields} }} {connection('entriesConnection', fields)} }} }} }}"
    )
    unit = gid("Unit", school.id)
    for token in (own_school, office):
        path = ["dropoutLedger", "nodes", 0, "entriesConnection"]
        walked_rows = await walked_like_plain(client, token, query, path, "entries", unit=unit)
        assert [r["day"] for r in walked_rows] == [f"2026-09-0{1 + i}" for i in range(5)]
    theirs = (await gql(client, query, {"unit": unit, "first": 2}, other_school))["data"]["dropoutLedger"]
    assert theirs == {"totalCount": 0, "nodes": []}


async def test_a_digests_reminders_and_escalations_page_by_task_filtered_as_the_plain_lists(client, database) -> None:
    school, township = await Unit.get(code="demo-primary-1"), await Unit.get(code="dafeng")
    pupil = await Student.get(citizen_id=DEMO_PRIMARY_PUPILS[0])
    case = await Case.create(
        student=pupil, kind=CaseKind.ABSENT_WITHOUT_REASON, school=school, township=township,
        absent_since=date(2026, 9, 1), opened_at=clock.now(),
    )  # fmt: skip
    due = clock.now() + timedelta(days=1)
    tasks = []
    for i in range(7):  # the odd ones about the case of the head teacher's pupil
        task = await Task.create(
            title=f"提醒{i}", kind=TaskKind.CASE_STEP if i % 2 else TaskKind.MANUAL,
            due_at=due - timedelta(hours=i), assignee_unit=school, case=case if i % 2 else None,
        )  # fmt: skip
        tasks.append(task)
    ids = sorted(t.id for t in tasks)
    day = date(2026, 9, 9)
    await Digest.create(unit=school, day=day, reminders=ids, escalations=ids[1:6])
    head_teacher = await sign_in_head_teacher()  # sees only the tasks of their pupils' case
    _, own_school = await person("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    _, office = await person("leading-group-office", UserRole.OFFICE, "办公室")
    _, other_school = await person("demo-primary-2", UserRole.SCHOOL_OFFICE, "别校教务处")
    head = "query($day: Date!, $unit: ID, $first: Int, $after: String) { digest(day: $day, unitId: $unit) {"
    unit = gid("Unit", school.id)
    on_case = {gid("Task", t.id) for t in tasks if t.case_id}
    for plain_name in ("reminders", "escalations"):
        query = head + f" {plain_name} {{ id title }} " + connection(f"{plain_name}Connection", "id title") + " } }"
        stored = ids if plain_name == "reminders" else ids[1:6]
        for token, sees_all in ((own_school, True), (office, True), (head_teacher, False)):
            path = ["digest", f"{plain_name}Connection"]
            walked_rows = await walked_like_plain(
                client, token, query, path, plain_name, day=day.isoformat(), unit=unit
            )
            expected = [gid("Task", i) for i in stored]
            assert [r["id"] for r in walked_rows] == (expected if sees_all else [i for i in expected if i in on_case])
        theirs = await gql(client, query, {"day": day.isoformat(), "unit": unit, "first": 2}, other_school)
        assert theirs["data"]["digest"] is None


async def test_a_dutys_units_not_done_page_in_the_countys_order(client, database) -> None:
    duty = await Duty.first()
    assert duty is not None
    units = await Unit.filter(code__in=["dafeng", "wugongtai", "shitizi", "demo-primary-1", "demo-primary-2",
                                         "demo-middle-1", "education"]).order_by("-position", "-id")  # fmt: skip
    due = clock.end_of_day(date(2031, 3, 10))
    for i, unit in enumerate(units):  # the last unit (first in the county's order) has done its task
        status = TaskStatus.DONE if i == len(units) - 1 else TaskStatus.OPEN
        await Task.create(
            title=f"职责{i}", kind=TaskKind.DUTY, duty=duty, status=status, due_at=due, assignee_unit=unit,
            completed_at=due if status is TaskStatus.DONE else None,
        )  # fmt: skip
    _, office = await person("leading-group-office", UserRole.OFFICE, "办公室")
    _, school = await person("demo-primary-2", UserRole.SCHOOL_OFFICE, "教务处")
    query = (
        'query($first: Int, $after: String) { owing(from: "2031-03-01", to: "2031-03-31") { duties {'
        " duty { code } unitsNotDone { code } " + connection("unitsNotDoneConnection", "code") + " } } }"
    )
    walked_rows = await walked(client, office, query, ["owing", "duties", 0, "unitsNotDoneConnection"])
    answer = (await gql(client, query, {}, office))["data"]["owing"]["duties"]
    assert [d["duty"]["code"] for d in answer] == [duty.code]
    assert walked_rows == answer[0]["unitsNotDone"]
    assert [r["code"] for r in walked_rows] == [u.code for u in reversed(units[:-1])]
    # The computed list's cursors are checked as a query's are: a moment where the list holds (position, id).
    forged = base64.urlsafe_b64encode(orjson.dumps([{"dt": "2026-09-03T00:00:00+00:00"}, 1])).decode()
    refused = await gql(client, query, {"first": 2, "after": forged}, office)
    error = refused["errors"][0]
    assert "after:" in error["message"] and error["extensions"]["code"] == "BAD_USER_INPUT"
    # Another unit sees its own rows only, as in the plain list.
    theirs = (await gql(client, query, {"first": 2}, school))["data"]["owing"]["duties"]
    assert [d["unitsNotDone"] for d in theirs] == [[{"code": "demo-primary-2"}]]
    assert theirs[0]["unitsNotDoneConnection"]["nodes"] == [{"code": "demo-primary-2"}]
    assert theirs[0]["unitsNotDoneConnection"]["totalCount"] == 1
