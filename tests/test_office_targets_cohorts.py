"""Both retention cohorts of one township, counted in one pass over the pupils: each pupil in its own cohort."""

from __future__ import annotations

from datetime import date

from api.ids import global_id
from models import clock
from models.accounts import create_user, issue_token
from models.registers import LeaveReason, MovementKind
from models.units import Unit
from models.users import UserRole
from tests.support import data_of, gql
from tests.test_office_targets import TARGETS, move, pupil


async def test_the_primary_and_the_junior_cohorts_are_counted_apart(client) -> None:
    town = await Unit.get(code="shitizi")  # counted as differences: pupils of other tests may live there too
    office_user = await create_user(await Unit.get(code="leading-group-office"), UserRole.OFFICE, "办公室")
    office = await issue_token(office_user)
    variables = {"town": global_id("Unit", town.id), "year": "2026-2027"}

    async def figures() -> dict[str, tuple[int, int]]:
        with clock.as_of(clock.parse_moment("2026-10-20")):
            view = data_of(await gql(client, TARGETS, variables, office))["targets"]
        return {f["code"]: (f["numerator"], f["denominator"]) for f in view["townships"][0]["figures"]}

    before = await figures()
    await pupil(town, "六一", 6, date(2014, 3, 3))
    promoted6 = await pupil(town, "六二", 6, date(2014, 3, 3))
    middle = await Unit.get(code="demo-middle-1")
    await move(office_user, promoted6, MovementKind.PROMOTE, date(2026, 9, 1), other_school_id=middle.id)
    await pupil(town, "七一", 7, date(2013, 3, 3))  # in grade 7 since before this school year: no cohort
    await pupil(town, "九一", 9, date(2011, 10, 3))
    left9 = await pupil(town, "九二", 9, date(2011, 10, 3))
    await move(office_user, left9, MovementKind.LEAVE, date(2026, 9, 30), leave_reason=LeaveReason.OTHER)
    promoted9 = await pupil(town, "九三", 9, date(2011, 10, 3))
    high = await Unit.get(code="demo-high-1")
    await move(office_user, promoted9, MovementKind.PROMOTE, date(2026, 9, 1), other_school_id=high.id)
    after = await figures()

    def added(code: str) -> tuple[int, int]:
        return after[code][0] - before[code][0], after[code][1] - before[code][1]

    assert added("primary-retention") == (2, 2)  # 六一, and 六二 promoted to grade 7 this school year
    assert added("junior-retention") == (2, 3)  # 九一 and 九三 (promoted) of 九一 九二 (left) 九三
