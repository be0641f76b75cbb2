"""The cross-check of the school roll with the population register and the census (四(一)3, 四查三比对).

As of a date the county sets (policy setting `crosscheck.as_of`, default 31 August), by citizen ID,
in the plan's age bands (3-6, 7-12, 13-15 on that date), a run finds:

- NOT_ENROLLED: a resident aged 3-15 on no roll, not explained by the census (县外就读, 缓学, 送教上门);
- NOT_LIVING_HERE (人籍分离): a pupil on the roll whose register entry says they live outside the county;
- NOT_ATTENDING (空挂学籍): a pupil on the roll with an open absence case and at least
  `crosscheck.not_attending_min_days` absences in the `crosscheck.not_attending_window_days` before the date;
- TWO_SCHOOLS: a pupil on the roll of one school whom the census finds at another county school;
- CENSUS_ONLY: a person of the census in neither the register nor the roll.

"On the roll" is a Student in grade 1 or above, or in a kindergarten (grade 0 elsewhere is a child
recorded but not enrolled, as `studentCreate` has it), whose roll movements leave them enrolled,
transferring or suspended (休学 is lawful); one who transferred out, graduated or left is explained,
not missing. ON_ROLL and EXPLAINED_BY_MOVEMENT below are the one place that says so.

Each finding is kept with its evidence. A new one asks a unit to act: the township persuades and
delivers a school-age child (a task), and a child of compulsory age (policy `crosscheck.entry_age`,
default 6, to 15) with a catchment school gets a NOT_ENROLLED_GRADE1 case there, on the child's
record at that school (grade 0, created if the child had none), which the ladder then works like
any other (an outbox event per case). A finding a later run no longer shows is closed (销号) with
its tasks, and a NOT_ENROLLED finding's case with it. Findings are keyed by kind and citizen ID while
open, so a run twice creates nothing twice.

The matching is a few set-based statements (one per kind); the writing is bulk, in one transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models import clock
from models.cases import Case, CaseEvent, CaseKind, CaseStatus
from models.children import Household, Student
from models.duties import Duty
from models.outbox import OutboxEvent
from models.population import (
    EXPLAINED_STATUSES,
    AgeBand,
    CensusBook,
    CrossCheckFinding,
    CrossCheckRun,
    CrossCheckRunStatus,
    FindingKind,
    FindingStatus,
)
from models.rules import PolicySetting
from models.tasks import OPEN_STATUSES, Task, TaskCooperator, TaskEvent, TaskKind, TaskStatus
from models.units import Unit
from models.users import User
from tasks.errors import DomainError, ErrorCode, required_text
from tasks.machinery.outbox import CASE_CHANGED, emit
from tasks.policy.county import CountyPolicy
from tasks.queue.workflow import settle_generated
from tasks.registers.sql import Raw

CHUNK = 1000
T = TypeVar("T")
DUTY_CODE = "registry-cross-check"
SETTING_KEY = "crosscheck"
DEFAULTS: dict[str, Any] = {
    "as_of": "08-31",  # month-day of the county's cross-check date
    "entry_age": 6,  # a child this old on the date should be in grade 1
    "task_days": 7,  # days the acting unit has for a finding ("第一时间开展劝返")
    "not_attending_window_days": 90,  # reaches back into the spring term from 31 August
    "not_attending_min_days": 10,
}
ROLL_STATUSES_ON = "('ENROLLED', 'TRANSFERRING', 'SUSPENDED')"  # 休学 is lawful: still on the roll
ON_ROLL = f"((s.grade >= 1 OR su.school_level = 'KINDERGARTEN') AND s.roll_status IN {ROLL_STATUSES_ON})"
# Off the roll by a movement that explains it: transferred out (enrolled elsewhere), graduated (the graduate
# handover of 四(二)5 follows a primary graduate into grade 7), or left (death, emigration).
EXPLAINED_BY_MOVEMENT = "s.roll_status IN ('TRANSFERRED_OUT', 'GRADUATED', 'LEFT')"
EXPLAINED = ", ".join(f"'{s.value}'" for s in EXPLAINED_STATUSES)
BANDS = ((AgeBand.PRESCHOOL, 3, 6), (AgeBand.PRIMARY, 7, 12), (AgeBand.JUNIOR, 13, 15))

KIND_WORDS = {
    FindingKind.NOT_ENROLLED: "适龄未入学",
    FindingKind.NOT_LIVING_HERE: "人籍分离",
    FindingKind.NOT_ATTENDING: "空挂学籍",
    FindingKind.TWO_SCHOOLS: "重复学籍",
    FindingKind.CENSUS_ONLY: "普查有、人口库和学籍均无",
}
CLOSE_REASONS = {
    FindingKind.NOT_ENROLLED: "核查比对：已入学或已说明 (enrolled or explained)",
    FindingKind.NOT_LIVING_HERE: "核查比对：已不再人籍分离 (no longer separated)",
    FindingKind.NOT_ATTENDING: "核查比对：已到校或已处理 (attending or settled)",
    FindingKind.TWO_SCHOOLS: "核查比对：学籍已一致 (roll and census agree)",
    FindingKind.CENSUS_ONLY: "核查比对：已登记 (now registered)",
}


@dataclass
class Candidate:
    """One thing a run finds, before it is kept."""

    kind: FindingKind
    citizen_id: str
    name: str
    band: AgeBand | None
    township_id: int | None
    school_id: int | None
    unit_id: int | None
    evidence: dict[str, Any]
    resident_id: int | None = None
    student_id: int | None = None
    case_id: int | None = None
    compulsory: bool = False
    household_id: int | None = None
    gender: str | None = None
    birth_date: date | None = None

    @property
    def open_key(self) -> str:
        return f"{self.kind.value}:{self.citizen_id}"


@dataclass
class RunSummary:
    found: dict[str, int] = field(default_factory=dict)  # per kind: shown by this run
    opened: dict[str, int] = field(default_factory=dict)  # per kind: new findings
    closed: dict[str, int] = field(default_factory=dict)  # per kind: closed (销号)
    cases_opened: int = 0
    cases_closed: int = 0
    tasks_created: int = 0
    students_recorded: int = 0  # grade-0 records made for children with no record

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- settings and dates ---------------------------------------------------------------------------


async def crosscheck_settings() -> dict[str, Any]:
    row = await PolicySetting.get_or_none(key=SETTING_KEY)
    return {**DEFAULTS, **(row.value if row and isinstance(row.value, dict) else {})}


def default_as_of(today: date, month_day: str) -> date:
    """The latest county cross-check date on or before today (31 August by default)."""
    month, day = (int(x) for x in month_day.split("-"))
    this_year = date(today.year, month, day)
    return this_year if this_year <= today else date(today.year - 1, month, day)


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def band_of(age: int) -> AgeBand | None:
    return next((band for band, low, high in BANDS if low <= age <= high), None)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# -- the matching: one statement per kind -----------------------------------------------------------


NOT_ENROLLED_SQL = f"""
SELECT r.id AS resident_id, r.citizen_id, r.name, r.gender, r.birth_date, r.household_id, r.living_here,
       COALESCE(r.township_id, v.parent_id) AS township_id, vg.school_id AS catchment_school_id,
       s.id AS student_id, s.school_id AS student_school_id, s.grade AS student_grade
FROM resident r
LEFT JOIN village_group vg ON vg.id = r.village_group_id
LEFT JOIN unit v ON v.id = COALESCE(r.village_id, vg.village_id)
LEFT JOIN student s ON s.citizen_id = r.citizen_id
LEFT JOIN unit su ON su.id = s.school_id
WHERE r.birth_date > :born_after AND r.birth_date <= :born_by
  AND (s.id IS NULL OR NOT {ON_ROLL})
  AND (s.id IS NULL OR NOT {EXPLAINED_BY_MOVEMENT})
  AND NOT EXISTS (
    SELECT 1 FROM census_line cl JOIN census_book cb ON cb.id = cl.book_id
    WHERE cl.citizen_id = r.citizen_id AND cb.year = :census_year AND cl.status IN ({EXPLAINED}))
"""

NOT_LIVING_HERE_SQL = f"""
SELECT s.id AS student_id, s.citizen_id, s.name, s.birth_date, s.school_id, h.township_id,
       r.id AS resident_id, r.actual_address, r.source, r.as_of
FROM student s
JOIN unit su ON su.id = s.school_id
JOIN household h ON h.id = s.household_id
JOIN resident r ON r.citizen_id = s.citizen_id
WHERE {ON_ROLL} AND r.living_here = :no
"""

NOT_ATTENDING_SQL = f"""
SELECT s.id AS student_id, s.citizen_id, s.name, s.birth_date, s.school_id, h.township_id, c.id AS case_id,
       COUNT(a.id) AS days, MIN(a.day) AS first_day, MAX(a.day) AS last_day
FROM student s
JOIN unit su ON su.id = s.school_id
JOIN household h ON h.id = s.household_id
JOIN absence a ON a.student_id = s.id
JOIN dropout_case c ON c.id = a.case_id
WHERE {ON_ROLL} AND c.status = 'OPEN' AND a.day > :window_start AND a.day <= :as_of
GROUP BY s.id, s.citizen_id, s.name, s.birth_date, s.school_id, h.township_id, c.id
HAVING COUNT(a.id) >= :min_days
"""

TWO_SCHOOLS_SQL = f"""
SELECT s.id AS student_id, s.citizen_id, s.name, s.birth_date, s.school_id, h.township_id,
       cl.school_id AS census_school_id, cb.id AS book_id
FROM student s
JOIN unit su ON su.id = s.school_id
JOIN household h ON h.id = s.household_id
JOIN census_line cl ON cl.citizen_id = s.citizen_id
JOIN census_book cb ON cb.id = cl.book_id
WHERE {ON_ROLL} AND cb.year = :census_year AND cl.school_id IS NOT NULL AND cl.school_id <> s.school_id
"""

CENSUS_ONLY_SQL = """
SELECT cl.id AS line_id, cl.citizen_id, cl.name, cl.birth_date, cl.status, cb.id AS book_id,
       cb.school_id, v.parent_id AS township_id
FROM census_line cl
JOIN census_book cb ON cb.id = cl.book_id
JOIN village_group vg ON vg.id = cb.village_group_id
JOIN unit v ON v.id = vg.village_id
WHERE cb.year = :census_year
  AND NOT EXISTS (SELECT 1 FROM resident r WHERE r.citizen_id = cl.citizen_id)
  AND NOT EXISTS (SELECT 1 FROM student s WHERE s.citizen_id = cl.citizen_id)
"""


async def find_candidates(as_of: date, settings: dict[str, Any], policy: CountyPolicy) -> dict[str, Candidate]:
    """Everything the registers show as of the date, by open key."""
    sql = Raw()
    entry_age = int(settings["entry_age"])
    education = policy.units.role("education_bureau")
    police = policy.units.role("police")
    years = await CensusBook.filter(year__lte=as_of.year).order_by("-year").limit(1).values_list("year", flat=True)
    census_year = years[0] if years else None
    found: dict[str, Candidate] = {}

    def keep(candidate: Candidate) -> None:
        found.setdefault(candidate.open_key, candidate)

    for row in await sql.dicts(
        NOT_ENROLLED_SQL,
        born_after=years_before(as_of, 16),
        born_by=years_before(as_of, 3),
        census_year=census_year or 0,
    ):
        born = _as_date(row["birth_date"])
        age = age_on(born, as_of)
        compulsory = entry_age <= age <= 15
        school = row["catchment_school_id"] or row["student_school_id"]
        keep(
            Candidate(
                kind=FindingKind.NOT_ENROLLED,
                citizen_id=row["citizen_id"],
                name=row["name"],
                band=band_of(age),
                township_id=row["township_id"],
                school_id=school,
                unit_id=row["township_id"] if compulsory else None,
                evidence={
                    "age": age,
                    "birthDate": born.isoformat(),
                    "livingHere": bool(row["living_here"]),
                    "onRoll": False,
                    "recordGrade": row["student_grade"],
                    "catchmentSchoolId": row["catchment_school_id"],
                },
                resident_id=row["resident_id"],
                student_id=row["student_id"],
                compulsory=compulsory,
                household_id=row["household_id"],
                gender=row["gender"],
                birth_date=born,
            )
        )

    def found_on(
        kind: FindingKind, row: dict[str, Any], unit_id: int | None, evidence: dict[str, Any], **more: Any
    ) -> None:
        """A finding about the person of `row` (citizen ID, name, birth date, township, school)."""
        age = age_on(_as_date(row["birth_date"]), as_of)
        keep(
            Candidate(
                kind=kind,
                citizen_id=row["citizen_id"],
                name=row["name"],
                band=band_of(age),
                township_id=row["township_id"],
                school_id=row["school_id"],
                unit_id=unit_id,
                evidence={"age": age, **evidence},
                **more,
            )
        )

    for row in await sql.dicts(NOT_LIVING_HERE_SQL, no=False):
        found_on(
            FindingKind.NOT_LIVING_HERE,
            row,
            row["school_id"],
            {
                "actualAddress": row["actual_address"],
                "registerSource": row["source"],
                "registerAsOf": _as_date(row["as_of"]).isoformat(),
            },
            resident_id=row["resident_id"],
            student_id=row["student_id"],
        )
    window_start = as_of - timedelta(days=int(settings["not_attending_window_days"]))
    for row in await sql.dicts(
        NOT_ATTENDING_SQL, window_start=window_start, as_of=as_of, min_days=int(settings["not_attending_min_days"])
    ):
        found_on(
            FindingKind.NOT_ATTENDING,
            row,
            row["school_id"],
            {
                "absentDays": int(row["days"]),
                "firstAbsentDay": _as_date(row["first_day"]).isoformat(),
                "lastAbsentDay": _as_date(row["last_day"]).isoformat(),
                "windowStart": window_start.isoformat(),
            },
            student_id=row["student_id"],
            case_id=row["case_id"],
        )
    if census_year is not None:
        for row in await sql.dicts(TWO_SCHOOLS_SQL, census_year=census_year):
            found_on(
                FindingKind.TWO_SCHOOLS,
                row,
                education,
                {
                    "rollSchoolId": row["school_id"],
                    "censusSchoolId": row["census_school_id"],
                    "censusBookId": row["book_id"],
                    "censusYear": census_year,
                },
                student_id=row["student_id"],
            )
        for row in await sql.dicts(CENSUS_ONLY_SQL, census_year=census_year):
            found_on(
                FindingKind.CENSUS_ONLY,
                row,
                row["township_id"],
                {
                    "birthDate": _as_date(row["birth_date"]).isoformat(),
                    "censusStatus": row["status"],
                    "censusBookId": row["book_id"],
                    "censusYear": census_year,
                    "police": police,
                },
            )
    return found


# -- explaining a finding by hand ---------------------------------------------------------------------


async def explain_finding(user: User, finding_id: int, reason: str, evidence: str) -> CrossCheckFinding:
    """The acting unit (or the finding's school, or the office) explains a finding: 送教上门, 出国（境）, 死亡,
    enrolled outside the county with proof ... The finding is EXPLAINED, its task done, and a NOT_ENROLLED
    finding's case closed with the reason; later runs do not raise it again while the registers still show it."""
    from tasks.access import visible_findings

    finding = await CrossCheckFinding.filter(visible_findings(user), id=finding_id).first()
    if finding is None:
        raise DomainError(ErrorCode.NOT_FOUND, "没有找到这条核查发现 (finding not found)", "id")
    if not (user.sees_every_unit or user.unit_id in (finding.unit_id, finding.school_id)):
        raise DomainError(
            ErrorCode.FORBIDDEN,
            "只有被要求办理的单位、学生所在学校或办公室可以说明 (acting unit, school or office)",
            "id",
        )
    if finding.status is not FindingStatus.OPEN:
        raise DomainError(ErrorCode.INVALID_TRANSITION, "这条核查发现已销号或已说明 (not open)", "id")
    why = required_text(reason, "reason", 200)
    proof = required_text(evidence, "evidence")
    now = clock.now()
    async with in_transaction():
        updated = await CrossCheckFinding.filter(id=finding.id, status=FindingStatus.OPEN).update(
            status=FindingStatus.EXPLAINED,
            close_reason=why,
            close_evidence=proof,
            closed_at=now,
            explained_by_id=user.id,
        )
        if not updated:
            raise DomainError(ErrorCode.STALE_VERSION, "这条核查发现已被他人处理 (stale)", "id")
        tasks = await Task.filter(unique_key=f"crosscheck:{finding.id}", status__in=list(OPEN_STATUSES))
        await settle_generated(tasks, TaskStatus.DONE, f"已说明：{why}", user)
        if finding.kind is FindingKind.NOT_ENROLLED and finding.case_id is not None:
            closed = await Case.filter(id=finding.case_id, status=CaseStatus.OPEN).update(
                status=CaseStatus.CLOSED,
                open_key=None,
                close_reason=why,
                close_evidence=proof,
                closed_at=now,
                version=F("version") + 1,
            )
            if closed:
                case_tasks = await Task.filter(case_id=finding.case_id, status__in=list(OPEN_STATUSES))
                await settle_generated(case_tasks, TaskStatus.CANCELLED, f"核查比对已说明：{why}", user)
                await CaseEvent.create(
                    case_id=finding.case_id,
                    at=now,
                    actor=user,
                    action="CLOSED",
                    detail=f"核查比对已说明：{why}；{proof}",
                )
                await emit(CASE_CHANGED, {"case_id": finding.case_id}, effective_on=clock.today())
    return await CrossCheckFinding.get(id=finding.id)


# -- keeping what was found ---------------------------------------------------------------------------


def _chunks(items: Sequence[T]) -> list[Sequence[T]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


async def may_run(user: User) -> bool:
    """The leading-group office and administrators, and the units that own 四(一)3 (公安局, 教育局)."""
    if user.sees_every_unit:
        return True
    duty = await Duty.get_or_none(code=DUTY_CODE)
    if duty is None:
        return False
    from models.duties import DutyParty, PartyRole

    return await DutyParty.exists(duty_id=duty.id, role=PartyRole.OWNER, unit_id=user.unit_id)


async def start_run(user: User | None, as_of: date | None) -> CrossCheckRun:
    """Record a run about to start (RUNNING); `run_crosscheck` then does it, here or in a worker."""
    if user is not None and not await may_run(user):
        raise DomainError(
            ErrorCode.FORBIDDEN, "只有公安局、教育局或领导小组办公室可以发起比对核查 (police, bureau or office)", "asOf"
        )
    settings = await crosscheck_settings()
    day = as_of or default_as_of(clock.today(), settings["as_of"])
    if day > clock.today():
        raise DomainError(ErrorCode.INVALID, "比对日期不能晚于今天 (the date is in the future)", "asOf")
    if await CrossCheckRun.exists(status=CrossCheckRunStatus.RUNNING, started_at__gte=clock.now() - timedelta(hours=1)):
        raise DomainError(ErrorCode.DUPLICATE, "已有一次比对核查正在进行 (a run is in progress)", "asOf")
    return await CrossCheckRun.create(as_of=day, started_at=clock.now(), started_by_id=user.id if user else None)


async def run_crosscheck(as_of: date | None = None, run_id: int | None = None) -> CrossCheckRun:
    """Run the cross-check (as of `as_of`, or the run already started); returns the finished run."""
    run = await CrossCheckRun.get(id=run_id) if run_id is not None else await start_run(None, as_of)
    try:
        summary = await _run(run)
    except Exception as exc:
        await CrossCheckRun.filter(id=run.id).update(
            status=CrossCheckRunStatus.FAILED, finished_at=clock.now(), error=repr(exc)[:2000]
        )
        raise
    await CrossCheckRun.filter(id=run.id).update(
        status=CrossCheckRunStatus.DONE, finished_at=clock.now(), summary=summary.as_json()
    )
    return await CrossCheckRun.get(id=run.id)


async def _run(run: CrossCheckRun) -> RunSummary:
    settings = await crosscheck_settings()
    policy = await CountyPolicy.load()
    candidates = await find_candidates(run.as_of, settings, policy)
    summary = RunSummary()
    for c in candidates.values():
        summary.found[c.kind.value] = summary.found.get(c.kind.value, 0) + 1
    kept = await CrossCheckFinding.filter(open_key__not_isnull=True).values_list(
        "id", "open_key", "kind", "case_id", "status"
    )
    keyed = {key: (fid, FindingKind(kind), case_id, FindingStatus(status)) for fid, key, kind, case_id, status in kept}
    gone = [
        (fid, kind, case_id)
        for key, (fid, kind, case_id, st) in keyed.items()
        if key not in candidates and st is FindingStatus.OPEN
    ]
    # An explained finding stays explained while the registers show it; once they do not, its key is freed.
    freed = [fid for key, (fid, _, _, st) in keyed.items() if key not in candidates and st is FindingStatus.EXPLAINED]
    new = [c for key, c in candidates.items() if key not in keyed]
    duty = await Duty.get_or_none(code=DUTY_CODE)
    async with in_transaction():
        await _close(run, gone, summary)
        for chunk in _chunks(freed):
            await CrossCheckFinding.filter(id__in=list(chunk)).update(open_key=None)
        if keyed:
            await CrossCheckFinding.filter(open_key__not_isnull=True).update(last_seen_run_id=run.id)
        if new:
            await _open(run, new, settings, duty.id if duty else None, summary)
    return summary


async def _close(run: CrossCheckRun, gone: Sequence[tuple[int, FindingKind, int | None]], summary: RunSummary) -> None:
    now = clock.now()
    by_kind: dict[FindingKind, list[int]] = defaultdict(list)
    for fid, kind, _ in gone:
        by_kind[kind].append(fid)
    for kind, ids in by_kind.items():
        for chunk in _chunks(ids):
            await CrossCheckFinding.filter(id__in=list(chunk), status=FindingStatus.OPEN).update(
                status=FindingStatus.CLOSED,
                open_key=None,
                closed_at=now,
                closed_run_id=run.id,
                close_reason=CLOSE_REASONS[kind],
            )
        summary.closed[kind.value] = len(ids)
    # The finding's own tasks are done; a NOT_ENROLLED finding's case closes with it (销号).
    keys = [f"crosscheck:{fid}" for fid, _, _ in gone]
    for chunk in _chunks(keys):
        tasks = await Task.filter(unique_key__in=list(chunk), status__in=list(OPEN_STATUSES))
        await settle_generated(tasks, TaskStatus.DONE, "核查比对已销号 (the cross-check no longer shows it)")
    case_ids = [case_id for _, kind, case_id in gone if case_id and kind is FindingKind.NOT_ENROLLED]
    evidence = f"第{run.id}次学籍与人口信息库比对核查（比对日 {run.as_of}）"
    for chunk in _chunks(case_ids):
        open_cases = await Case.filter(id__in=list(chunk), status=CaseStatus.OPEN).values_list("id", flat=True)
        if not open_cases:
            continue
        await Case.filter(id__in=list(open_cases), status=CaseStatus.OPEN).update(
            status=CaseStatus.CLOSED,
            open_key=None,
            close_reason=CLOSE_REASONS[FindingKind.NOT_ENROLLED],
            close_evidence=evidence,
            closed_at=now,
            version=F("version") + 1,
        )
        tasks = await Task.filter(case_id__in=list(open_cases), status__in=list(OPEN_STATUSES))
        await settle_generated(tasks, TaskStatus.CANCELLED, "核查比对：已入学或已说明")
        await CaseEvent.bulk_create(
            [CaseEvent(case_id=i, at=now, action="CLOSED", detail=f"核查比对销号：{evidence}") for i in open_cases]
        )
        await OutboxEvent.bulk_create(
            [OutboxEvent(topic=CASE_CHANGED, payload={"case_id": i}, effective_on=run.as_of) for i in open_cases]
        )
        summary.cases_closed += len(open_cases)


async def _open(
    run: CrossCheckRun, new: Sequence[Candidate], settings: dict[str, Any], duty_id: int | None, summary: RunSummary
) -> None:
    now = clock.now()
    for c in new:
        summary.opened[c.kind.value] = summary.opened.get(c.kind.value, 0) + 1
    await _cases_for(run, [c for c in new if c.kind is FindingKind.NOT_ENROLLED and c.compulsory], summary)
    for chunk in _chunks(list(new)):
        await CrossCheckFinding.bulk_create(
            [
                CrossCheckFinding(
                    kind=c.kind,
                    band=c.band,
                    open_key=c.open_key,
                    citizen_id=c.citizen_id,
                    name=c.name,
                    resident_id=c.resident_id,
                    student_id=c.student_id,
                    township_id=c.township_id,
                    school_id=c.school_id,
                    unit_id=c.unit_id,
                    case_id=c.case_id,
                    evidence=c.evidence,
                    run_id=run.id,
                    last_seen_run_id=run.id,
                    opened_at=now,
                )
                for c in chunk
            ]
        )
    ids: dict[str, int] = {}
    for chunk in _chunks([c.open_key for c in new]):
        ids.update(await CrossCheckFinding.filter(open_key__in=list(chunk)).values_list("open_key", "id"))
    due = clock.end_of_day(clock.today() + timedelta(days=int(settings["task_days"])))
    wanted = [(ids[c.open_key], c) for c in new if c.unit_id is not None]
    await _tasks(wanted, due, duty_id, now, summary)


async def _cases_for(run: CrossCheckRun, children: Sequence[Candidate], summary: RunSummary) -> None:
    """A NOT_ENROLLED_GRADE1 case for each child of compulsory age who has a school to take them."""
    children = [c for c in children if c.school_id is not None and c.township_id is not None]
    if not children:
        return
    now = clock.now()
    # Every child needs a household (the case's township and village come from it).
    for c in children:
        if c.household_id is None:
            household = await Household.create(township_id=c.township_id, registration_place="", home_address="")
            c.household_id = household.id
    # The child's record at the catchment school: grade 0, not enrolled (made when there is none).
    missing = [c for c in children if c.student_id is None]
    for chunk in _chunks(missing):
        await Student.bulk_create(
            [
                Student(
                    name=c.name,
                    gender=c.gender,
                    birth_date=c.birth_date,
                    citizen_id=c.citizen_id,
                    school_id=c.school_id,
                    grade=0,
                    household_id=c.household_id,
                )
                for c in chunk
            ],
            ignore_conflicts=True,
        )
    if missing:
        summary.students_recorded += len(missing)
        for chunk in _chunks(missing):
            students = dict(
                await Student.filter(citizen_id__in=[c.citizen_id for c in chunk]).values_list("citizen_id", "id")
            )
            for c in chunk:
                c.student_id = students.get(c.citizen_id)
    children = [c for c in children if c.student_id is not None]
    records = {
        s.id: s for chunk in _chunks([c.student_id for c in children]) for s in await Student.filter(id__in=list(chunk))
    }
    households = {
        h.id: h
        for chunk in _chunks(list({s.household_id for s in records.values()}))
        for h in await Household.filter(id__in=list(chunk))
    }

    def open_key(c: Candidate) -> str:
        return f"{c.student_id}:{CaseKind.NOT_ENROLLED_GRADE1.value}"

    existing: dict[str, int] = {}
    for chunk in _chunks([open_key(c) for c in children]):
        existing.update(await Case.filter(open_key__in=list(chunk)).values_list("open_key", "id"))
    fresh = [c for c in children if open_key(c) not in existing]
    for chunk in _chunks(fresh):
        await Case.bulk_create(
            [
                Case(
                    student_id=c.student_id,
                    kind=CaseKind.NOT_ENROLLED_GRADE1,
                    open_key=open_key(c),
                    school_id=records[c.student_id].school_id,  # type: ignore[index]
                    township_id=households[records[c.student_id].household_id].township_id,  # type: ignore[index]
                    absent_since=run.as_of,
                    opened_at=now,
                )
                for c in chunk
            ]
        )
    created: dict[str, int] = {}
    for chunk in _chunks([open_key(c) for c in fresh]):
        created.update(await Case.filter(open_key__in=list(chunk)).values_list("open_key", "id"))
    for c in children:
        c.case_id = existing.get(open_key(c)) or created.get(open_key(c))
    detail = f"学籍与人口信息库比对核查（比对日 {run.as_of}）：适龄未入学，自动立案"
    new_ids = list(created.values())
    for chunk in _chunks(new_ids):
        await CaseEvent.bulk_create([CaseEvent(case_id=i, at=now, action="OPENED", detail=detail) for i in chunk])
        await OutboxEvent.bulk_create(
            [OutboxEvent(topic=CASE_CHANGED, payload={"case_id": i}, effective_on=run.as_of) for i in chunk]
        )
    summary.cases_opened += len(new_ids)


def _title(c: Candidate) -> str:
    words = KIND_WORDS[c.kind]
    if c.kind is FindingKind.NOT_ENROLLED:
        return f"比对核查（{words}）：{c.name}（{c.evidence.get('age')}周岁）未入学，开展劝返并送学到校"
    if c.kind is FindingKind.NOT_LIVING_HERE:
        return f"比对核查（{words}）：学生{c.name}现住县外，核实就读情况，规范学籍"
    if c.kind is FindingKind.NOT_ATTENDING:
        return f"比对核查（{words}）：学生{c.name}有学籍但未到校，劝返复学或规范学籍"
    if c.kind is FindingKind.TWO_SCHOOLS:
        return f"比对核查（{words}）：学生{c.name}学籍与普查就读学校不一致，核实并纠正"
    return f"比对核查（{words}）：{c.name}在学户册中但人口库和学籍均无，核实登记"


def _cooperators(c: Candidate) -> list[int]:
    if c.kind is FindingKind.NOT_ENROLLED:
        return [c.school_id] if c.school_id else []
    if c.kind is FindingKind.NOT_LIVING_HERE:
        return [c.township_id] if c.township_id else []
    if c.kind is FindingKind.TWO_SCHOOLS:
        return [s for s in (c.evidence.get("rollSchoolId"), c.evidence.get("censusSchoolId")) if s]
    if c.kind is FindingKind.CENSUS_ONLY:
        return [p for p in (c.evidence.get("police"),) if p]
    return []


async def _tasks(
    wanted: Sequence[tuple[int, Candidate]], due: Any, duty_id: int | None, now: Any, summary: RunSummary
) -> None:
    """One task per finding for the unit asked to act, keyed `crosscheck:<finding>`; cooperators share it."""
    if not wanted:
        return
    codes = dict(await Unit.all().values_list("id", "code"))
    for chunk in _chunks(list(wanted)):
        await Task.bulk_create(
            [
                Task(
                    title=_title(c)[:300],
                    description=f"依据：四(一)3 学籍系统和人口信息库比对核查；核查发现 #{fid}",
                    kind=TaskKind.RULE,
                    due_at=due,
                    assignee_unit_id=c.unit_id,
                    duty_id=duty_id,
                    unique_key=f"crosscheck:{fid}",
                    case_id=c.case_id if c.kind is FindingKind.NOT_ENROLLED else None,
                )
                for fid, c in chunk
            ],
            ignore_conflicts=True,
        )
        ids = dict(
            await Task.filter(unique_key__in=[f"crosscheck:{fid}" for fid, _ in chunk]).values_list("unique_key", "id")
        )
        cooperators = [
            TaskCooperator(task_id=ids[f"crosscheck:{fid}"], unit_id=u)
            for fid, c in chunk
            for u in dict.fromkeys(_cooperators(c))
            if u != c.unit_id
        ]
        if cooperators:
            await TaskCooperator.bulk_create(cooperators, ignore_conflicts=True)
        await TaskEvent.bulk_create(
            [
                TaskEvent(
                    task_id=ids[f"crosscheck:{fid}"],
                    at=now,
                    action="CREATED",
                    changes={"status": [None, TaskStatus.OPEN.value], "assigneeUnit": [None, codes.get(c.unit_id)]},
                )
                for fid, c in chunk
            ]
        )
        summary.tasks_created += len(chunk)
