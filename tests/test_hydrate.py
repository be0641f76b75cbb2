"""The cheap ways of the hot lists make what the library ways make: instances from rows, global ids."""

from __future__ import annotations

from datetime import date

import pytest
from strawberry.relay import to_base64
from tortoise.models import Model

from api.ids import global_id, parse_global_id
from models.cases import Case
from models.children import Student
from models.hydrate import Hydrator, hydrator
from models.tasks import Task
from models.units import Unit
from models.users import UserRole
from tests.ladder_support import demo_student, record_absence, tick
from tests.support import sign_in
from tests.test_query_count import busy_county  # noqa: F401 - a fixture


@pytest.fixture
async def rows_of_every_kind(client, busy_county) -> None:  # noqa: F811
    """Tasks claimed, shared, with duties and with a case; the demo units and students; a case."""
    school_office = await sign_in("demo-primary-1", UserRole.SCHOOL_OFFICE, "教务处")
    await record_absence(client, school_office, await demo_student(), date(2026, 9, 2))
    await tick(date(2026, 9, 4))


@pytest.mark.parametrize("model", [Task, Unit, Case, Student])
async def test_every_row_hydrates_to_what_tortoise_makes(rows_of_every_kind, model: type[Model]) -> None:
    columns = list(model._meta.fields_db_projection.values())
    columns.reverse()  # any order the SELECT gives them in
    db = model._meta.db
    _, rows = await db.execute_query(
        f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} FROM "{model._meta.db_table}"'
    )
    assert rows
    make = hydrator(model, columns)

    for row in rows:
        values = tuple(row)
        made, expected = make(values), model._init_from_db(**dict(zip(columns, values, strict=True)))
        assert type(made) is model
        assert vars(made) == vars(expected)
        assert {k: type(v) for k, v in vars(made).items()} == {k: type(v) for k, v in vars(expected).items()}


def test_a_hydrator_refuses_a_partial_row() -> None:
    columns = list(Unit._meta.fields_db_projection.values())[1:]

    with pytest.raises(ValueError, match="every column"):
        Hydrator(Unit, columns)


@pytest.mark.parametrize(("type_name", "pk"), [("Task", 1), ("Unit", 2_147_483_647), ("PersuasionRecord", 40_213)])
def test_a_global_id_is_strawberrys_and_reads_back(type_name: str, pk: int) -> None:
    made = global_id(type_name, pk)

    assert made == to_base64(type_name, pk)
    assert parse_global_id(made, type_name) == (type_name, pk)
