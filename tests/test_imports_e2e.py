"""An upload to the real server, imported by the real worker through Redis, followed over GraphQL."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from models.children import Household, Student
from models.users import UserRole
from tests.processes import running, worker_args
from tests.support import sign_in
from tests.test_e2e_ladder import eventually, stack  # noqa: F401 - the fixture
from tests.test_imports import REGION, csv_bytes, pupil

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]
RUN = "query($id: ID!) { importRun(id: $id) { status progress rowsTotal rowsDone imported conflictCount } }"


def flush_redis(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"FLUSHALL\r\n")
        assert s.recv(16).startswith(b"+OK")


async def test_an_upload_is_imported_by_the_worker_even_when_its_nudge_is_lost(stack: dict[str, Any]) -> None:  # noqa: F811
    env, api, tmp = stack["env"], stack["api"], stack["tmp"]
    token = await sign_in("education", UserRole.LIAISON, "教育局")
    base = api.url.removesuffix("/graphql")
    body = csv_bytes([pupil(1), pupil(2), pupil(3, 学校="没有的学校")])
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            answer = await http.post(
                f"{base}/imports/roll", content=body, params={"filename": "学籍.csv"},
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
        assert answer.status_code == 202, answer.text
        run_id = answer.json()["importRun"]["id"]
        waiting = (await api.call(token, RUN, id=run_id))["importRun"]
        assert (waiting["status"], waiting["progress"]) == ("PENDING", 0.0)  # no worker yet
        flush_redis(stack["redis_port"])  # the nudge is lost: the database still holds the pending run

        with running("worker", worker_args(), env, tmp):

            async def finished() -> dict[str, Any] | None:
                run = (await api.call(token, RUN, id=run_id))["importRun"]
                return run if run["status"] == "DONE" else None

            done = await eventually(finished, "the import, taken by the worker's sweep", seconds=60)
        assert done == {"status": "DONE", "progress": 1.0, "rowsTotal": 3, "rowsDone": 3, "imported": 2,
                        "conflictCount": 1}  # fmt: skip
    finally:
        households = await Student.filter(citizen_id__startswith=REGION).values_list("household_id", flat=True)
        await Student.filter(citizen_id__startswith=REGION).delete()
        await Household.filter(id__in=list(households)).delete()
