"""Reports made by the worker for their calendar tasks, and filing them (which completes the task).

The duty calendar keys each task `duty:<duty code>:<owner id>:<period>[:<subject id>]`
(tasks/duties/calendar.py). Once a report's period is over (an evaluation: 30 days before its due
day), the daily sweep compiles it for every open task of the report duties that has none yet; the
report's key is `report:<the task's key>`, so a sweep run twice writes each report once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import clock
from models.office import OfficeReport, ReportKind, ReportStatus
from models.paging import Page, SortKey, keyset_page
from models.tasks import OPEN_STATUSES, Task, TaskKind
from models.units import Unit
from models.users import User, UserRole
from tasks.access import sees, steers, visible
from tasks.errors import DomainError, ErrorCode, optional_text
from tasks.office.policy import office_policy
from tasks.office.reports.compile import (
    compile_evaluation,
    compile_monthly,
    compile_quarterly,
    month_span,
    quarter_span,
    year_span,
)
from tasks.queue.workflow import complete_task

log = logging.getLogger("kongchuo.office")
EVALUATION_LEAD_DAYS = 30
TITLES = {
    ReportKind.MONTHLY: "普九月报",
    ReportKind.QUARTERLY: "学生流动、流失情况通报",
    ReportKind.EVALUATION: "控辍保学专项督导评估",
}
NEWEST_FIRST = (SortKey("id", descending=True),)


async def report_duties() -> dict[str, ReportKind]:
    chosen = (await office_policy()).reports
    return {
        chosen.monthly: ReportKind.MONTHLY,
        chosen.quarterly: ReportKind.QUARTERLY,
        chosen.evaluation: ReportKind.EVALUATION,
    }


def _span(kind: ReportKind, period: str) -> tuple[date, date]:
    if kind is ReportKind.MONTHLY:
        return month_span(period)
    if kind is ReportKind.QUARTERLY:
        return quarter_span(period)
    return year_span(period)


def _ready(kind: ReportKind, last: date, due: date, today: date) -> bool:
    if kind is ReportKind.EVALUATION:
        return today >= due - timedelta(days=EVALUATION_LEAD_DAYS)
    return today > last


async def generate_due_reports(today: date | None = None) -> int:
    """Compile every report whose period is over and whose calendar task is still open; returns how many."""
    today = today or clock.today()
    duties = await report_duties()
    tasks = await Task.filter(
        kind=TaskKind.DUTY, status__in=list(OPEN_STATUSES), duty__code__in=list(duties), unique_key__not_isnull=True
    ).values_list("id", "unique_key", "assignee_unit_id", "due_at")
    done = set(
        await OfficeReport.filter(unique_key__in=[f"report:{key}" for _, key, _, _ in tasks]).values_list(
            "unique_key", flat=True
        )
    )
    units = {u.id: u for u in await Unit.all()}
    quarterly: dict[str, dict[str, object]] = {}
    made = 0
    for task_id, key, owner_id, due_at in tasks:
        if f"report:{key}" in done:
            continue
        try:
            _, code, _, period, *subject = key.split(":")
            kind = duties[code]
            first, last = _span(kind, period)
        except (ValueError, KeyError, IndexError):  # a key this job did not make: not a report's task
            log.warning("office reports: task %s has key %r, not a calendar key; skipped", task_id, key)
            continue
        if not _ready(kind, last, clock.local(due_at).date(), today):
            continue
        owner = units[owner_id]
        township = units.get(int(subject[0])) if subject else None
        if kind is ReportKind.MONTHLY:
            content = await compile_monthly(owner, period)
            title = f"{owner.name}{content['label']}{TITLES[kind]}"
        elif kind is ReportKind.QUARTERLY:
            if period not in quarterly:
                quarterly[period] = await compile_quarterly(period)
            content = quarterly[period]
            title = f"{content['label']}全县{TITLES[kind]}"
        else:
            if township is None:
                continue
            content = await compile_evaluation(township, period)
            title = f"{township.name}{content['label']}{TITLES[kind]}"
        made += await _store(kind, owner, township, period, first, last, title, content, task_id, key)
    if made:
        log.info("office reports: %d compiled", made)
    return made


async def _store(
    kind: ReportKind,
    owner: Unit,
    subject: Unit | None,
    period: str,
    first: date,
    last: date,
    title: str,
    content: Mapping[str, object],
    task_id: int,
    key: str,
) -> int:
    try:
        await OfficeReport.create(
            kind=kind,
            unit=owner,
            subject=subject,
            period=period,
            period_start=first,
            period_end=last,
            title=title[:200],
            content=dict(content),
            task_id=task_id,
            unique_key=f"report:{key}"[:120],
            generated_at=clock.now(),
        )
    except IntegrityError:  # another worker wrote it meanwhile
        return 0
    return 1


def may_file(user: User, report: OfficeReport) -> bool:
    return steers(user) or (user.unit_id == report.unit_id and user.role is not UserRole.HEAD_TEACHER)


async def file_report(
    user: User, report_id: int, remarks: str = "", scores: Mapping[str, float] | None = None
) -> OfficeReport:
    """File a compiled report: it is sent, and its calendar task is done. The evaluation carries the
    supervision office's own score for every criterion (0 to the criterion's points) and remarks."""
    report = await OfficeReport.get_or_none(id=report_id)
    if report is None or not await report_visible(user, report):
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这份报表 (report not found)", "id")
    if not may_file(user, report):
        raise DomainError(ErrorCode.FORBIDDEN, "只有报送单位可以报送这份报表 (the reporting unit only)", "id")
    if report.status is ReportStatus.FILED:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "这份报表已报送 (already filed)", "id")
    words = optional_text(remarks, "remarks", 4000)
    given = dict(scores or {})
    if report.kind is ReportKind.EVALUATION:
        criteria = {c["code"]: c for c in report.content.get("criteria", [])}
        if set(given) != set(criteria):
            missing = "、".join(c["name"] for code, c in criteria.items() if code not in given) or "（多余的项目）"
            raise DomainError(ErrorCode.REQUIRED, f"请为每项评估指标评分：{missing} (score every criterion)", "scores")
        for code, score in given.items():
            if not 0 <= score <= criteria[code]["points"]:
                raise DomainError(
                    ErrorCode.INVALID,
                    f"{criteria[code]['name']}的得分应在0到{criteria[code]['points']}之间 (score)",
                    "scores",
                )
    elif given:
        raise DomainError(ErrorCode.INVALID, "只有督导评估需要评分 (scores: evaluation only)", "scores")
    async with in_transaction():
        updated = await OfficeReport.filter(id=report.id, version=report.version).update(
            status=ReportStatus.FILED,
            filed_at=clock.now(),
            filed_by_id=user.id,
            scores=given,
            remarks=words,
            version=report.version + 1,
        )
        if updated != 1:
            raise DomainError(ErrorCode.STALE_VERSION, "报表已被他人修改，请刷新 (stale version)", "id")
        if report.task_id is not None:
            task = await Task.get_or_none(id=report.task_id)
            if task is not None and task.status in OPEN_STATUSES:
                await complete_task(user, task.id, f"已报送：{report.title}")
    return await OfficeReport.get(id=report.id)


async def report_visible(user: User, report: OfficeReport) -> bool:
    return await sees(user, OfficeReport, report.id)


async def reports_page(
    user: User,
    *,
    kind: ReportKind | None,
    unit_id: int | None,
    period: str | None,
    first: int,
    after: str | None,
) -> Page[OfficeReport]:
    query = OfficeReport.filter(visible(OfficeReport, user))
    if kind is not None:
        query = query.filter(kind=kind)
    if unit_id is not None:
        query = query.filter(Q(unit_id=unit_id) | Q(subject_id=unit_id))
    if period:
        query = query.filter(period=period)
    return await keyset_page([query], NEWEST_FIRST, first, after)
