"""Helpers the tests share: a GraphQL call, people who sign in, and a query counter."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from models.accounts import create_user, issue_token
from models.units import Unit
from models.users import UserRole


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def data_of(result: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in result, result["errors"]
    return result["data"]


def error_codes(result: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in result.get("errors", [])]


async def sign_in(unit_code: str, role: UserRole = UserRole.LIAISON, name: str = "联络员") -> str:
    unit = await Unit.get(code=unit_code)
    return await issue_token(await create_user(unit, role, name))


class QueryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """Every SQL statement Tortoise sends while the block runs."""
    logger = logging.getLogger("tortoise.db_client")
    counter = QueryCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)


DEMO_PRIMARY_PUPILS = ("652323201503121002", "652323201407051016")  # both of demo-primary-1


async def sign_in_head_teacher(*citizen_ids: str, name: str = "【演示】班主任1") -> str:
    """A head teacher of these pupils (by default demo-primary-1's two): the class is theirs."""
    from models.children import Student

    pupils = await Student.filter(citizen_id__in=list(citizen_ids or DEMO_PRIMARY_PUPILS))
    unit = await Unit.get(id=pupils[0].school_id)
    user = await create_user(unit, UserRole.HEAD_TEACHER, name)
    await Student.filter(id__in=[p.id for p in pupils]).update(head_teacher_id=user.id)
    return await issue_token(user)
