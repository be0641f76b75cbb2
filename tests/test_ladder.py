"""The suspected-dropout ladder of 附件1, counted in school days, driven through the API."""

from __future__ import annotations

from datetime import date

from tests.ladder_support import case_on, demo_student, record_absence, tick
from tests.support import sign_in_head_teacher


async def test_absence_opens_case_and_day_one_task_for_head_teacher(client) -> None:
    token = await sign_in_head_teacher()
    student = await demo_student()

    payload = await record_absence(client, token, student, date(2026, 9, 1))

    assert payload["userErrors"] == []
    case = payload["case"]
    assert case["kind"] == "ABSENT_WITHOUT_REASON" and case["status"] == "OPEN"
    case = await case_on(client, token, case["id"], date(2026, 9, 1))
    assert case["absenceDays"] == 1
    assert [(t["assigneeUnit"]["code"], t["assigneeRole"], t["dueDate"]) for t in case["tasks"]] == [
        ("demo-primary-1", "HEAD_TEACHER", "2026-09-01")
    ]
    assert case["stage"] == "HEAD_TEACHER"


async def test_days_two_and_three_arrive_on_school_days_only(client) -> None:
    token = await sign_in_head_teacher()
    student = await demo_student()
    # Friday 4 September: day 1; the weekend does not count; Monday 7 is day 2, Tuesday 8 day 3.
    case = (await record_absence(client, token, student, date(2026, 9, 4)))["case"]

    await tick(date(2026, 9, 5))
    await tick(date(2026, 9, 6))
    weekend = await case_on(client, token, case["id"], date(2026, 9, 6))
    assert weekend["absenceDays"] == 1
    assert len(weekend["tasks"]) == 1

    await tick(date(2026, 9, 7))
    monday = await case_on(client, token, case["id"], date(2026, 9, 7))
    assert monday["absenceDays"] == 2
    roles = sorted(t["assigneeRole"] for t in monday["tasks"])
    assert roles == ["HEAD_TEACHER", "SCHOOL_LEADER", "SCHOOL_OFFICE"]

    await tick(date(2026, 9, 8))
    tuesday = await case_on(client, token, case["id"], date(2026, 9, 8))
    assert tuesday["absenceDays"] == 3
    assert tuesday["stage"] == "COLLECTIVE_VISIT"
    collective = [t for t in tuesday["tasks"] if "集体家访" in t["title"] and t["assigneeRole"] == "PRINCIPAL"]
    assert len(collective) == 1
    assert collective[0]["cooperatingUnits"] == [{"code": "demo-dafeng-v1"}]
    assert collective[0]["dueDate"] == "2026-09-08"


async def test_holiday_skipped_and_make_up_day_counted(client) -> None:
    token = await sign_in_head_teacher()
    student = await demo_student()
    # Thu 24 Sep day 1; Fri 25 is a holiday; Sun 27 is a make-up school day: day 2.
    case = (await record_absence(client, token, student, date(2026, 9, 24)))["case"]
    await tick(date(2026, 9, 25))
    assert (await case_on(client, token, case["id"], date(2026, 9, 25)))["absenceDays"] == 1
    await tick(date(2026, 9, 27))
    sunday = await case_on(client, token, case["id"], date(2026, 9, 27))
    assert sunday["absenceDays"] == 2
    assert len(sunday["tasks"]) == 3


async def test_running_the_sweep_twice_creates_nothing_twice(client) -> None:
    token = await sign_in_head_teacher()
    student = await demo_student()
    case = (await record_absence(client, token, student, date(2026, 9, 1)))["case"]
    for _ in range(3):
        await tick(date(2026, 9, 3))
    case = await case_on(client, token, case["id"], date(2026, 9, 3))
    titles = [t["title"] for t in case["tasks"]]
    assert len(titles) == len(set(titles)) == 6
