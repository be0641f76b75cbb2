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
    demo: Annotated[bool, typer.Option(help="also load the clearly marked demo villages and schools")] = True,
) -> None:
    """Load the county's organisation and duty register (loading twice changes nothing)."""
    from tasks.policy.load import PolicyError, load_policy

    if not files:
        files = [settings().policy_file]
        demo_file = settings().policy_file.with_name(settings().policy_file.stem + "-demo.yaml")
        if demo and settings().demo_data and demo_file.exists():
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
    role: Annotated[str, typer.Option(help="liaison, office or admin")],
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

    count = with_database(lambda: revoke_token(token))
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
        return global_id("Task", task.id)

    typer.echo(with_database(work))


@app.command()
def worker() -> None:
    """Run the arq worker (needs REDIS_URL). Start as many as the load needs."""
    from tasks.machinery.worker import run

    if not settings().redis_url:
        raise fail("REDIS_URL is not set; without Redis the server runs the jobs itself (see README)")
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


if __name__ == "__main__":
    app()
