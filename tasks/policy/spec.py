"""The policy file's shape: what a county may write, checked field by field (pydantic).

Everything about a county that is not code lives here as data: units, people, duties, the
school calendar, the ladder of 附件1, the rules that follow a child, deadlines and escalation.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from models.cases import CaseKind, CaseStage
from models.children import Gender
from models.duties import TriggerKind
from models.facts import FactKind
from models.units import MemberRole, SchoolLevel, UnitKind
from models.users import UserRole

DEADLINE_RULE = re.compile(
    r"^(none|(annual|before-year) (0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])|monthly ([1-9]|[12]\d)( always)?"
    r"|quarterly \+\d{1,3}d|term-start \+\d{1,3}d|year-start \+\d{1,3}d|after-event \+\d{1,3}d)$"
)
CODE = r"^[a-z0-9][a-z0-9-]{0,63}$"
KIND_PARTY = re.compile(r"^kind:([A-Z_]+)(?:\(([A-Z_|]+)\))?$")
# Units a rule may name by their relation to the case or child, besides county_units roles and codes.
RELATIVE_UNITS = frozenset({"school", "village", "township", "receiver", "vocational"})
LADDER_EVENTS = ("collective-visit-failed", "report-filed", "receipt-acknowledged", "persuasion-failed")
LADDER_SETTLERS = ("report-filed", "receipt-acknowledged", "result-recorded", "follow-up-assigned")


def parse_kind_party(text: str) -> tuple[UnitKind, list[SchoolLevel] | None] | None:
    """`kind:SCHOOL(PRIMARY|NINE_YEAR)` → (SCHOOL, [PRIMARY, NINE_YEAR]); a unit code → None."""
    match = KIND_PARTY.match(text)
    if match is None:
        return None
    kind = UnitKind(match.group(1))
    levels = [SchoolLevel(v) for v in match.group(2).split("|")] if match.group(2) else None
    return kind, levels


def _check_party(text: str) -> str:
    if text.startswith("kind:"):
        try:
            parsed = parse_kind_party(text)
        except ValueError as exc:
            raise ValueError(f"{text!r}: {exc}; kinds are {', '.join(UnitKind)}") from exc
        if parsed is None:
            raise ValueError(f"{text!r}: write kind:KIND or kind:SCHOOL(LEVEL|LEVEL)")
        if parsed[1] and parsed[0] is not UnitKind.SCHOOL:
            raise ValueError(f"{text!r}: levels apply to kind:SCHOOL only")
    return text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitSpec(_Strict):
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    kind: UnitKind
    parent: str | None = None
    school_level: SchoolLevel | None = None
    designated_middle_school: str | None = None
    demo: bool = False


class RoleSpec(_Strict):
    unit: str
    role: MemberRole


class PersonSpec(_Strict):
    key: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=100)
    title: str = Field(min_length=1, max_length=200)
    demo: bool = False
    roles: list[RoleSpec] = Field(min_length=1)


class TriggerSpec(_Strict):
    kind: TriggerKind
    text: str = Field(min_length=1, max_length=200)


Party = Annotated[str, AfterValidator(_check_party)]  # a unit code, kind:TOWNSHIP or kind:SCHOOL(PRIMARY)


class DeadlineSpec(_Strict):
    rule: str
    text: str = Field(min_length=1, max_length=200)
    default: bool = False

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        if not DEADLINE_RULE.match(rule):
            raise ValueError(
                f"unknown deadline rule {rule!r}; use none, annual MM-DD, before-year MM-DD, monthly D [always], "
                "quarterly +Nd, term-start +Nd, year-start +Nd or after-event +Nd"
            )
        return rule


class DutySpec(_Strict):
    code: str = Field(pattern=CODE)
    clause: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1)
    owners: list[Party] = Field(min_length=1)
    cooperators: list[Party] = Field(default_factory=list)
    per: str | None = None
    lists: Literal["children-turning-six"] | None = None
    trigger: TriggerSpec
    deadline: DeadlineSpec

    @field_validator("per")
    @classmethod
    def _per(cls, per: str | None) -> str | None:
        if per is not None and (parse_kind_party(_check_party(per)) is None):
            raise ValueError("per: write kind:KIND (one task per unit of that kind)")
        return per


class TermSpec(_Strict):
    name: str = Field(min_length=1, max_length=50)
    start: date
    end: date


class CalendarSpec(_Strict):
    school_year: str = Field(pattern=r"^\d{4}-\d{4}$")
    school: str | None = None
    terms: list[TermSpec] = Field(min_length=1)
    holidays: list[date] = Field(default_factory=list)
    makeup_days: list[date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> CalendarSpec:
        first = int(self.school_year[:4])
        if int(self.school_year[5:]) != first + 1:
            raise ValueError(f"school_year {self.school_year!r} must be two consecutive years, like 2026-2027")
        for term in self.terms:
            if term.end < term.start:
                raise ValueError(f"term {term.name!r} ends before it starts")
        for day in self.makeup_days:
            if day.weekday() < 5:
                raise ValueError(f"make-up day {day} is a weekday; list only weekend days that are school days")
        return self


class GuardianSpec(_Strict):
    name: str = Field(min_length=1, max_length=100)
    phone: str = ""
    occupation: str = ""


class StudentSpec(_Strict):
    name: str = Field(min_length=1, max_length=100)
    gender: Gender
    birth_date: date
    citizen_id: str
    student_number: str | None = None
    school: str
    grade: int
    class_name: str = ""
    head_teacher_name: str = ""
    township: str
    village: str | None = None
    home_address: str = ""
    family_situation: str = ""
    father: GuardianSpec | None = None
    mother: GuardianSpec | None = None
    demo: bool = False


class ClassSpec(_Strict):
    """A class (班级) of a school; its head teacher is named through the API (classHeadTeacherSet)."""

    school: str
    grade: int = Field(ge=0, le=12)
    name: str = Field(min_length=1, max_length=32)
    school_year: str = Field(default="", pattern=r"^(\d{4}-\d{4})?$")


class CountyUnitsSpec(_Strict):
    office: str
    education_bureau: str
    education_section: str | None = None
    supervision: str | None = None
    vocational_school: str | None = None
    disabled_federation: str | None = None  # records the disability facts it owns (四(一)4)

    def roles(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v}


class DeadlinesSpec(_Strict):
    reminder_days_before: int = Field(ge=0, le=60)
    escalate_to_leader_after_days: int = Field(ge=0, le=60)
    escalate_to_office_after_days: int = Field(ge=1, le=120)

    @model_validator(mode="after")
    def _order(self) -> DeadlinesSpec:
        if self.escalate_to_office_after_days <= self.escalate_to_leader_after_days:
            raise ValueError("escalate_to_office_after_days must be after escalate_to_leader_after_days")
        return self


class RollSpec(_Strict):
    """The school roll's deadlines (四(二)5, 四(二)8), in school days."""

    # A transfer to a school of the county not confirmed by the receiving school within this many
    # school days opens a case for the child by itself (附件1 二).
    transfer_confirm_school_days: int = Field(default=5, ge=1, le=60)
    # 四(二)5: a graduate not registered at the middle school this many school days after its term starts
    # opens a GRADE7_NOT_REPORTED case; until then the primary school remains responsible.
    grade7_report_school_days: int = Field(default=5, ge=1, le=60)


class LadderStepSpec(_Strict):
    code: str = Field(pattern=CODE)
    title: str = Field(min_length=1, max_length=200)
    unit: str
    role: UserRole | None = None
    cooperators: list[str] = Field(default_factory=list)
    day: int | None = Field(default=None, ge=1, le=200)
    event: str | None = None
    per: str | None = None
    due: int = Field(default=0, ge=0, le=60)
    stage: CaseStage
    escalation_level: int = Field(default=0, ge=0, le=9)
    done_when: str | None = None
    kinds: list[CaseKind] | None = None
    clause: str = ""
    duty: str | None = None

    @model_validator(mode="after")
    def _when(self) -> LadderStepSpec:
        if (self.day is None) == (self.event is None):
            raise ValueError(
                "give a step either day (a school day of absence) or event (an event of the case), not both"
            )
        if self.event is not None and self.event not in LADDER_EVENTS:
            raise ValueError(f"event: {self.event!r} is unknown; use one of {', '.join(LADDER_EVENTS)}")
        if self.done_when is not None and self.done_when not in LADDER_SETTLERS:
            raise ValueError(f"done_when: {self.done_when!r}; use one of {', '.join(LADDER_SETTLERS)}")
        if self.per not in (None, "receiver"):
            raise ValueError("per: only receiver (one task per copy of the report)")
        if (self.per == "receiver" or self.unit == "receiver") and self.event not in (
            "report-filed",
            "receipt-acknowledged",
        ):
            raise ValueError("receiver steps must be on report-filed or receipt-acknowledged, with per: receiver")
        return self


class LadderSpec(_Strict):
    report_receivers: list[str] = Field(min_length=1)
    steps: list[LadderStepSpec] = Field(min_length=1)


class FactStepSpec(_Strict):
    code: str = Field(pattern=CODE)
    title: str = Field(min_length=1, max_length=200)
    unit: str
    cooperators: list[str] = Field(default_factory=list)
    due_days: int = Field(ge=0, le=365)
    after: str | None = None
    after_deadline_of: str | None = None
    if_graded: bool | None = None
    unless_enrolled: bool = False
    if_still_out: bool = False
    outcomes: list[str] | None = None
    duty: str | None = None


class FactRuleSpec(_Strict):
    code: str = Field(pattern=CODE)
    fact: FactKind
    title: str = Field(min_length=1, max_length=200)
    clause: str = ""
    duty: str | None = None
    steps: list[FactStepSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _order(self) -> FactRuleSpec:
        seen: set[str] = set()
        for step in self.steps:
            for name in (step.after, step.after_deadline_of):
                if name is not None and name not in seen:
                    raise ValueError(f"step {step.code!r} waits for {name!r}, which must be an earlier step")
            if step.code in seen:
                raise ValueError(f"step {step.code!r} appears twice")
            seen.add(step.code)
        return self


class FormsSpec(_Strict):
    """The printed forms' county-specific words (附件2, 附件3)."""

    persuasion_record_title: str = Field(min_length=1, max_length=60)
    report_title: str = Field(min_length=1, max_length=60)
    carbon_copy: list[str] = Field(default_factory=list)


def _known_fields(names: list[str] | dict[str, list[str]]) -> None:
    from tasks.registers.imports.headers import FIELDS

    for name in names:
        for field in name.split("|"):
            if field not in FIELDS:
                raise ValueError(f"unknown import field {field!r}; the fields are {', '.join(FIELDS)}")


class ImportKindSpec(_Strict):
    """One kind of import: extra headers for its fields, and the fields a row must have."""

    headers: dict[str, list[str]] = Field(default_factory=dict)
    required: list[str] | None = None

    @model_validator(mode="after")
    def _fields(self) -> ImportKindSpec:
        _known_fields(self.headers)
        _known_fields(self.required or [])
        return self


class ImportsSpec(_Strict):
    """Column headers of imported files (tasks/registers/imports/headers.py has the built-in ones)."""

    aliases: dict[str, list[str]] = Field(default_factory=dict)
    population: ImportKindSpec | None = None
    roll: ImportKindSpec | None = None
    census: ImportKindSpec | None = None

    @model_validator(mode="after")
    def _fields(self) -> ImportsSpec:
        _known_fields(self.aliases)
        return self


TARGET_CODES = (
    "enrolment",
    "disabled-enrolment",
    "care-groups-enrolment",
    "primary-retention",
    "junior-retention",
)
CRITERION_MEASURE = re.compile(r"^(target:[a-z-]+|duty-compliance|ladder-timeliness)$")


class TargetSpec(_Strict):
    """One of the plan's targets (二): the rate, the threshold, and the definition the county counts by."""

    code: Literal["enrolment", "disabled-enrolment", "care-groups-enrolment", "primary-retention", "junior-retention"]
    name: str = Field(min_length=1, max_length=100)
    target: float = Field(ge=0, le=1)
    line: Literal["township", "education"]  # who answers for it (双线, 四(二)1)
    definition: str = Field(min_length=1)


class CriterionSpec(_Strict):
    """A criterion of the supervision office's evaluation of a township (五(一)) and its points."""

    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=100)
    points: float = Field(gt=0, le=100)
    measure: str  # target:<code>, duty-compliance (share of duty tasks done by the deadline), ladder-timeliness

    @field_validator("measure")
    @classmethod
    def _known(cls, measure: str) -> str:
        if not CRITERION_MEASURE.match(measure) or (measure.startswith("target:") and measure[7:] not in TARGET_CODES):
            raise ValueError(
                f"measure {measure!r}: use target:<{'|'.join(TARGET_CODES)}>, duty-compliance or ladder-timeliness"
            )
        return measure


class ReportDutiesSpec(_Strict):
    """Which duties of the register the product writes the report for (by duty code)."""

    monthly: str = "absence-monitoring"  # 普九月报 of each school (四(二)6)
    quarterly: str = "quarterly-notice"  # the education bureau's 通报 (四(二)6)
    evaluation: str = "township-evaluation"  # the supervision office's evaluation of each township (五(一))


class OfficeSpec(_Strict):
    """The leading-group office's figures, reports and evaluation."""

    reports: ReportDutiesSpec = Field(default_factory=ReportDutiesSpec)

    targets: list[TargetSpec] = Field(default_factory=list)
    evaluation: list[CriterionSpec] = Field(default_factory=list)


class CrossCheckSpec(_Strict):
    """四(一)3: the cross-check of the roll with the population register (tasks/registers/crosscheck.py)."""

    as_of: str = Field(default="08-31", pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")  # month-day
    entry_age: int = Field(default=6, ge=5, le=8)  # this old on the date: should be in grade 1
    task_days: int = Field(default=7, ge=1, le=90)
    not_attending_window_days: int = Field(default=90, ge=7, le=366)
    not_attending_min_days: int = Field(default=10, ge=1, le=200)


class CountySpec(_Strict):
    code: str = Field(pattern=CODE)
    name: str


class PolicySpec(_Strict):
    county: CountySpec | None = None
    units: list[UnitSpec] = Field(default_factory=list)
    people: list[PersonSpec] = Field(default_factory=list)
    duties: list[DutySpec] = Field(default_factory=list)
    calendars: list[CalendarSpec] = Field(default_factory=list)
    students: list[StudentSpec] = Field(default_factory=list)
    classes: list[ClassSpec] = Field(default_factory=list)
    county_units: CountyUnitsSpec | None = None
    deadlines: DeadlinesSpec | None = None
    roll: RollSpec | None = None
    ladder: LadderSpec | None = None
    rules: list[FactRuleSpec] | None = None
    forms: FormsSpec | None = None
    imports: ImportsSpec | None = None
    office: OfficeSpec | None = None
    crosscheck: CrossCheckSpec | None = None
