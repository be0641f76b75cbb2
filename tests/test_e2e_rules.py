"""Rules about a child, the duty calendar and escalation, with the real server, worker and Redis."""

from __future__ import annotations

from typing import Any

import pytest

from models.children import Student
from models.users import UserRole
from tests.processes import manage, running, worker_args
from tests.support import sign_in
from tests.test_e2e_ladder import Api, eventually, stack  # noqa: F401 - the fixture

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

FACT_TASKS = "query($id: ID!) { node(id: $id) { ... on Fact { tasks { id status assigneeUnit { code } } } } }"


async def _units(api: Api, token: str, fact_id: str) -> dict[str, Any]:
    node = (await api.call(token, FACT_TASKS, id=fact_id))["node"]
    return {t["assigneeUnit"]["code"]: t for t in node["tasks"]}


async def test_rules_calendar_and_escalation_through_the_worker(stack: dict[str, Any]) -> None:  # noqa: F811
    env, api, tmp = stack["env"], stack["api"], stack["tmp"]
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    school = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE)
    federation = await sign_in("disabled-federation")
    student = await Student.get(citizen_id="652323201503121002")
    await Student.filter(id=student.id).update(grade=0)
    manage(env, "tick", "--as-of", "2026-09-01", "--here")

    with running("worker", worker_args(), env, tmp):
        from api.ids import global_id

        recorded = await api.call(
            school,
            """mutation($id: ID!) { factRecord(id: $id, input: {kind: DISABILITY, disabilityKind: INTELLECTUAL,
              graded: false, source: "残联数据", reason: "比对发现"}) { fact { id } userErrors { code } } }""",
            id=global_id("Student", student.id),
        )
        fact_id = recorded["factRecord"]["fact"]["id"]
        grading = (await eventually(lambda: _units(api, office, fact_id), "the grading task"))["disabled-federation"]
        await api.call(
            federation,
            'mutation($id: ID!) { taskComplete(id: $id, input: {outcome: "已认定"}) { userErrors { code } } }',
            id=grading["id"],
        )
        tasks = await eventually(
            lambda: _has(api, office, fact_id, "education"), "the placement task after the grading"
        )
        assert tasks["education"]["status"] == "OPEN"

        generated = await api.call(
            office,
            'mutation { dutyCalendarGenerate(input: {schoolYear: "2026-2027"}) { created userErrors { code } } }',
        )
        assert generated["dutyCalendarGenerate"]["created"] > 0

        manage(env, "tick", "--as-of", "2026-10-08")  # the placement (due 2026-09-16) is three weeks late
        escalated = await api.call(office, "{ tasks(filter: {escalated: true}, first: 100) { nodes { title } } }")
        assert any("安置" in t["title"] for t in escalated["tasks"]["nodes"])
        digest = await api.call(office, '{ digest(day: "2026-10-08") { escalations { title } } }')
        assert any("安置" in t["title"] for t in digest["digest"]["escalations"])
    await Student.filter(id=student.id).update(grade=5)


async def _has(api: Api, token: str, fact_id: str, unit: str) -> dict[str, Any] | None:
    tasks = await _units(api, token, fact_id)
    return tasks if unit in tasks else None
