"""The cross-check benchmark (issue 11): 100,000 residents and 80,000 pupils, seeded by COPY into a fresh
PostgreSQL database, then the cross-check timed three times:

1. the first run, which finds everything and opens the findings, cases and tasks;
2. the same run again, which must create nothing;
3. a run after up to 1,000 of the children with a NOT_ENROLLED_GRADE1 case were enrolled (grade 1),
   which closes their findings and cases (销号).

The ladder's tasks for the cases the run opened are made by the outbox job that follows it (timed apart).
Writes its figures to docs/benchmark-registers.md between the `<!-- crosscheck -->` markers.

    ./scripts/bench crosscheck [--residents 100000] [--pupils 80000] [--keep] [--no-doc]

Needs PostgreSQL (BENCH_POSTGRES_ADMIN_URL, default postgres://postgres@127.0.0.1:5432/postgres). Goal: < 30 s.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

import asyncpg
import typer

from config import ROOT
from scripts.benchmarks.harness.database import (
    ADMIN_URL,
    drop_database,
    migrate_and_load_policy,
    recreate_database,
    unique_name,
)
from scripts.benchmarks.harness.report import replace_marked
from scripts.benchmarks.harness.report import say_timed as say
from scripts.benchmarks.harness.seeding import Copier

DOC = ROOT / "docs" / "benchmark-registers.md"
BEGIN, END = "<!-- crosscheck -->", "<!-- /crosscheck -->"
AS_OF = date(2026, 8, 31)
TODAY = date(2026, 9, 1)
VILLAGES_PER_TOWNSHIP = 12
GROUPS_PER_VILLAGE = 6
SCHOOLS = 120
SEED = 20260831
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def citizen_id(n: int, born: date) -> str:
    from models.citizen_id import make

    return make(f"{650000 + n // 1000:06d}", born, n % 1000)


async def seed(url: str, residents: int, pupils: int) -> dict[str, int]:
    """The county: villages, schools, village groups, households, residents, pupils, absences, the census."""
    rng = random.Random(SEED)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    counts: dict[str, int] = {}
    try:
        c = Copier(conn)
        townships = [r["id"] for r in await conn.fetch("SELECT id FROM unit WHERE kind = 'TOWNSHIP' ORDER BY id")]
        education = await conn.fetchval("SELECT id FROM unit WHERE code = 'education'")
        unit_id = await c.next_id("unit")
        units: list[dict[str, Any]] = []
        villages: list[tuple[int, int]] = []  # (village, township)
        for t in townships:
            for v in range(VILLAGES_PER_TOWNSHIP):
                units.append(_unit(unit_id, f"bench-v-{t}-{v}", f"基准村{t}-{v}", "VILLAGE", t, None))
                villages.append((unit_id, t))
                unit_id += 1
        levels = ["PRIMARY"] * 7 + ["JUNIOR_MIDDLE"] * 3 + ["KINDERGARTEN"] * 2 + ["HIGH_SCHOOL"]
        schools: dict[str, list[int]] = {}
        for s in range(SCHOOLS):
            level = levels[s % len(levels)]
            units.append(_unit(unit_id, f"bench-s-{s}", f"基准学校{s}", "SCHOOL", education, level))
            schools.setdefault(level, []).append(unit_id)
            unit_id += 1
        counts["units"] = await c.copy("unit", units)

        group_id = await c.next_id("village_group")
        groups: list[dict[str, Any]] = []
        group_of: list[tuple[int, int, int]] = []  # (group, village, township)
        for village, township in villages:
            for g in range(GROUPS_PER_VILLAGE):
                groups.append(
                    {
                        "id": group_id,
                        "village_id": village,
                        "name": f"{g + 1}组",
                        "kind": "VILLAGE_GROUP",
                        "school_id": None,
                        "created_at": now,
                    }
                )
                group_of.append((group_id, village, township))
                group_id += 1
        # 30% of the groups have a 2026 census book; the book's school is the group's catchment school.
        census_groups = {g[0]: rng.choice(schools["PRIMARY"]) for g in group_of if rng.random() < 0.3}
        for row in groups:
            row["school_id"] = census_groups.get(row["id"])
        counts["village_groups"] = await c.copy("village_group", groups)

        household_id = await c.next_id("household")
        households: list[dict[str, Any]] = []
        people: list[dict[str, Any]] = []
        resident_id = await c.next_id("resident")
        span = (AS_OF - date(2008, 9, 1)).days
        while len(people) < residents:
            group, village, township = rng.choice(group_of)
            households.append(
                {
                    "id": household_id,
                    "township_id": township,
                    "village_id": village,
                    "village_group_id": group,
                    "household_number": f"B{household_id:08d}",
                    "head_name": f"户主{household_id}",
                    "registration_place": "基准地址",
                    "home_address": "基准地址",
                    "family_situation": "",
                    "created_at": now,
                }
            )
            for _ in range(rng.choice((1, 2, 2, 3))):
                if len(people) >= residents:
                    break
                n = len(people)
                born = date(2008, 9, 1) + timedelta(days=rng.randrange(span))
                people.append(
                    {
                        "id": resident_id,
                        "citizen_id": citizen_id(n, born),
                        "name": f"居民{n}",
                        "gender": "MALE" if n % 2 else "FEMALE",
                        "birth_date": born,
                        "ethnicity": "",
                        "household_id": household_id,
                        "village_group_id": group,
                        "township_id": township,
                        "village_id": village,
                        "registered_address": "基准户籍地址",
                        "actual_address": "基准现住址",
                        "living_here": True,
                        "guardian_name": "监护人",
                        "guardian_phone": "13900000000",
                        "source": "police",
                        "as_of": date(2026, 7, 31),
                        "version": 1,
                        "is_demo": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                resident_id += 1
            household_id += 1

        # Pupils: residents aged 3-18 on the date, at a school of their age, until there are `pupils`.
        def age(born: date) -> int:
            return AS_OF.year - born.year - ((AS_OF.month, AS_OF.day) < (born.month, born.day))

        eligible = [p for p in people if 3 <= age(p["birth_date"]) <= 18]
        rng.shuffle(eligible)
        chosen = eligible[:pupils]
        student_id = await c.next_id("student")
        students: list[dict[str, Any]] = []
        for p in chosen:
            a = age(p["birth_date"])
            level = "KINDERGARTEN" if a < 6 else "PRIMARY" if a < 12 else "JUNIOR_MIDDLE" if a < 15 else "HIGH_SCHOOL"
            grade = 0 if a < 6 else min(a - 5, 12)
            students.append(
                {
                    "id": student_id,
                    "name": p["name"],
                    "gender": p["gender"],
                    "birth_date": p["birth_date"],
                    "citizen_id": p["citizen_id"],
                    "student_number": None,
                    "school_id": rng.choice(schools[level]),
                    "grade": grade,
                    "class_name": "1班",
                    "head_teacher_id": None,
                    "head_teacher_name": "",
                    "household_id": p["household_id"],
                    "is_demo": False,
                    "created_at": now,
                    "roll_status": "ENROLLED",  # school-roll's column (merged)
                }
            )
            student_id += 1
        # 1% of the pupils live outside the county (人籍分离).
        by_citizen = {p["citizen_id"]: p for p in people}
        for s in rng.sample(students, len(students) // 100):
            by_citizen[s["citizen_id"]]["living_here"] = False
            by_citizen[s["citizen_id"]]["actual_address"] = "县外"
        counts["households"] = await c.copy("household", households)
        counts["residents"] = await c.copy("resident", people)
        counts["pupils"] = await c.copy("student", students)

        # 500 pupils on the roll but absent twelve school days in June, their cases open (空挂学籍).
        case_id = await c.next_id("dropout_case")
        absence_id = await c.next_id("absence")
        township_of = {h["id"]: h["township_id"] for h in households}
        cases, absences = [], []
        june = [d for d in (date(2026, 6, 8) + timedelta(days=i) for i in range(20)) if d.weekday() < 5][:12]
        for s in rng.sample([s for s in students if s["grade"] >= 1], 500):
            cases.append(
                {
                    "id": case_id,
                    "student_id": s["id"],
                    "kind": "ABSENT_WITHOUT_REASON",
                    "status": "OPEN",
                    "stage": "OPENED",
                    "open_key": f"{s['id']}:ABSENT_WITHOUT_REASON",
                    "episode": 1,
                    "school_id": s["school_id"],
                    "township_id": township_of[s["household_id"]],
                    "absent_since": june[0],
                    "escalation_level": 0,
                    "opened_at": now,
                    "version": 1,
                }
            )
            for day in june:
                absences.append(
                    {
                        "id": absence_id,
                        "student_id": s["id"],
                        "case_id": case_id,
                        "day": day,
                        "note": "",
                        "recorded_at": now,
                    }
                )
                absence_id += 1
            case_id += 1
        counts["absence_cases"] = await c.copy("dropout_case", cases)
        counts["absences"] = await c.copy("absence", absences)

        # The 2026 census: a book per census group, a page per household, a line per resident of it;
        # plus 500 persons only the census knows, 300 pupils it finds at another school, a tenth of the
        # children it finds not enrolled explained (县外就读).
        book_id = await c.next_id("census_book")
        page_id = await c.next_id("census_page")
        line_id = await c.next_id("census_line")
        books, pages, lines = [], [], []
        book_of: dict[int, int] = {}
        for group, school in census_groups.items():
            books.append(
                {"id": book_id, "year": 2026, "village_group_id": group, "school_id": school, "updated_at": now}
            )
            book_of[group] = book_id
            book_id += 1
        page_of: dict[int, int] = {}
        for h in households:
            if h["village_group_id"] in book_of:
                pages.append(
                    {
                        "id": page_id,
                        "book_id": book_of[h["village_group_id"]],
                        "household_id": h["id"],
                        "household_number": h["household_number"],
                        "head_name": h["head_name"],
                        "address": h["home_address"],
                        "position": page_id,
                    }
                )
                page_of[h["id"]] = page_id
                page_id += 1
        student_of = {s["citizen_id"]: s for s in students}
        in_census = [p for p in people if p["household_id"] in page_of]
        mismatched = {p["citizen_id"] for p in rng.sample([p for p in in_census if p["citizen_id"] in student_of], 300)}
        unenrolled = [p for p in in_census if p["citizen_id"] not in student_of and 6 <= age(p["birth_date"]) <= 15]
        explained = {p["citizen_id"] for p in unenrolled[: len(unenrolled) // 10]}
        for p in in_census:
            s = student_of.get(p["citizen_id"])
            status = "IN_SCHOOL" if s else "OUT_OF_COUNTY" if p["citizen_id"] in explained else "NOT_ENROLLED"
            school = s["school_id"] if s else None
            if p["citizen_id"] in mismatched:
                school = rng.choice([x for x in schools["PRIMARY"] if x != school])
            lines.append(_line(line_id, page_of[p["household_id"]], book_of[p["village_group_id"]], p, status, school))
            line_id += 1
        for n in range(500):
            h = rng.choice([h for h in households[:5000] if h["id"] in page_of])
            born = date(2014, 1, 1) + timedelta(days=n)
            ghost = {
                "citizen_id": citizen_id(900_000 + n, born),
                "name": f"普查{n}",
                "gender": "MALE",
                "birth_date": born,
            }
            lines.append(_line(line_id, page_of[h["id"]], book_of[h["village_group_id"]], ghost, "NOT_ENROLLED", None))
            line_id += 1
        counts["census_books"] = await c.copy("census_book", books)
        counts["census_pages"] = await c.copy("census_page", pages)
        counts["census_lines"] = await c.copy("census_line", lines)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return counts


def _unit(pk: int, code: str, name: str, kind: str, parent: int | None, level: str | None) -> dict[str, Any]:
    return {
        "id": pk,
        "code": code,
        "name": name,
        "kind": kind,
        "parent_id": parent,
        "school_level": level,
        "is_demo": True,
        "designated_middle_school_id": None,
        "position": 50_000 + pk,
    }


def _line(pk: int, page: int, book: int, p: dict[str, Any], status: str, school: int | None) -> dict[str, Any]:
    return {
        "id": pk,
        "page_id": page,
        "book_id": book,
        "position": pk,
        "citizen_id": p["citizen_id"],
        "name": p["name"],
        "gender": p["gender"],
        "birth_date": p["birth_date"],
        "relation": "子女",
        "status": status,
        "school_id": school,
        "school_text": "",
        "grade_text": "",
        "guardian_name": "监护人",
        "guardian_phone": "13900000000",
        "remark": "",
    }


async def timed_runs(url: str) -> list[dict[str, Any]]:
    from models import clock
    from models.children import Student
    from models.db import connected
    from models.population import CrossCheckFinding, FindingKind, FindingStatus
    from tasks.machinery.jobs import process_outbox
    from tasks.registers.crosscheck import run_crosscheck

    results: list[dict[str, Any]] = []
    async with connected(url):
        with clock.as_of(clock.parse_moment(TODAY.isoformat())):
            for label in ("first run", "second run (nothing new)", "enrolled"):
                if label == "enrolled":  # as the roll import would: up to 1,000 of the children with a case
                    ids = (
                        await CrossCheckFinding.filter(
                            kind=FindingKind.NOT_ENROLLED, status=FindingStatus.OPEN, case_id__not_isnull=True
                        )
                        .limit(1000)
                        .values_list("student_id", flat=True)
                    )
                    await Student.filter(id__in=list(ids)).update(grade=1)
                    label = f"after {len(ids):,} of them enrolled in grade 1"
                say(f"cross-check: {label} ...")
                started = time.perf_counter()
                run = await run_crosscheck(AS_OF)
                seconds = time.perf_counter() - started
                started = time.perf_counter()
                events = await process_outbox()
                ladder = time.perf_counter() - started
                say(f"  {seconds:.2f} s; summary {run.summary}; then the outbox: {events} event(s) in {ladder:.2f} s")
                results.append({"label": label, "seconds": seconds, "summary": run.summary, "outbox": (events, ladder)})
    return results


async def timed_upserts(url: str, count: int) -> list[tuple[str, float, Any]]:
    """The register's write path as the importer calls it: `count` new residents, the same again, 10% changed."""
    from dataclasses import replace

    from models.children import Gender
    from models.db import connected
    from models.units import Unit
    from tasks.registers.population import ResidentRow, upsert_residents

    rng = random.Random(SEED + 1)
    results: list[tuple[str, float, Any]] = []
    async with connected(url):
        villages = await Unit.filter(code__startswith="bench-v-").values_list("id", "parent_id")
        rows = []
        for n in range(count):
            born = date(2008, 9, 1) + timedelta(days=rng.randrange(6500))
            village, township = villages[n % len(villages)]
            rows.append(
                ResidentRow(
                    citizen_id=citizen_id(500_000 + n, born),
                    name=f"导入{n}",
                    gender=Gender.MALE if n % 2 else Gender.FEMALE,
                    birth_date=born,
                    township_id=township,
                    village_id=village,
                    village_group=f"{n % 6 + 1}组",
                    household_number=f"U{n // 2:08d}",
                    head_name="户主",
                    registered_address="户籍地址",
                    actual_address="现住址",
                    guardian_name="监护人",
                    guardian_phone="13900000000",
                )
            )
        changed = [replace(r, actual_address="新址") if i % 10 == 0 else r for i, r in enumerate(rows)]
        for label, batch, as_of in (
            (f"{count:,} new residents", rows, date(2026, 7, 31)),
            ("the same file again", rows, date(2026, 7, 31)),
            ("a newer file, 10% changed", changed, date(2026, 8, 20)),
        ):
            say(f"upsert_residents: {label} ...")
            started = time.perf_counter()
            summary = await upsert_residents(batch, "police", as_of)
            seconds = time.perf_counter() - started
            say(f"  {seconds:.2f} s: {summary}")
            results.append((label, seconds, summary))
    return results


def write_doc(
    residents: int,
    pupils: int,
    counts: dict[str, int],
    seed_seconds: float,
    runs: list[dict[str, Any]],
    upserts: list[tuple[str, float, Any]],
) -> None:
    lines = [
        BEGIN,
        "## Cross-check",
        "",
        f"`./scripts/bench crosscheck` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: a fresh "
        f"PostgreSQL database seeded by `COPY` with {residents:,} residents (0-18) and {pupils:,} pupils, "
        f"{counts.get('census_lines', 0):,} census lines in {counts.get('census_books', 0):,} household books, "
        f"{counts.get('absence_cases', 0)} pupils absent with open cases, 1% of pupils living outside the county "
        f"(seeded in {seed_seconds:.1f} s). The cross-check as of {AS_OF} (goal: under 30 s):",
        "",
        "| run | cross-check | found | opened | closed | cases opened / closed | tasks | ladder (outbox job) |",
        "|---|---:|---|---|---|---:|---:|---:|",
    ]

    def counts_of(d: dict[str, int]) -> str:
        return ", ".join(f"{k} {v:,}" for k, v in sorted(d.items())) or "—"

    for r in runs:
        s = r["summary"]
        events, ladder = r["outbox"]
        lines.append(
            f"| {r['label']} | {r['seconds']:.2f} s | {counts_of(s['found'])} | {counts_of(s['opened'])} | "
            f"{counts_of(s['closed'])} | {s['cases_opened']:,} / {s['cases_closed']:,} | {s['tasks_created']:,} | "
            f"{events:,} event(s), {ladder:.2f} s |"
        )
    lines += [
        "",
        "The matching is one SQL statement per kind of finding; findings, grade-0 records, cases, tasks and outbox "
        "events are written with bulk inserts in batches of 1,000, in one transaction. The ladder's tasks for the "
        "new cases are made by the outbox job the run ends with (timed in the last column).",
        "",
        "The register's write path alone (`upsert_residents`, what the importer calls after reading and checking "
        "a file; batches of 1,000: COPY on PostgreSQL, lookups by semi-join, a version row per change), in the "
        "same database:",
        "",
        "| rows | seconds | imported | updated | unchanged |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {label} | {seconds:.2f} s | {s.imported:,} | {s.updated:,} | {s.unchanged:,} |"
            for label, seconds, s in upserts
        ),
        "",
        f"Machine: {os.cpu_count()} cores shared with other work (load average at the end "
        f"{os.getloadavg()[0]:.1f}); figures vary with that load.",
        END,
    ]
    replace_marked(DOC, BEGIN, END, "\n".join(lines), "# Benchmarks of the registers")


async def run(residents: int, pupils: int, keep: bool, doc: bool) -> None:
    name = unique_name("kc_bench_crosscheck")
    say(f"database {name}: migrating and loading the policy ...")
    url = await recreate_database(ADMIN_URL, name)
    try:
        await migrate_and_load_policy(url)
        say(f"seeding {residents:,} residents and {pupils:,} pupils by COPY ...")
        started = time.perf_counter()
        counts = await seed(url, residents, pupils)
        seed_seconds = time.perf_counter() - started
        say(f"  seeded in {seed_seconds:.1f} s: {counts}")
        runs = await timed_runs(url)
        upserts = await timed_upserts(url, residents)
        if doc:
            write_doc(residents, pupils, counts, seed_seconds, runs, upserts)
            say(f"figures written to {DOC.relative_to(ROOT)}")
        first = runs[0]["seconds"]
        say(f"summary: first run {first:.2f} s (goal < 30 s: {'met' if first < 30 else 'NOT met'})")
    finally:
        if not keep:
            await drop_database(ADMIN_URL, name)


@app.command()
def main(
    residents: int = 100_000,
    pupils: int = 80_000,
    keep: Annotated[bool, typer.Option("--keep", help="keep the database afterwards")] = False,
    no_doc: Annotated[bool, typer.Option("--no-doc", help="do not write docs/benchmark-registers.md")] = False,
) -> None:
    """The cross-check over a seeded county, three runs; writes docs/benchmark-registers.md (its section)."""
    asyncio.run(run(residents, pupils, keep, not no_doc))


if __name__ == "__main__":
    app()
