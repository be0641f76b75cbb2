"""The background jobs. The arq worker and the in-process runner call these same functions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from config import settings
from models import clock
from models.cases import Case, CaseStatus
from models.live import IdempotencyKey
from models.outbox import OutboxEvent
from tasks.children.facts import active_fact_ids, advance_facts
from tasks.duties.calendar import generate_school_year
from tasks.duties.deadlines import deadline_sweep
from tasks.ladder.steps import advance_cases
from tasks.live import bus, falling_due, webhooks
from tasks.live import events as live_events
from tasks.machinery.outbox import drain
from tasks.machinery.retry import retrying
from tasks.policy.county import CountyPolicy
from tasks.registers.handover import handover_sweep
from tasks.registers.movements import transfer_sweep
from tasks.school_days import school_year_of

log = logging.getLogger("kongchuo.jobs")
SWEEP_BATCH = 500


@dataclass(frozen=True)
class SweepResult:
    cases: int
    tasks_created: int


async def process_outbox() -> int:
    """Turn pending outbox events into the tasks they call for; returns events handled."""
    await clock.refresh()
    today = clock.today()
    created = 0

    async def handle(events: Sequence[OutboxEvent]) -> None:
        nonlocal created
        message = live_events.summary(events)
        if message is not None:  # first: subscribers need not wait for the ladder. Committed changes only.
            await bus.publish(message)
        case_ids = sorted({e.payload["case_id"] for e in events if "case_id" in e.payload})
        fact_ids = sorted({e.payload["fact_id"] for e in events if "fact_id" in e.payload})
        policy = await CountyPolicy.load() if case_ids or fact_ids else None
        if case_ids:
            created += await retrying(lambda: advance_cases(case_ids, today, policy), "advancing cases")
        if fact_ids:
            created += await retrying(lambda: advance_facts(fact_ids, today, policy), "advancing facts")
        deliveries = await webhooks.queue_deliveries(events)
        if deliveries:
            await dispatch_deliveries()

    handled = await drain(handle)
    if handled:
        log.info("outbox: %d event(s) handled, %d task(s) created", handled, created)
    return handled


async def announce_overdue() -> int:
    """Announce the tasks whose deadline passed since the last run, then drain the outbox at once, so that a
    queue's subscribers hear of it within the minute (tasks/live/falling_due.py)."""
    announced = await falling_due.announce_overdue()
    if announced:
        await process_outbox()
    return announced


async def deliver_webhooks() -> int:
    """Post the webhook deliveries that are due (first attempts and retries)."""
    return await webhooks.deliver_due()


async def dispatch_deliveries() -> None:
    """Deliveries were queued: the worker (arq) or this process posts them, without holding up the drain."""
    from tasks.machinery import dispatch

    await dispatch.deliveries_queued()


async def run_import(run_id: int) -> str:
    """One uploaded file, read and written; safe to run twice (the second finds it taken or done)."""
    from tasks.registers.imports.run import execute

    run = await execute(run_id)
    return run.status.value if run else "MISSING"


async def run_pending_imports() -> int:
    """Every import still PENDING (its nudge lost) or whose worker stopped: the database is the record."""
    from tasks.registers.imports.run import run_pending

    return await run_pending()


async def ladder_sweep(as_of: date | None = None) -> SweepResult:
    """Advance every open case as of a day: the daily catch-all that misses nothing a nudge missed."""
    await clock.refresh()
    today = as_of or clock.today()
    await register_sweeps(today)  # may open cases, which the sweep below then advances
    policy = await CountyPolicy.load()
    last_id, cases, created = 0, 0, 0
    while True:
        ids = (
            await Case.filter(status=CaseStatus.OPEN, id__gt=last_id)
            .order_by("id")
            .limit(SWEEP_BATCH)
            .values_list("id", flat=True)
        )
        if not ids:
            break
        created += await retrying(lambda ids=ids: advance_cases(ids, today, policy), "the ladder sweep")
        cases += len(ids)
        last_id = ids[-1]
    fact_ids = await active_fact_ids()
    for start in range(0, len(fact_ids), SWEEP_BATCH):
        created += await advance_facts(fact_ids[start : start + SWEEP_BATCH], today, policy)
    log.info("ladder sweep as of %s: %d open case(s), %d task(s) created", today, cases, created)
    return SweepResult(cases=cases, tasks_created=created)


async def register_sweeps(today: date) -> int:
    """The school roll's deadlines: unconfirmed transfers (四(二)8) and unreported graduates (四(二)5) open
    their cases; idempotent. Returns how many cases were opened."""
    return await transfer_sweep(today) + await handover_sweep(today)


async def tick(as_of: date | None = None) -> SweepResult:
    """Everything a day's work needs: drain the outbox, sweep every open case and fact, keep deadlines."""
    await process_outbox()
    result = await ladder_sweep(as_of)
    today = as_of or clock.today()
    kept = await deadline_sweep(today)
    await forget_old_idempotency_keys()

    from tasks.office.reports.generate import generate_due_reports

    await generate_due_reports(today)  # the reports whose period is over, for their calendar tasks
    log.info(
        "deadlines as of %s: %d reminder(s), %d escalated to leaders, %d to the office, %d digest(s)",
        today,
        kept.reminders,
        kept.escalated_to_leader,
        kept.escalated_to_office,
        kept.digests,
    )
    return result


async def forget_old_idempotency_keys() -> int:
    """Idempotency keys live a day (IDEMPOTENCY_TTL_HOURS); the daily sweep drops the older ones."""
    cutoff = datetime.now(UTC) - timedelta(hours=settings().idempotency_ttl_hours)
    return await IdempotencyKey.filter(created_at__lt=cutoff).delete()


async def crosscheck(as_of: date | None = None, run_id: int | None = None) -> dict[str, Any]:
    """四(一)3: the roll against the population register and the census; a run twice creates nothing twice."""
    from tasks.registers.crosscheck import run_crosscheck

    await clock.refresh()
    run = await run_crosscheck(as_of, run_id)
    await process_outbox()  # the cases it opened or closed get their ladder tasks now, not at the next sweep
    log.info("cross-check %s as of %s: %s", run.id, run.as_of, run.summary)
    return {"run_id": run.id, "as_of": run.as_of.isoformat(), **run.summary}


async def scheduled_crosscheck() -> dict[str, Any] | None:
    """The day after the county's cross-check date (1 September by default), run it once for that date."""
    from models.population import CrossCheckRun, CrossCheckRunStatus
    from tasks.registers.crosscheck import crosscheck_settings, default_as_of

    await clock.refresh()
    today = clock.today()
    as_of = default_as_of(today, (await crosscheck_settings())["as_of"])
    if today != as_of + timedelta(days=1) or await CrossCheckRun.exists(as_of=as_of, status=CrossCheckRunStatus.DONE):
        return None
    return await crosscheck(as_of)


async def generate_duty_calendar(school_year: str | None = None, before_year_only: bool = False) -> int:
    """A school year's duty tasks (by default the current one); safe to run again."""
    await clock.refresh()
    year = school_year or school_year_of(clock.today())
    plan = await generate_school_year(year, before_year_only)
    log.info(
        "duty calendar %s%s: %d task(s) created, %d already there",
        year,
        " (before the year)" if before_year_only else "",
        len(plan.new_items),
        len(plan.existing_keys),
    )
    return len(plan.new_items)


CALENDAR_DAYS = ((6, 1), (8, 1))


async def calendar_of_the_day(today: date | None = None) -> int:
    """1 June: the coming year's duties that prepare its August census (due before 1 August);
    1 August: the whole school year. Other days: nothing."""
    await clock.refresh()
    today = today or clock.today()
    if (today.month, today.day) == (6, 1):
        return await generate_duty_calendar(school_year_of(date(today.year, 8, 1)), before_year_only=True)
    if (today.month, today.day) == (8, 1):
        return await generate_duty_calendar(school_year_of(today))
    return 0
