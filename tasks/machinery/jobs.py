"""The background jobs. The arq worker and the in-process runner call these same functions."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from models import clock
from models.cases import Case, CaseStatus
from models.outbox import OutboxEvent
from tasks.children.facts import active_fact_ids, advance_facts
from tasks.duties.calendar import generate_school_year
from tasks.duties.deadlines import deadline_sweep
from tasks.ladder.steps import advance_cases
from tasks.machinery.outbox import drain
from tasks.policy.county import CountyPolicy
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
        case_ids = sorted({e.payload["case_id"] for e in events if "case_id" in e.payload})
        fact_ids = sorted({e.payload["fact_id"] for e in events if "fact_id" in e.payload})
        policy = await CountyPolicy.load() if case_ids or fact_ids else None
        if case_ids:
            created += await advance_cases(case_ids, today, policy)
        if fact_ids:
            created += await advance_facts(fact_ids, today, policy)

    handled = await drain(handle)
    if handled:
        log.info("outbox: %d event(s) handled, %d task(s) created", handled, created)
    return handled


async def ladder_sweep(as_of: date | None = None) -> SweepResult:
    """Advance every open case as of a day: the daily catch-all that misses nothing a nudge missed."""
    await clock.refresh()
    today = as_of or clock.today()
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
        created += await advance_cases(ids, today, policy)
        cases += len(ids)
        last_id = ids[-1]
    fact_ids = await active_fact_ids()
    for start in range(0, len(fact_ids), SWEEP_BATCH):
        created += await advance_facts(fact_ids[start : start + SWEEP_BATCH], today, policy)
    log.info("ladder sweep as of %s: %d open case(s), %d task(s) created", today, cases, created)
    return SweepResult(cases=cases, tasks_created=created)


async def tick(as_of: date | None = None) -> SweepResult:
    """Everything a day's work needs: drain the outbox, sweep every open case and fact, keep deadlines."""
    await process_outbox()
    result = await ladder_sweep(as_of)
    today = as_of or clock.today()
    kept = await deadline_sweep(today)
    log.info(
        "deadlines as of %s: %d reminder(s), %d escalated to leaders, %d to the office, %d digest(s)",
        today,
        kept.reminders,
        kept.escalated_to_leader,
        kept.escalated_to_office,
        kept.digests,
    )
    return result


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


async def generate_duty_calendar(school_year: str | None = None) -> int:
    """The coming school year's duty tasks; scheduled for 1 August, safe to run again."""
    await clock.refresh()
    year = school_year or school_year_of(clock.today())
    plan = await generate_school_year(year)
    log.info(
        "duty calendar %s: %d task(s) created, %d already there", year, len(plan.new_items), len(plan.existing_keys)
    )
    return len(plan.new_items)
