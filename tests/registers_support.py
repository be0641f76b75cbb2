"""Helpers for the school registers' tests: pupils made up for each test, people who sign in, calls on a day."""

from __future__ import annotations

import itertools
import random
from datetime import date
from typing import Any

import httpx

from api.ids import global_id
from models import clock
from models.accounts import create_user, issue_token
from models.children import Gender, Student
from models.citizen_id import check_char
from models.units import Unit
from models.users import User, UserRole
from tasks.children.students import StudentData, create_student
from tasks.machinery import dispatch
from tests.support import gql

_serial = itertools.count(random.randrange(100, 800))


async def new_pupil(school: str, grade: int, township: str = "dafeng", name: str = "学生") -> Student:
    """A pupil with a made-up but valid citizen ID (GB 11643), born 2015-05-05."""
    first17 = f"65232320150505{next(_serial) % 1000:03d}"
    citizen_id = first17 + check_char(first17)
    while await Student.exists(citizen_id=citizen_id):
        first17 = f"65232320150505{next(_serial) % 1000:03d}"
        citizen_id = first17 + check_char(first17)
    school_unit = await Unit.get(code=school)
    township_unit = await Unit.get(code=township)
    return await create_student(
        StudentData(
            name=f"{name}{citizen_id[-4:]}",
            gender=Gender.FEMALE,
            birth_date=date(2015, 5, 5),
            citizen_id=citizen_id,
            school_id=school_unit.id,
            grade=grade,
            township_id=township_unit.id,
        )
    )


async def person(unit_code: str, role: UserRole, name: str) -> tuple[User, str]:
    user = await create_user(await Unit.get(code=unit_code), role, name)
    return user, await issue_token(user)


async def call(client: httpx.AsyncClient, token: str, as_of: date, query: str, /, **variables: Any) -> dict[str, Any]:
    """A GraphQL call as of a county day (the answer whole: data and errors)."""
    with clock.as_of(clock.parse_moment(as_of.isoformat())):
        result = await gql(client, query, variables, token)
        await dispatch.settle()
    return result


def gid(type_name: str, pk: int) -> str:
    return global_id(type_name, pk)


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]
