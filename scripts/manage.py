"""The operator's command line (Typer): ./scripts/manage --help."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from config import settings
from models.db import apply_migrations, connected

T = TypeVar("T")
app = typer.Typer(
    help="控辍保学 back end: set-up, data and operations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="People who sign in.", no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens.", no_args_is_help=True)
task_app = typer.Typer(help="Tasks by hand.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(task_app, name="task")
calendar_app = typer.Typer(help="The calendar of duties.", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")
crosscheck_app = typer.Typer(
    help="The cross-check of the roll with the population register (四(一)3).", no_args_is_help=True
)
app.add_typer(crosscheck_app, name="crosscheck")


def fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


def with_database(work: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        async with connected():
            return await work()

    return asyncio.run(run())


@app.command()
def migrate() -> None:
    """Apply the committed database migrations (safe to run again)."""

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            typer.echo(f"  applied {app_label}.{name}")

    asyncio.run(apply_migrations(progress=progress))
    typer.echo("migrations: database is current")


@app.command()
def seed(
    files: Annotated[list[Path] | None, typer.Argument(help="policy files; default the county's and its demo")] = None,
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="also load the clearly marked demo villages and schools; "
            "default: DEMO_DATA, else only on the embedded SQLite default",
        ),
    ] = None,
) -> None:
    """Load the county's organisation and duty register (loading twice changes nothing)."""
    from tasks.policy.load import PolicyError, load_policy

    if not files:
        files = [settings().policy_file]
        demo_file = settings().policy_file.with_name(settings().policy_file.stem + "-demo.yaml")
        if (settings().wants_demo() if demo is None else demo) and demo_file.exists():
            files.append(demo_file)
    for f in files:
        typer.echo(f"reading {f}")
    try:
        summary = with_database(lambda: load_policy(files))
    except PolicyError as exc:
        raise fail(str(exc)) from exc
    typer.echo(
        f"seed: units +{summary.units_created} ~{summary.units_updated}, "
        f"people +{summary.people_created} ~{summary.people_updated}, "
        f"duties +{summary.duties_created} ~{summary.duties_updated}, "
        f"calendars +{summary.calendars_created} ~{summary.calendars_updated}, "
        f"demo students +{summary.students_created}, rules ~{summary.rules_changed}"
        + ("" if summary.changed else " (already up to date)")
    )


@user_app.command("create")
def user_create(
    unit: Annotated[str, typer.Option(help="unit code, e.g. education, dafeng")],
    role: Annotated[
        str,
        typer.Option(
            help="liaison (a unit's 联络员), unit_leader, head_teacher (班主任), school_office (教务处), "
            "school_leader, principal, office (领导小组办公室: sees every unit) or admin"
        ),
    ],
    name: Annotated[str, typer.Option(help="the person's name")],
) -> None:
    """Create a user and print a new bearer token alone on the last line."""
    from models.accounts import create_user, issue_token
    from models.units import Unit
    from models.users import UserRole

    try:
        user_role = UserRole(role.upper())
    except ValueError as exc:
        raise fail(f"unknown role {role!r}; use one of: {', '.join(r.lower() for r in UserRole)}") from exc
    if not name.strip():
        raise fail("--name must not be empty")

    async def work() -> str:
        row = await Unit.get_or_none(code=unit)
        if row is None:
            raise fail(f"no unit with code {unit!r}; run ./scripts/manage seed, or see README 'Unit codes'")
        user = await create_user(row, user_role, name)
        typer.echo(f"created user {user.name} ({user_role.value.lower()}) of {row.name} [{row.code}]")
        return await issue_token(user)

    typer.echo(with_database(work))


@token_app.command("issue")
def token_issue(user_id: Annotated[int, typer.Option(help="the user's number")]) -> None:
    """Issue another token for an existing user; prints it alone on the last line."""
    from models.accounts import issue_token
    from models.users import User

    async def work() -> str:
        user = await User.get_or_none(id=user_id, is_active=True)
        if user is None:
            raise fail(f"no active user {user_id}")
        return await issue_token(user)

    typer.echo(with_database(work))


@token_app.command("revoke")
def token_revoke(token: Annotated[str, typer.Argument(help="the token, or its first 10 characters")]) -> None:
    """Revoke a token; it stops working at once."""
    from models.accounts import revoke_token
    from tasks.machinery import dispatch

    async def work() -> int:
        revoked = await revoke_token(token)
        await dispatch.nudge()  # open WebSockets of the token close on every API process
        await dispatch.close()
        return revoked

    count = with_database(work)
    if count == 0:
        raise fail("no live token matches; it may be revoked already")
    typer.echo(f"revoked {count} token(s)")


@task_app.command("create")
def task_create(
    unit: Annotated[str, typer.Option(help="code of the unit that owns the task")],
    title: Annotated[str, typer.Option(help="what is to be done, as the county writes it")],
    due: Annotated[str, typer.Option(help="YYYY-MM-DD, due by the end of that day (county time)")],
    cooperator: Annotated[list[str] | None, typer.Option(help="code of a cooperating unit; repeatable")] = None,
    duty: Annotated[str | None, typer.Option(help="code of the duty it carries out")] = None,
) -> None:
    """Create a task by hand; prints its global id on the last line."""
    from api.ids import global_id
    from models.duties import Duty
    from models.units import Unit
    from tasks.errors import DomainError
    from tasks.queue.workflow import create_task

    try:
        due_day = date.fromisoformat(due)
    except ValueError as exc:
        raise fail(f"--due {due!r} is not a date; write it as YYYY-MM-DD") from exc

    async def work() -> str:
        owner = await Unit.get_or_none(code=unit)
        if owner is None:
            raise fail(f"no unit with code {unit!r}")
        partners = []
        for code in cooperator or []:
            partner = await Unit.get_or_none(code=code)
            if partner is None:
                raise fail(f"no unit with code {code!r} (--cooperator)")
            partners.append(partner)
        duty_row = None
        if duty:
            duty_row = await Duty.get_or_none(code=duty)
            if duty_row is None:
                raise fail(f"no duty with code {duty!r}")
        try:
            task, _ = await create_task(title=title, unit=owner, due=due_day, duty=duty_row, cooperators=partners)
        except DomainError as exc:
            raise fail(exc.message) from exc
        typer.echo(f"created task {task.id} for {owner.name}, due {due_day}")
        from tasks.machinery import dispatch

        await dispatch.nudge()  # subscribers and webhooks hear of it at once
        await dispatch.close()
        return global_id("Task", task.id)

    typer.echo(with_database(work))


@app.command()
def worker() -> None:
    """Run the arq worker (needs REDIS_URL). Start as many as the load needs."""
    from tasks.machinery.failures import check_redis
    from tasks.machinery.worker import run

    if not settings().redis_url:
        raise fail("REDIS_URL is not set; without Redis the server runs the jobs itself (see README)")

    async def preflight() -> None:  # each known failure as one line now, not arq's retries and a traceback
        from tortoise import connections

        await check_redis()
        async with connected():
            await connections.get("default").execute_query("SELECT 1")

    asyncio.run(preflight())
    run()


@app.command()
def tick(
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD: run the sweeps as of this day")] = None,
    here: Annotated[bool, typer.Option(help="run in this process even when REDIS_URL is set")] = False,
) -> None:
    """Run every sweep (outbox, then the daily ladder) as of a day; replays weeks in seconds.

    With CLOCK_SOURCE=database it also sets the clock every process follows to that day.
    """
    from models import clock
    from tasks.machinery import dispatch, jobs

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise fail(f"--as-of {as_of!r} is not a date; write it as YYYY-MM-DD") from exc

    async def work() -> dict[str, int]:
        if day is not None and settings().clock_source == "database":
            await clock.set_shared(clock.parse_moment(day.isoformat()))
        if here or not settings().redis_url:
            result = await jobs.tick(day)
            return {"cases": result.cases, "tasks_created": result.tasks_created}
        try:
            return await dispatch.run_tick(day, wait_seconds=120)
        except TimeoutError as exc:
            raise fail(
                "no worker finished the tick within 120 s: is `./scripts/manage worker` running? "
                "(--here runs the sweeps in this process instead)"
            ) from exc
        finally:
            await dispatch.close()

    result = with_database(work)
    typer.echo(
        f"tick as of {day or 'today'}: {result['cases']} open case(s), {result['tasks_created']} task(s) created"
    )


@calendar_app.command("generate")
def calendar_generate(
    school_year: Annotated[str, typer.Option(help="like 2026-2027")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would be created; write nothing")] = False,
) -> None:
    """Turn the recurring duties into dated tasks for a school year (twice creates nothing twice)."""
    import time
    from collections import Counter

    from tasks.duties.calendar import generate_school_year, plan_school_year

    async def work() -> None:
        started = time.perf_counter()
        try:
            plan = await (plan_school_year if dry_run else generate_school_year)(school_year)
        except ValueError as exc:
            raise fail(str(exc)) from exc
        for warning in plan.warnings:
            typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
        by_duty = Counter(i.title.split("（")[0].split("：")[0] for i in plan.new_items)
        for title, count in by_duty.most_common():
            typer.echo(f"  {count:6d}  {title}")
        verb = "would create" if dry_run else "created"
        typer.echo(
            f"duty calendar {school_year}: {verb} {len(plan.new_items)} task(s), "
            f"{len(plan.existing_keys)} already there, in {time.perf_counter() - started:.1f} s"
        )

    with_database(work)


DEMO_UNIT = "demo-primary-1"
DEMO_USER = "【演示】教务主任"


@app.command()
def demo() -> None:
    """Ready the demo for a first query: the duty calendar of this school year, and a demo user's token (last line).

    Needs the demo data (./scripts/serve loads it on the embedded SQLite default; or seed --demo).
    The user is 【演示】教务主任 (school_office) of 【演示】 primary school 1: its queue has tasks, and it
    may record a demo pupil's absence, which opens a case on the ladder. Running it again reuses both.
    """
    from models import clock
    from models.accounts import create_user, issue_token
    from models.units import Unit
    from models.users import User, UserRole
    from tasks.duties.calendar import generate_school_year
    from tasks.school_days import school_year_of

    async def work() -> str:
        unit = await Unit.get_or_none(code=DEMO_UNIT)
        if unit is None:
            raise fail(
                "没有演示数据 (no demo data): run ./scripts/manage seed --demo first "
                "(demo data is loaded by default only on the embedded SQLite database)"
            )
        await clock.refresh()
        year = school_year_of(clock.today())
        try:
            plan = await generate_school_year(year)
        except ValueError as exc:
            typer.secho(f"warning: duty calendar {year} not generated: {exc}", fg=typer.colors.YELLOW, err=True)
        else:
            typer.echo(f"duty calendar {year}: {len(plan.new_items)} task(s) created, {len(plan.existing_keys)} there")
        user = await User.get_or_none(unit=unit, name=DEMO_USER, is_active=True)
        if user is None:
            user = await create_user(unit, UserRole.SCHOOL_OFFICE, DEMO_USER)
        typer.echo(f"demo user {user.name} (school_office) of {unit.name} [{unit.code}]; a new token:")
        return await issue_token(user)

    typer.echo(with_database(work))


IMPORT_KINDS = {"population": "POPULATION", "roll": "ROLL", "census": "CENSUS"}
DEFAULT_IMPORT_UNIT = {"population": "police", "roll": "education"}


@app.command("import")
def import_file(
    kind: Annotated[str, typer.Argument(help="population (公安局人口数据), roll (学籍), census (学户册普查表)")],
    file: Annotated[Path, typer.Argument(help="a CSV (UTF-8 or GBK) or XLSX/XLS/ODS file")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="check and report; write nothing")] = False,
    all_or_nothing: Annotated[bool, typer.Option("--all-or-nothing", help="write nothing if any row is bad")] = False,
    unit: Annotated[
        str | None,
        typer.Option(help="unit code whose data it is (census: the school); default police / education"),
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="YYYY-MM-DD: the day the file speaks for (default today)")
    ] = None,
    here: Annotated[bool, typer.Option(help="run in this process even when REDIS_URL is set")] = False,
) -> None:
    """Import a file with a progress bar, then print the summary (imported / updated / ignored, bad rows)."""
    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from api.ids import global_id
    from models import audit
    from models.audit import AuditAction
    from models.imports import ImportConflict, ImportKind, ImportRun, ImportStatus
    from models.units import Unit
    from tasks.machinery import dispatch
    from tasks.registers.imports.run import execute, record_run, store_local_file

    if kind not in IMPORT_KINDS:
        raise fail(f"unknown kind {kind!r}; use population, roll or census")
    if not file.is_file():
        raise fail(f"no such file: {file}")
    try:
        source_day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise fail(f"--as-of {as_of!r} is not a date; write it as YYYY-MM-DD") from exc
    unit_code = unit or DEFAULT_IMPORT_UNIT.get(kind)
    if unit_code is None:
        raise fail("census sheets belong to a school: give --unit <school code>")
    console = Console(stderr=True)

    async def work() -> ImportRun:
        row = await Unit.get_or_none(code=unit_code)
        if row is None:
            raise fail(f"no unit with code {unit_code!r}; see README 'Unit codes'")
        stored = await store_local_file(file)
        run = await record_run(
            ImportKind(IMPORT_KINDS[kind]),
            file_name=file.name,
            stored=stored,
            unit=row,
            user=None,
            uploaded_by_name="cli",
            dry_run=dry_run,
            atomic=all_or_nothing,
            as_of=source_day,
        )
        await audit.record(
            AuditAction.WRITE,
            source="cli",
            operation="import",
            target=global_id("ImportRun", run.id),
            detail={"kind": run.kind.value, "file": file.name, "sha256": run.sha256, "unit": unit_code,
                    "dryRun": dry_run, "atomic": all_or_nothing},
        )  # fmt: skip
        through_worker = bool(settings().redis_url) and not here
        job = None
        if through_worker:
            await dispatch.nudge_import(run.id)
        else:
            job = asyncio.create_task(execute(run.id))
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(f"importing {file.name}", total=None)
            started = time.monotonic()
            while True:
                current = await ImportRun.get(id=run.id)
                bar.update(task, total=current.rows_total, completed=current.rows_done)
                if current.status in (ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED):
                    bar.update(task, total=current.rows_total or current.rows_done, completed=current.rows_done)
                    break
                if through_worker and current.status is ImportStatus.PENDING and time.monotonic() - started > 60:
                    raise fail(
                        "no worker took the import within 60 s: is `./scripts/manage worker` running? "
                        "(--here runs it in this process instead)"
                    )
                if job is not None and job.done():
                    job.result()
                await asyncio.sleep(0.3)
        if through_worker:
            await dispatch.close()
        current.conflict_rows = await ImportConflict.filter(run_id=run.id).order_by("line", "id").limit(20)  # type: ignore[attr-defined]
        return current

    try:
        run = with_database(work)
    except typer.Exit:
        raise
    except Exception as exc:  # one line, never a traceback
        raise fail(f"import failed: {exc}") from exc
    verb = "would import" if run.dry_run else "imported"
    typer.echo(
        f"{run.status.value.lower()}: {run.rows_done} row(s); {verb} {run.imported}, updated {run.updated}, "
        f"unchanged {run.unchanged}, ignored {run.ignored}, {run.conflict_count} conflict(s)"
        + (" (dry run: nothing written)" if run.dry_run else "")
    )
    for conflict in run.conflict_rows:  # type: ignore[attr-defined]
        typer.echo(f"  line {conflict.line} [{conflict.column}] {conflict.value!r} {conflict.code}: {conflict.message}")
    if run.conflict_count > len(run.conflict_rows):  # type: ignore[attr-defined]
        typer.echo(
            f'  ... and {run.conflict_count - len(run.conflict_rows)} more: importRun(id: "{global_id_of(run.id)}")'
        )  # type: ignore[attr-defined]
    if run.status.value in ("REFUSED", "FAILED"):
        raise fail(f"{run.error_code}: {run.error}")


def global_id_of(pk: int) -> str:
    from api.ids import global_id

    return global_id("ImportRun", pk)


@crosscheck_app.command("run")
def crosscheck_run(
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD; default 31 August")] = None,
    here: Annotated[bool, typer.Option(help="run in this process even when REDIS_URL is set")] = False,
) -> None:
    """Cross-check the roll with the population register and the census; twice creates nothing twice."""
    import time

    from tasks.errors import DomainError
    from tasks.machinery import dispatch, jobs
    from tasks.registers.crosscheck import start_run

    try:
        day = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise fail(f"--as-of {as_of!r} is not a date; write it as YYYY-MM-DD") from exc

    async def work() -> dict[str, object]:
        try:
            if here or not settings().redis_url:
                return await jobs.crosscheck(run_id=(await start_run(None, day)).id)
            return await dispatch.run_crosscheck(day)
        except DomainError as exc:
            raise fail(exc.message) from exc
        except TimeoutError as exc:
            raise fail("no worker finished the cross-check in time: is `./scripts/manage worker` running?") from exc
        finally:
            await dispatch.close()

    started = time.perf_counter()
    result = with_database(work)
    typer.echo(f"cross-check run {result['run_id']} as of {result['as_of']}, {time.perf_counter() - started:.1f} s")
    for name in ("found", "opened", "closed"):
        counts = result.get(name) or {}
        typer.echo(f"  {name:7s} " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "-"))  # type: ignore[union-attr]
    typer.echo(
        f"  cases opened {result.get('cases_opened', 0)}, closed {result.get('cases_closed', 0)}; "
        f"tasks created {result.get('tasks_created', 0)}; grade-0 records made {result.get('students_recorded', 0)}"
    )


@app.command("export-schema")
def export_schema() -> None:
    """Print the served GraphQL schema (SDL); schema.graphql must equal it."""
    from api.schema import schema_sdl

    sys.stdout.write(schema_sdl())


def main() -> None:
    """The command line, with every known failure (database, role, password, Redis) as one line and exit 2."""
    from tasks.machinery.failures import explain

    try:
        app()
    except Exception as error:
        line = explain(error)
        if line is None:
            raise
        typer.secho(f"error: {line}", fg=typer.colors.RED, err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
