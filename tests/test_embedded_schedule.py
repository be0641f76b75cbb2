"""The embedded default's daily sweeps run at LADDER_SWEEP_HOUR in the county's time, as the worker's do."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from config import settings
from models import clock
from tasks.machinery.embedded import run_once
from tests.ladder_support import case_on, demo_student, record_absence
from tests.support import sign_in_head_teacher

HUTUBI = ZoneInfo("Asia/Shanghai")


async def turn(at: datetime, swept_on: date | None) -> date | None:
    with clock.as_of(at):
        return await run_once(swept_on)


async def test_the_day_two_step_comes_at_six_in_the_morning_county_time_not_in_utc(client) -> None:
    assert settings().ladder_sweep_hour == 6 and settings().county_timezone == "Asia/Shanghai"
    token = await sign_in_head_teacher()
    case = (await record_absence(client, token, await demo_student(), date(2026, 9, 1)))["case"]

    # 05:30 on Wednesday in Hutubi is 21:30 on Tuesday in UTC: past 06:00 UTC, not yet 06:00 in the county.
    early = await turn(datetime(2026, 9, 2, 5, 30, tzinfo=HUTUBI), swept_on=date(2026, 9, 1))

    assert early == date(2026, 9, 1)
    assert len((await case_on(client, token, case["id"], date(2026, 9, 2)))["tasks"]) == 1  # day 1's only

    swept = await turn(datetime(2026, 9, 2, 6, 5, tzinfo=HUTUBI), swept_on=early)

    assert swept == date(2026, 9, 2)
    wednesday = await case_on(client, token, case["id"], date(2026, 9, 2))
    assert len(wednesday["tasks"]) == 3  # day 2's steps, created by the sweep
    assert await turn(datetime(2026, 9, 2, 23, 50, tzinfo=HUTUBI), swept_on=swept) == swept  # once a day
