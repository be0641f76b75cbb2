"""Who owes what: the office's figures for a small made-up county, counted by hand, and who sees which rows."""

from __future__ import annotations

from typing import Any

from api.ids import global_id
from models import clock
from models.units import Unit
from models.users import UserRole
from tests.office_support import AS_OF, small_county
from tests.support import data_of, gql, sign_in

FIGURES = "total open dueSoon overdue escalated doneOnTime doneLate medianHoursToClose shareDoneByDeadline"
OWING = f"""query($from: Date!, $to: Date!, $unit: ID) {{ owing(from: $from, to: $to, unitId: $unit) {{
  from to
  totals {{ {FIGURES} }}
  trend {{ month figures {{ total doneOnTime doneLate overdue }} }}
  units {{ unit {{ code }} figures {{ {FIGURES} }} trend {{ month figures {{ total }} }}
    overdue: tasks(figure: OVERDUE) {{ totalCount nodes {{ title }} }}
    late: tasks(figure: DONE_LATE) {{ totalCount }}
    all: tasks {{ totalCount }} }}
  duties {{ duty {{ code }} clause owingUnits doneUnits taskCount doneTaskCount unitsNotDone {{ code }}
    trend {{ month taskCount doneCount }} tasks(figure: OPEN) {{ totalCount }} }}
  cases {{
    totals {{ active open opened closed cases {{ totalCount }} }}
    byKind {{ kind active open opened closed cases(figure: OPENED) {{ totalCount }} }}
    byTownship {{ township {{ code }} active open cases {{ totalCount }} }}
    byStage {{ stage active }}
    steps {{ rule {{ code }} expectation expectedSchoolDays count done withinExpectation overdue medianHours
      slowestHours shareWithinExpectation trend {{ month count withinExpectation }}
      late: tasks(figure: DONE_LATE) {{ totalCount }} }}
    trend {{ month opened closed }}
  }}
}} }}"""
PERIOD = {"from": "2026-09-01", "to": "2026-10-31"}


async def owing(client, token: str, unit: str | None = None) -> dict[str, Any]:
    variables: dict[str, Any] = dict(PERIOD)
    if unit:
        variables["unit"] = global_id("Unit", (await Unit.get(code=unit)).id)
    with clock.as_of(clock.parse_moment(AS_OF)):
        return data_of(await gql(client, OWING, variables, token))["owing"]


def row(rows: list[dict[str, Any]], code: str) -> dict[str, Any]:
    return next(r for r in rows if r["unit"]["code"] == code)


async def test_the_office_sees_every_figure_as_counted_by_hand(client) -> None:
    await small_county()
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    result = await owing(client, office)

    dafeng = row(result["units"], "dafeng")
    assert dafeng["figures"] == {
        "total": 5,  # d1-d5: d6 is cancelled, d7 falls after the period
        "open": 3,
        "dueSoon": 1,  # d4, due 25 October, within 7 days of 20 October
        "overdue": 1,
        "escalated": 1,
        "doneOnTime": 1,
        "doneLate": 1,
        "medianHoursToClose": 324.0,  # 7 days and 20 days
        "shareDoneByDeadline": 0.3333,  # 1 on time of 3 done or past due
    }
    assert dafeng["overdue"]["totalCount"] == 1 and dafeng["overdue"]["nodes"][0]["title"] == "dafeng 2026-10-10"
    assert dafeng["late"]["totalCount"] == 1 and dafeng["all"]["totalCount"] == 5
    assert [m["figures"]["total"] for m in dafeng["trend"]] == [2, 3]
    wugongtai = row(result["units"], "wugongtai")["figures"]
    assert (wugongtai["total"], wugongtai["medianHoursToClose"], wugongtai["shareDoneByDeadline"]) == (1, 24.0, 1.0)
    school = row(result["units"], "demo-primary-1")["figures"]
    assert (school["total"], school["overdue"], school["doneOnTime"], school["doneLate"]) == (3, 1, 1, 1)
    assert school["medianHoursToClose"] == 27.0

    assert result["totals"] == {
        "total": 9,
        "open": 4,
        "dueSoon": 1,
        "overdue": 2,
        "escalated": 1,
        "doneOnTime": 3,
        "doneLate": 2,
        "medianHoursToClose": 48.0,  # of 6, 24, 48, 168 and 480 hours
        "shareDoneByDeadline": 0.4286,  # 3 of 7
    }
    assert result["trend"] == [
        {"month": "2026-09", "figures": {"total": 4, "doneOnTime": 3, "doneLate": 1, "overdue": 0}},
        {"month": "2026-10", "figures": {"total": 5, "doneOnTime": 0, "doneLate": 1, "overdue": 2}},
    ]

    notices = next(d for d in result["duties"] if d["duty"]["code"] == "admission-notices")
    assert notices["clause"] == "四(一)6"
    assert (notices["owingUnits"], notices["doneUnits"], notices["taskCount"], notices["doneTaskCount"]) == (2, 1, 3, 2)
    assert notices["unitsNotDone"] == [{"code": "dafeng"}]
    assert notices["tasks"]["totalCount"] == 1  # what 大丰镇 still owes
    assert notices["trend"] == [
        {"month": "2026-09", "taskCount": 2, "doneCount": 2},
        {"month": "2026-10", "taskCount": 1, "doneCount": 0},
    ]

    cases = result["cases"]
    assert {k: cases["totals"][k] for k in ("active", "open", "opened", "closed")} == {
        "active": 3,
        "open": 2,
        "opened": 2,
        "closed": 1,
    }
    assert cases["totals"]["cases"]["totalCount"] == 3
    absent = next(k for k in cases["byKind"] if k["kind"] == "ABSENT_WITHOUT_REASON")
    assert (absent["active"], absent["open"], absent["opened"], absent["closed"]) == (2, 1, 2, 1)
    assert absent["cases"]["totalCount"] == 2
    towns = {t["township"]["code"]: (t["active"], t["open"], t["cases"]["totalCount"]) for t in cases["byTownship"]}
    assert towns == {"dafeng": (2, 1, 2), "wugongtai": (1, 1, 1)}
    assert sorted((s["stage"], s["active"]) for s in cases["byStage"]) == [
        ("HEAD_TEACHER", 1),
        ("REPORTED", 1),
        ("RETURNED", 1),
    ]
    assert cases["trend"] == [
        {"month": "2026-09", "opened": 1, "closed": 1},
        {"month": "2026-10", "opened": 1, "closed": 0},
    ]
    steps = {s["rule"]["code"]: s for s in cases["steps"]}
    day1 = steps["ladder:day1-head-teacher"]
    assert (day1["expectation"], day1["count"], day1["done"], day1["withinExpectation"]) == ("当日", 2, 2, 1)
    assert (day1["medianHours"], day1["slowestHours"], day1["shareWithinExpectation"]) == (27.0, 48.0, 0.5)
    assert day1["late"]["totalCount"] == 1
    assert day1["trend"] == [
        {"month": "2026-09", "count": 1, "withinExpectation": 1},
        {"month": "2026-10", "count": 1, "withinExpectation": 0},
    ]
    report = steps["ladder:report-file"]
    assert (report["expectation"], report["count"], report["overdue"], report["medianHours"]) == ("次日", 1, 1, None)


async def test_one_township_and_its_units(client) -> None:
    await small_county()
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    result = await owing(client, office, unit="dafeng")
    assert [r["unit"]["code"] for r in result["units"]] == ["dafeng"]
    assert result["totals"]["total"] == 5
    assert [t["township"]["code"] for t in result["cases"]["byTownship"]] == ["dafeng"]


async def test_a_unit_sees_its_own_rows_only(client) -> None:
    await small_county()
    township = await sign_in("dafeng")
    mine = await owing(client, township)
    assert [r["unit"]["code"] for r in mine["units"]] == ["dafeng"]
    assert mine["totals"]["total"] == 5 and mine["units"][0]["overdue"]["totalCount"] == 1
    assert [d["unitsNotDone"] for d in mine["duties"]] == [[{"code": "dafeng"}]]
    assert {t["township"]["code"] for t in mine["cases"]["byTownship"]} == {"dafeng"}  # its own cases only
    other = await owing(client, township, unit="wugongtai")
    assert other["units"] == [] and other["totals"]["total"] == 0 and other["duties"] == []
    liaison = await sign_in("demo-dafeng-v1")
    village = await owing(client, liaison)
    assert village["units"] == [] and village["totals"]["total"] == 0
    assert village["cases"]["totals"]["active"] == 0 and village["cases"]["steps"] == []
    head = await sign_in("demo-primary-1", UserRole.HEAD_TEACHER, "班主任")
    assert (await owing(client, head))["units"] == []


async def test_a_period_backwards_is_refused(client) -> None:
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    result = await gql(client, OWING, {"from": "2026-10-01", "to": "2026-09-01"}, office)
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
