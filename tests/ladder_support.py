"""Driving a case through the API, day by day, with the settable clock."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from api.ids import global_id
from models import clock
from models.children import Student
from tasks.machinery import dispatch, jobs
from tests.support import data_of, gql

CASE_FIELDS = """
fragment CaseFields on Case {
  id kind status stage absenceDays escalationLevel absentSince returnedOn
  tasks { title status assigneeRole assigneeUnit { code } cooperatingUnits { code } dueDate }
  timeline { action detail }
  reports { id routing { id receiver { code } receivedAt result } }
}
"""

RECORD_ABSENCE = (
    """
mutation($id: ID!, $day: Date) {
  absenceRecord(id: $id, input: {day: $day, note: "未请假"}) {
    case { ...CaseFields }
    userErrors { field message code }
  }
}"""
    + CASE_FIELDS
)

CASE = "query($id: ID!) { case(id: $id) { ...CaseFields } }" + CASE_FIELDS


async def demo_student(citizen_id: str = "652323201503121002") -> Student:
    return await Student.get(citizen_id=citizen_id)


async def record_absence(client: httpx.AsyncClient, token: str, student: Student, day: date) -> dict[str, Any]:
    with clock.as_of(clock.parse_moment(day.isoformat())):
        result = await gql(
            client, RECORD_ABSENCE, {"id": global_id("Student", student.id), "day": day.isoformat()}, token
        )
        await dispatch.settle()
    return data_of(result)["absenceRecord"]


async def tick(day: date) -> None:
    with clock.as_of(clock.parse_moment(day.isoformat())):
        await jobs.tick(day)


async def case_on(client: httpx.AsyncClient, token: str, case_id: str, day: date) -> dict[str, Any]:
    with clock.as_of(clock.parse_moment(day.isoformat())):
        return data_of(await gql(client, CASE, {"id": case_id}, token))["case"]


def step_titles(case: dict[str, Any]) -> list[str]:
    return [t["title"].split("：")[0] for t in case["tasks"]]


async def run(client: httpx.AsyncClient, token: str, as_of: date, query: str, **variables: Any) -> dict[str, Any]:
    """A GraphQL call as of a county day; waits for the in-process nudge it may cause."""
    with clock.as_of(clock.parse_moment(as_of.isoformat())):
        result = data_of(await gql(client, query, variables, token))
        await dispatch.settle()
    return result


def open_tasks(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in case["tasks"] if t["status"] in ("OPEN", "IN_PROGRESS")]
