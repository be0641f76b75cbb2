"""A second county, loaded alone, runs on its own rules: nothing about Hutubi is in the code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.processes import ROOT, environment, free_port, manage, running, wait_http
from tests.test_e2e_ladder import ABSENCE, CASE, Api, eventually

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "postgres", reason="one pass is enough (SQLite)"),
]
POLICY = ROOT / "tests" / "fixtures" / "second-county.yaml"


async def test_a_second_county_runs_on_its_own_policy(tmp_path: Path) -> None:
    port = free_port()
    env = environment(
        DATABASE_URL=f"sqlite://{tmp_path / 'shifan.sqlite3'}",
        POLICY_FILE=str(POLICY),
        DEMO_DATA="false",
        CLOCK_SOURCE="database",
        JOB_INTERVAL_SECONDS="1",
    )
    manage(env, "migrate")
    seeded = manage(env, "seed")
    assert "units +9" in seeded
    assert "already up to date" in manage(env, "seed")
    token = manage(env, "user", "create", "--unit", "s-east", "--role", "principal", "--name", "校长").split()[-1]
    office = manage(env, "user", "create", "--unit", "lgo", "--role", "office", "--name", "主任").split()[-1]
    manage(env, "tick", "--as-of", "2026-09-01")

    with running("server", [str(ROOT / ".venv" / "bin" / "python"), "-m", "uvicorn", "api.asgi:app",
                            "--port", str(port)], env, tmp_path) as server:  # fmt: skip
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        api = Api(f"http://127.0.0.1:{port}/graphql")
        student = (await api.call(token, '{ students(filter: {name: "甲"}) { nodes { id } } }'))["students"]
        case_id = (await api.call(token, ABSENCE, id=student["nodes"][0]["id"], day="2026-09-01"))["absenceRecord"][
            "case"
        ]["id"]

        async def titles() -> list[str]:
            return [t["title"] for t in (await api.call(token, CASE, id=case_id))["case"]["tasks"]]

        assert (await eventually(titles, "the first step")) == ["示范县第一步：电话联系5年级学生示范学生甲家长"]
        manage(env, "tick", "--as-of", "2026-09-02")  # the county's own holiday: no day 2 yet
        assert len(await titles()) == 1
        manage(env, "tick", "--as-of", "2026-09-03")
        assert "示范县第二步：与东乡一村联合家访5年级学生示范学生甲" in await titles()

        record = """mutation($id: ID!) { persuasionRecordAdd(id: $id, input: {kind: COLLECTIVE_HOME_VISIT,
          result: FAILED, persuaders: "校长", process: "未果"}) { userErrors { code } } }"""
        await api.call(token, record, id=case_id)
        await eventually(lambda: _contains(titles, "示范县：填报劝返报告单"), "the report step")
        filed = await api.call(
            token,
            """mutation($id: ID!) { dropoutReportFile(id: $id, input: {situation: "未果", contactPerson: "校长",
              contactPhone: "1"}) { report { routing { receiver { code } } } userErrors { code } } }""",
            id=case_id,
        )
        receivers = sorted(r["receiver"]["code"] for r in filed["dropoutReportFile"]["report"]["routing"])
        assert receivers == ["jyg", "t-east"]

        rules = await api.call(office, "{ rules { code kind } }")
        assert {r["code"] for r in rules["rules"]} == {
            "ladder:first-call", "ladder:joint-visit", "ladder:file", "ladder:receipt", "grading"
        }  # fmt: skip
        fact = await api.call(
            office,
            """mutation($id: ID!) { factRecord(id: $id, input: {kind: DISABILITY, disabilityKind: OTHER,
              source: "摸排", reason: "核查"}) { fact { id } userErrors { code } } }""",
            id=student["nodes"][0]["id"],
        )
        fact_id = fact["factRecord"]["fact"]["id"]
        units = await eventually(lambda: _fact_units(api, office, fact_id), "the second county's grading task")
        assert units == ["clh"]


async def _contains(titles, wanted: str) -> bool:  # type: ignore[no-untyped-def]
    return wanted in await titles()


async def _fact_units(api: Api, token: str, fact_id: str) -> list[str]:
    node = await api.call(
        token, "query($id: ID!) { node(id: $id) { ... on Fact { tasks { assigneeUnit { code } } } } }", id=fact_id
    )
    return [t["assigneeUnit"]["code"] for t in node["node"]["tasks"]]
