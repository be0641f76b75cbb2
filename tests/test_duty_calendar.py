"""The calendar of duties: a school year's recurring duties become dated tasks, once."""

from __future__ import annotations

from datetime import date

from models import clock
from models.tasks import Task
from models.users import UserRole
from tests.ladder_support import run
from tests.support import sign_in

PREVIEW = """query($year: String!) { dutyCalendarPreview(schoolYear: $year) { schoolYear total toCreate warnings
  items(first: 100) { title description dueDate exists unit { code } duty { code clause }
  cooperatingUnits { code } } } }"""
GENERATE = """mutation($year: String!) { dutyCalendarGenerate(input: {schoolYear: $year}) {
  created calendar { total toCreate } userErrors { field code } } }"""


async def test_preview_shows_the_year_and_writes_nothing(client) -> None:
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    preview = (await run(client, office, date(2026, 7, 20), PREVIEW, year="2026-2027"))["dutyCalendarPreview"]
    assert preview["total"] == preview["toCreate"] > 0
    assert await Task.all().count() == 0
    items = preview["items"]
    police = [(i["duty"]["code"], i["dueDate"]) for i in items if i["unit"]["code"] == "police"]
    assert ("census-population-data", "2026-07-31") in police
    assert all(not i["exists"] for i in items)


async def test_generating_a_year_twice_creates_nothing_twice(client) -> None:
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    first = (await run(client, office, date(2026, 8, 1), GENERATE, year="2026-2027"))["dutyCalendarGenerate"]
    assert first["userErrors"] == [] and first["created"] > 0
    count = await Task.all().count()
    again = (await run(client, office, date(2026, 8, 1), GENERATE, year="2026-2027"))["dutyCalendarGenerate"]
    assert again["created"] == 0 and again["calendar"]["toCreate"] == 0
    assert await Task.all().count() == count


async def test_each_recurring_duty_reaches_its_owners_with_its_deadline(client) -> None:
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    await run(client, office, date(2026, 8, 1), GENERATE, year="2026-2027")

    async def tasks_of(code: str) -> list[tuple[str, str]]:
        rows = await Task.filter(duty__code=code).prefetch_related("assignee_unit")
        return sorted((t.assignee_unit.code, clock.local(t.due_at).date().isoformat()) for t in rows)

    townships = await tasks_of("admission-notices")
    assert len(townships) == 7 and {d for _, d in townships} == {"2026-08-10"}  # the incoming grade 1
    notices = await Task.filter(duty__code="admission-notices", assignee_unit__code="dafeng").first()
    assert "年满6周岁" in notices.description
    monthly = await tasks_of("absence-monitoring")
    schools = {u for u, _ in monthly}
    assert "demo-high-1" not in schools and "demo-kindergarten-1" not in schools
    assert {"demo-primary-1", "demo-middle-1", "demo-nine-year-1"} <= schools
    assert len([d for u, d in monthly if u == "demo-primary-1"]) == 11  # August has no school day
    assert ("demo-primary-1", "2026-09-05") not in monthly
    assert ("demo-primary-1", "2026-10-05") in monthly  # September's report, due 5 October
    term_checks = [d for u, d in await tasks_of("term-start-check") if u == "demo-middle-1"]
    assert term_checks == ["2026-09-08", "2027-03-01"]
    handover = await Task.filter(duty__code="graduate-handover").prefetch_related("assignee_unit", "cooperators__unit")
    assert {t.assignee_unit.code for t in handover} == {"demo-primary-1", "demo-primary-2"}
    assert all("demo-middle-1" in [c.unit.code for c in t.cooperators] for t in handover)
    assert all("一周后由" in t.description for t in handover)
    evaluations = await Task.filter(duty__code="township-evaluation").prefetch_related("assignee_unit")
    assert len(evaluations) == 7 and {t.assignee_unit.code for t in evaluations} == {"supervision"}
    inspections = await tasks_of("venues-near-schools")
    assert [d for _, d in inspections] == ["2026-09-30", "2026-12-31", "2027-03-31", "2027-06-30"]


async def test_only_the_office_generates_and_a_bad_year_is_refused(client) -> None:
    liaison = await sign_in("education")
    refused = (await run(client, liaison, date(2026, 8, 1), GENERATE, year="2026-2027"))["dutyCalendarGenerate"]
    assert refused["userErrors"] == [{"field": "schoolYear", "code": "FORBIDDEN"}]
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    bad = (await run(client, office, date(2026, 8, 1), GENERATE, year="2026-2028"))["dutyCalendarGenerate"]
    assert bad["userErrors"] == [{"field": "schoolYear", "code": "INVALID"}]


PART_DONE = """mutation($id: ID!, $note: String!) { taskPartComplete(id: $id, input: {note: $note}) {
  task { status parts { unit { code } doneAt note } history { action comment } } userErrors { field code } } }"""
QUEUE = """{ viewer { taskQueue(first: 50) { nodes { id duty { code } whyMine } } } }"""


async def test_census_preparation_falls_before_the_census_it_feeds(client) -> None:
    from tasks.machinery import jobs

    with clock.as_of(clock.parse_moment("2026-06-01")):
        created = await jobs.calendar_of_the_day(date(2026, 6, 1))
    rows = await Task.filter(duty__code__in=["census-population-data", "household-census-organisation"]).values_list(
        "duty__code", "due_at"
    )
    assert created == len(rows) == 2  # only what falls before the year begins, two months ahead
    assert {clock.local(d).date() for _, d in rows} == {date(2026, 7, 31)}  # before the August 2026 census
    census = await Task.filter(duty__code="household-census").count()
    assert census == 0
    with clock.as_of(clock.parse_moment("2026-08-01")):
        await jobs.calendar_of_the_day(date(2026, 8, 1))
    census_due = {clock.local(t.due_at).date() for t in await Task.filter(duty__code="household-census")}
    assert census_due == {date(2026, 8, 31)}
    assert await Task.filter(duty__code="census-population-data").count() == 1  # not created twice


async def test_cooperators_of_a_kind_stay_on_the_tasks_and_each_reports_its_part(client) -> None:
    office = await sign_in("leading-group-office", UserRole.OFFICE)
    await run(client, office, date(2026, 8, 1), GENERATE, year="2026-2027")
    organisation = await Task.get(duty__code="household-census-organisation").prefetch_related("cooperators__unit")
    villages = {c.unit.code for c in organisation.cooperators}
    assert "demo-dafeng-v1" in villages and "demo-hutubi-town-c1" in villages  # every village of the county
    census = await Task.get(duty__code="household-census", assignee_unit__code="demo-primary-1").prefetch_related(
        "cooperators__unit"
    )
    from models.children import Student

    pupils_villages = set(
        await Student.filter(school__code="demo-primary-1", household__village_id__not_isnull=True).values_list(
            "household__village__code", flat=True
        )
    )
    assert pupils_villages and {c.unit.code for c in census.cooperators} == pupils_villages  # where its pupils live
    village = sorted(pupils_villages)[0]
    liaison = await sign_in(village)
    queue = (await run(client, liaison, date(2026, 8, 20), QUEUE))["viewer"]["taskQueue"]["nodes"]
    mine = [n for n in queue if n["duty"] and n["duty"]["code"] == "household-census"]
    assert mine and all(n["whyMine"].startswith("本单位协办") for n in mine)
    from api.ids import global_id

    done = await run(
        client, liaison, date(2026, 8, 20), PART_DONE, id=global_id("Task", census.id), note="本村42户已入户"
    )
    payload = done["taskPartComplete"]
    assert payload["userErrors"] == []
    part = next(p for p in payload["task"]["parts"] if p["unit"]["code"] == village)
    assert part["note"] == "本村42户已入户" and part["doneAt"] is not None
    assert payload["task"]["status"] == "OPEN"  # the school still completes its census
    assert payload["task"]["history"][-1]["action"] == "PART_DONE"
    outsider = await sign_in("demo-shitizi-v1")
    refused = await run(client, outsider, date(2026, 8, 20), PART_DONE, id=global_id("Task", census.id), note="x")
    assert refused["taskPartComplete"]["userErrors"] == [{"field": "id", "code": "NOT_FOUND"}]


def test_monthly_duties_follow_the_school_calendar_unless_always() -> None:
    from tasks.duties.calendar import periods

    months = {(2026, m) for m in (9, 10, 11, 12)} | {(2027, m) for m in (1, 2, 3, 4, 5, 6, 7)}
    followed = periods("monthly 5", "2026-2027", [], months)
    assert [p.key for p in followed][:2] == ["2026-09", "2026-10"] and len(followed) == 11
    always = periods("monthly 5 always", "2026-2027", [], months)
    assert always[0].key == "2026-08" and len(always) == 12
    before = periods("before-year 07-31", "2026-2027", [])
    assert [p.due for p in before] == [date(2026, 7, 31)]
