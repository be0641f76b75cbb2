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
    assert ("census-population-data", "2027-07-31") in police
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
    assert len([d for u, d in monthly if u == "demo-primary-1"]) == 12
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
