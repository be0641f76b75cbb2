"""One gate, checked over the whole served schema.

The schema is read by introspection; from every root field the walk follows every field that
returns an object or a list of objects (connections and nested lists included), as each role, on
seeded data (cases with tasks across units, persuasion records, a report and its copies, facts
sensitive and not, comments by other units, digests). Every object with an id it meets must also
be answered by `nodes(ids:)` (the same lookup as `node(id:)`) for the same viewer. A field added
later is walked too; one with a required argument the walk cannot fill fails the test until
ARGUMENTS below says what to pass.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Any

import httpx

from api.ids import global_id
from models.children import Student
from models.rules import Digest
from models.units import Unit
from models.users import UserRole
from tasks.machinery import jobs
from tests.ladder_support import run, tick
from tests.support import gql, sign_in, sign_in_head_teacher

PUPIL, OTHER_PUPIL = "652323201503121002", "652323201407051016"  # both of demo-primary-1, registered in 大丰镇
DAY = date(2026, 9, 8)
BATCH = 5  # nodes(ids:) of 5: each node's lists under it are connections of first: 100, within the cost limit
# A connection within the nodes of another (a book's pages' lines, a ledger's lines' entries) is priced at both
# pages' product: 100 × 100 is over the cost limit for the walk as for any client. The seed puts fewer than this
# under any one parent.
NESTED_FIRST = 10

INTROSPECT = """{ __schema { queryType { name } types { kind name interfaces { name }
  fields { name args { name defaultValue type { ...T } } type { ...T } } } } }
fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name } } } } }"""


@dataclass
class Schema:
    types: dict[str, dict[str, Any]]
    query: str

    def named(self, ref: dict[str, Any]) -> dict[str, Any]:
        while ref.get("ofType"):
            ref = ref["ofType"]
        return self.types[ref["name"]]

    def is_node(self, name: str) -> bool:
        return any(i["name"] == "Node" for i in self.types[name].get("interfaces") or [])

    def returns_objects(self, f: dict[str, Any]) -> bool:
        return self.named(f["type"])["kind"] in ("OBJECT", "INTERFACE", "UNION")

    @property
    def node_types(self) -> list[str]:
        return sorted(n for n, t in self.types.items() if t["kind"] == "OBJECT" and self.is_node(n))


@dataclass
class Walk:
    schema: Schema
    values: dict[str, Any]
    missing: set[str] = field(default_factory=set)

    def arguments(self, owner: str, f: dict[str, Any], paged: bool = False) -> str | None:
        """The field's arguments: `first: 100` (NESTED_FIRST within a connection's nodes), and a value for each
        required one (None: one is unknown)."""
        given = []
        for arg in f["args"]:
            required = arg["type"]["kind"] == "NON_NULL" and arg["defaultValue"] is None
            if arg["name"] == "first":
                given.append(f"first: {NESTED_FIRST if paged else 100}")
            elif required:
                key = f"{owner}.{f['name']}.{arg['name']}"
                if key not in self.values:
                    self.missing.add(key)
                    return None
                given.append(f"{arg['name']}: {self.values[key]}")
        return f"({', '.join(given)})" if given else ""

    def selection(self, type_name: str, expand: bool, depth: int = 0, paged: bool = False) -> str:
        """A Node met on the way is named by its id (and expanded later through nodes(ids:)); any other
        object is walked through here, every field that returns objects. `paged`: within a connection."""
        t = self.schema.types[type_name]
        if t["kind"] in ("INTERFACE", "UNION") or (self.schema.is_node(type_name) and not expand):
            return "{ __typename ... on Node { id } }"
        if depth > 6:
            return "{ __typename }"
        parts = ["__typename"] + (["id"] if any(f["name"] == "id" for f in t["fields"]) else [])
        paged = paged or type_name.endswith("Connection")
        for f in t["fields"]:
            if f["name"].startswith("__") or not self.schema.returns_objects(f):
                continue
            inner = self.schema.named(f["type"])["name"]
            arguments = self.arguments(type_name, f, paged)
            if arguments is not None:
                parts.append(f"{f['name']}{arguments} {self.selection(inner, False, depth + 1, paged)}")
        return "{ " + " ".join(parts) + " }"


def found_nodes(value: Any, path: str, schema: Schema, into: dict[str, str]) -> None:
    """Every (id -> path) of a Node in an answer."""
    if isinstance(value, list):
        for item in value:
            found_nodes(item, path, schema, into)
    elif isinstance(value, dict):
        kind = value.get("__typename")
        if kind in schema.types and schema.is_node(kind) and "id" in value:
            into.setdefault(value["id"], path)
        for key, inner in value.items():
            if key not in ("__typename", "id"):
                found_nodes(inner, f"{kind}.{key}" if kind else key, schema, into)


async def read_schema(client: httpx.AsyncClient, token: str) -> Schema:
    result = await gql(client, INTROSPECT, token=token)
    data = result["data"]["__schema"]
    return Schema({t["name"]: {**t, "fields": t["fields"] or []} for t in data["types"]}, data["queryType"]["name"])


async def walk_as(client: httpx.AsyncClient, token: str, walk: Walk, root_ids: list[str]) -> tuple[list[str], set[str]]:
    """What this viewer meets that nodes(ids:) does not give them ('path -> id (type)' lines), and the
    types it met."""
    schema = walk.schema
    seen: dict[str, str] = {}
    problems: list[str] = []
    root = schema.types[schema.query]
    for f in root["fields"]:
        if f["name"] in ("node", "nodes") or not schema.returns_objects(f):
            continue
        inner = schema.named(f["type"])["name"]
        selection = walk.selection(inner, expand=not schema.is_node(inner))
        if any(a["name"] == "id" and a["type"]["kind"] == "NON_NULL" for a in f["args"]):
            asks = [f'{f["name"]}(id: "{i}") {selection}' for i in root_ids]  # e.g. case(id:): every seeded id
        else:
            arguments = walk.arguments(schema.query, f)
            asks = [] if arguments is None else [f"{f['name']}{arguments} {selection}"]
        for ask in asks:
            answer = await gql(client, "{ " + ask + " }", token=token)
            assert "errors" not in answer or all(
                e.get("extensions", {}).get("code") in ("FORBIDDEN", "BAD_USER_INPUT") for e in answer["errors"]
            ), (ask[:200], answer["errors"])
            found_nodes((answer.get("data") or {}).get(f["name"]), f"Query.{f['name']}", schema, seen)

    expanded: set[str] = set()
    while pending := [i for i in seen if i not in expanded]:
        by_type: dict[str, list[str]] = defaultdict(list)
        for node_id in pending:
            expanded.add(node_id)
            by_type[_type_of(node_id)].append(node_id)
        for type_name, ids in by_type.items():
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                fragment = walk.selection(type_name, expand=True)
                query = (
                    "query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on " + type_name + " " + fragment + " } }"
                )
                for node_id, got in zip(chunk, await nodes_of(client, token, query, chunk), strict=True):
                    if got is None:
                        problems.append(f"{seen[node_id]} -> {node_id} ({type_name})")
                    else:
                        found_nodes(got, type_name, schema, seen)
    return problems, {_type_of(i) for i in seen}


async def nodes_of(client: httpx.AsyncClient, token: str, query: str, ids: list[str]) -> list[Any]:
    """nodes(ids:) of a batch; one whose lists price it over the cost limit (a book's pages and their lines) is
    asked one id at a time."""
    answer = await gql(client, query, {"ids": ids}, token)
    codes = {e.get("extensions", {}).get("code") for e in answer.get("errors", [])}
    if codes == {"QUERY_TOO_COSTLY"} and len(ids) > 1:
        return [node for one in ids for node in await nodes_of(client, token, query, [one])]
    assert "errors" not in answer, (query[:200], answer["errors"])
    return answer["data"]["nodes"]


def _type_of(node_id: str) -> str:
    from api.ids import parse_global_id

    return parse_global_id(node_id)[0]


async def seed(client: httpx.AsyncClient) -> list[str]:
    """Two cases at one school (two head teachers), their ladder tasks across units, persuasion records,
    a filed report and its three copies, facts sensitive and not, a comment by a cooperating unit, digests."""
    head_teacher = await sign_in_head_teacher(PUPIL, name="班主任甲")
    other_head_teacher = await sign_in_head_teacher(OTHER_PUPIL, name="班主任乙")
    principal = await sign_in("demo-primary-1", UserRole.PRINCIPAL, "校长")
    township = await sign_in("dafeng", UserRole.LIAISON, "镇联络员")
    village = await sign_in("demo-dafeng-v1", UserRole.LIAISON, "村联络员")
    pupil, other = await Student.get(citizen_id=PUPIL), await Student.get(citizen_id=OTHER_PUPIL)

    absence = """mutation($id: ID!) { absenceRecord(id: $id, input: {day: "2026-09-01"}) { case { id }
      userErrors { code } } }"""
    case = (await run(client, head_teacher, date(2026, 9, 1), absence, id=global_id("Student", pupil.id)))[
        "absenceRecord"
    ]["case"]["id"]
    other_case = (await run(client, other_head_teacher, date(2026, 9, 1), absence, id=global_id("Student", other.id)))[
        "absenceRecord"
    ]["case"]["id"]
    await tick(date(2026, 9, 3))

    persuade = """mutation($id: ID!, $kind: PersuasionKind!, $result: PersuasionResult!) {
      persuasionRecordAdd(id: $id, input: {kind: $kind, result: $result, persuaders: "乡镇干部", process: "入户"}) {
      userErrors { code } } }"""
    await run(client, township, date(2026, 9, 3), persuade, id=case, kind="OTHER", result="PENDING")
    await run(client, principal, date(2026, 9, 3), persuade, id=case, kind="COLLECTIVE_HOME_VISIT", result="FAILED")
    report = """mutation($id: ID!) { dropoutReportFile(id: $id, input: {situation: "在家", contactPerson: "校长",
      contactPhone: "0994-0000000"}) { report { routing { id receiver { code } } } userErrors { code } } }"""
    filed = (await run(client, principal, date(2026, 9, 4), report, id=case))["dropoutReportFile"]
    assert filed["userErrors"] == [], filed
    ack = """mutation($id: ID!) { reportReceiptAcknowledge(id: $id, input: {receiverName: "镇长",
      receiverContact: "139"}) { userErrors { code } } }"""
    dafeng_copy = next(r["id"] for r in filed["report"]["routing"] if r["receiver"]["code"] == "dafeng")
    await run(client, township, date(2026, 9, 4), ack, id=dafeng_copy)

    fact = """mutation($id: ID!, $kind: FactKind!, $d: DisabilityKind, $detail: String) { factRecord(id: $id,
      input: {kind: $kind, disabilityKind: $d, detail: $detail, source: "摸排", reason: "核查"}) {
      userErrors { code } } }"""
    await run(client, principal, DAY, fact, id=global_id("Student", pupil.id), kind="DISABILITY", d="VISUAL")
    await run(client, township, DAY, fact, id=global_id("Student", pupil.id), kind="CHILD_WORKING", detail="某店")
    await run(client, principal, DAY, fact, id=global_id("Student", other.id), kind="FAMILY_IN_DIFFICULTY")
    await jobs.process_outbox()

    # The village comments on the collective visit it shares; the head teacher claims a step.
    tasks = (await run(client, village, DAY, "{ viewer { taskQueue(first: 100) { nodes { id } } } }"))["viewer"]
    for task in tasks["taskQueue"]["nodes"]:
        comment = 'mutation($id: ID!) { taskComment(id: $id, input: {text: "已入户"}) { userErrors { code } } }'
        await run(client, village, DAY, comment, id=task["id"])
    mine = (await run(client, head_teacher, DAY, "{ viewer { taskQueue(first: 100) { nodes { id } } } }"))["viewer"]
    claim = "mutation($id: ID!) { taskClaim(id: $id) { userErrors { code } } }"
    for task in mine["taskQueue"]["nodes"][:1]:
        await run(client, head_teacher, DAY, claim, id=task["id"])
    await tick(DAY)  # escalations (day 5) and the day's digests
    assert await Digest.filter(day=DAY).exists()
    await seed_registers(client)
    await seed_integrations(client)
    await seed_population_and_office(client)
    return [case, other_case]


async def seed_population_and_office(client: httpx.AsyncClient) -> None:
    """Residents and a census book of a 大丰镇 village, a cross-check run with its findings, an accountability
    measure and a school's monthly report (the figures' records are the office's own, written directly)."""
    from datetime import datetime

    from models.children import Gender
    from models.citizen_id import make
    from models.office import AccountabilityMeasure, MeasureKind, OfficeReport, ReportKind
    from models.population import CensusLineStatus
    from tasks.registers.crosscheck import run_crosscheck
    from tasks.registers.population import CensusRow, ResidentRow, upsert_census_lines, upsert_residents

    township, village = await Unit.get(code="dafeng"), await Unit.get(code="demo-dafeng-v1")
    school = await Unit.get(code="demo-primary-1")
    born = date(2019, 3, 1)  # seven on the county's date: school age, on no roll
    resident = ResidentRow(
        citizen_id=make("659903", born, 1), name="【演示】未入学儿童", gender=Gender.MALE, birth_date=born,
        township_id=township.id, village_id=village.id, village_group="1组", household_number="W-1",
        head_name="户主", registered_address="大丰镇", actual_address="大丰镇", guardian_name="监护人",
        guardian_phone="13900000000",
    )  # fmt: skip
    await upsert_residents([resident], "police", date(2026, 7, 31))
    line = CensusRow(
        year=2026, school_id=school.id, village_id=village.id, village_group="1组", household_number="W-2",
        citizen_id=make("659903", date(2016, 3, 1), 2), name="【演示】普查儿童", gender=Gender.FEMALE,
        birth_date=date(2016, 3, 1), status=CensusLineStatus.IN_SCHOOL,
    )  # fmt: skip
    await upsert_census_lines([line], "census", date(2026, 8, 31))
    await run_crosscheck(date(2026, 8, 31))
    await jobs.process_outbox()
    now = datetime(2026, 9, 8, 4, tzinfo=UTC)
    await AccountabilityMeasure.create(
        kind=MeasureKind.INTERVIEW, unit=township, school_year="2026-2027", summary="约谈", decided_on=DAY,
        recorded_at=now,
    )  # fmt: skip
    await OfficeReport.create(
        kind=ReportKind.MONTHLY, unit=school, period="2026-09", period_start=date(2026, 9, 1),
        period_end=date(2026, 9, 30), title="【演示】普九月报", unique_key="report:walk", generated_at=now,
    )  # fmt: skip


async def seed_integrations(client: httpx.AsyncClient) -> None:
    """An import of the roll (a dry run, one row bad) and a webhook endpoint with a delivery."""
    from models.live import WebhookDelivery, WebhookEndpoint
    from tasks.machinery import dispatch
    from tests.test_imports import csv_bytes, pupil

    education = await sign_in("education", UserRole.LIAISON, "教育局导入员")
    body = csv_bytes([pupil(901), pupil(902, 身份证号="652323")])
    uploaded = await client.post(
        "/imports/roll",
        content=body,
        params={"filename": "学籍.csv", "dryRun": "true"},
        headers={"Authorization": f"Bearer {education}"},
    )
    assert uploaded.status_code == 202, uploaded.text
    await dispatch.settle()
    office = await Unit.get(code="leading-group-office")
    endpoint = await WebhookEndpoint.create(url="https://receiver.example/hook", secret="whsec_x", unit=office)
    await WebhookDelivery.create(endpoint=endpoint, event_id=1, event_kind="task.changed", payload={})


async def seed_registers(client: httpx.AsyncClient) -> None:
    """A transfer in the county, a graduate handover with its roster."""
    from tests.registers_support import new_pupil

    sender = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE, "转出校教务处")
    primary = await sign_in("demo-primary-2", UserRole.SCHOOL_OFFICE, "小学教务处")
    record = """mutation($id: ID!, $input: RollMovementRecordInput!) { rollMovementRecord(id: $id, input: $input) {
      userErrors { code } } }"""
    leaving = await new_pupil("demo-primary-1", 3)
    to_school = global_id("Unit", (await new_pupil("demo-primary-2", 1)).school_id)
    moved = await run(client, sender, DAY, record, id=global_id("Student", leaving.id),
                      input={"kind": "TRANSFER_OUT", "day": DAY.isoformat(), "evidence": "审批表", "scope": "IN_COUNTY",
                             "otherSchoolId": to_school})  # fmt: skip
    assert moved["rollMovementRecord"]["userErrors"] == [], moved
    summer = date(2026, 7, 3)
    graduate = await new_pupil("demo-primary-2", 6, "shitizi")
    done = await run(client, primary, summer, record, id=global_id("Student", graduate.id),
                     input={"kind": "GRADUATE", "day": summer.isoformat(), "evidence": "毕业证"})  # fmt: skip
    assert done["rollMovementRecord"]["userErrors"] == [], done
    prepare = """mutation($school: ID!) { handoverPrepare(input: {schoolId: $school, schoolYear: "2026-2027"}) {
      userErrors { code } } }"""
    made = await run(client, primary, summer, prepare, school=global_id("Unit", graduate.school_id))
    assert made["handoverPrepare"]["userErrors"] == [], made


async def test_whatever_a_field_returns_is_visible_through_node_to_the_same_viewer(client) -> None:
    case_ids = await seed(client)
    roles = {
        "head_teacher": await sign_in_head_teacher(PUPIL, name="班主任甲2"),
        "other_head_teacher": await sign_in_head_teacher(OTHER_PUPIL, name="班主任乙2"),
        "school_office": await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE),
        "school_leader": await sign_in("demo-primary-1", UserRole.SCHOOL_LEADER),
        "principal": await sign_in("demo-primary-1", UserRole.PRINCIPAL),
        "other_school": await sign_in("demo-middle-1", UserRole.PRINCIPAL),
        "other_primary": await sign_in("demo-primary-2", UserRole.SCHOOL_OFFICE),
        "other_primary_head_teacher": await sign_in("demo-primary-2", UserRole.HEAD_TEACHER),
        "township": await sign_in("dafeng"),
        "township_leader": await sign_in("dafeng", UserRole.UNIT_LEADER),
        "village": await sign_in("demo-dafeng-v1"),
        "other_township": await sign_in("wugongtai"),
        "police": await sign_in("police"),
        "federation": await sign_in("disabled-federation"),
        "labour": await sign_in("human-resources"),
        "civil_affairs": await sign_in("civil-affairs"),
        "education_section": await sign_in("education-section"),
        "supervision": await sign_in("supervision"),
        "office": await sign_in("leading-group-office", UserRole.OFFICE),
        "admin": await sign_in("leading-group-office", UserRole.ADMIN),
    }
    schema = await read_schema(client, roles["office"])
    values = {
        f"{schema.query}.unit.code": '"dafeng"',
        f"{schema.query}.digest.day": f'"{DAY.isoformat()}"',
        f"{schema.query}.dutyCalendarPreview.schoolYear": '"2026-2027"',
        f"{schema.query}.owing.from": '"2026-09-01"',
        f"{schema.query}.owing.to": '"2026-09-30"',
        f"{schema.query}.targets.schoolYear": '"2026-2027"',
        f"{schema.query}.dropoutLedger.unitId": f'"{global_id("Unit", (await Unit.get(code="demo-primary-1")).id)}"',
    }
    failures: dict[str, list[str]] = {}
    walk = Walk(schema, values)
    met: dict[str, set[str]] = {}
    for role, token in roles.items():
        problems, met[role] = await walk_as(client, token, walk, case_ids)
        if problems:
            failures[role] = problems
    steering = met["office"] | met["admin"]  # webhooks are the administrators' alone
    assert steering == set(schema.node_types), "the seed reaches every type (else the walk proves little)"
    assert {"Case", "Task", "Student"} <= met["township"] and "Case" not in met["police"]
    assert not walk.missing, f"the walk cannot fill these required arguments; add them to values: {walk.missing}"
    assert not failures, "seen through a field but not through node(id:):\n" + "\n".join(
        f"{role}: {line}" for role, lines in failures.items() for line in sorted(set(lines))[:15]
    )


async def test_every_node_type_has_one_gate_and_a_node_lookup(client) -> None:

    from api.node_lookup import NODE_TYPES
    from tasks.access import GATES

    schema = await read_schema(client, await sign_in("leading-group-office", UserRole.OFFICE))
    assert set(schema.node_types) == set(GATES) == set(NODE_TYPES)
