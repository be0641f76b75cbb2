"""The county's policy file: organisation, people and duties, validated and loaded.

A policy file is YAML (see tasks/policy/hutubi.yaml). `load_policy` validates the whole
file before it writes anything, reports each mistake with its line, and upserts by code,
so loading the same file twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from tortoise.transactions import in_transaction

from models.calendar import SchoolCalendar
from models.children import Gender, Student
from models.duties import Duty, DutyParty, PartyRole, TriggerKind
from models.units import MemberRole, Membership, Person, SchoolLevel, Unit, UnitKind
from tasks.calendar import calendar_key
from tasks.errors import DomainError
from tasks.students import GuardianData, StudentData, create_student

DEADLINE_RULE = re.compile(
    r"^(none|annual (0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])|monthly ([1-9]|[12]\d)"
    r"|quarterly \+\d{1,3}d|term-start \+\d{1,3}d|after-event \+\d{1,3}d)$"
)
CODE = r"^[a-z0-9][a-z0-9-]{0,63}$"
KIND_PREFIX = "kind:"


class PolicyError(Exception):
    """A policy file that cannot be loaded; `problems` lists each mistake with its place."""

    def __init__(self, path: Path | str, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.path}: the policy file was not loaded, nothing changed:\n{listing}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitSpec(_Strict):
    code: str = Field(pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    kind: UnitKind
    parent: str | None = None
    school_level: SchoolLevel | None = None
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


class DeadlineSpec(_Strict):
    rule: str
    text: str = Field(min_length=1, max_length=200)
    default: bool = False

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        if not DEADLINE_RULE.match(rule):
            raise ValueError(
                f"unknown deadline rule {rule!r}; use none, annual MM-DD, monthly D, "
                "quarterly +Nd, term-start +Nd or after-event +Nd"
            )
        return rule


class DutySpec(_Strict):
    code: str = Field(pattern=CODE)
    clause: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1)
    owners: list[str] = Field(min_length=1)
    cooperators: list[str] = Field(default_factory=list)
    trigger: TriggerSpec
    deadline: DeadlineSpec


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


@dataclass(frozen=True)
class LoadSummary:
    units_created: int = 0
    units_updated: int = 0
    people_created: int = 0
    people_updated: int = 0
    duties_created: int = 0
    duties_updated: int = 0
    calendars_created: int = 0
    calendars_updated: int = 0
    students_created: int = 0

    def __add__(self, other: LoadSummary) -> LoadSummary:
        return LoadSummary(*(a + b for a, b in zip(_astuple(self), _astuple(other), strict=True)))

    @property
    def changed(self) -> bool:
        return any(_astuple(self))


def _astuple(summary: LoadSummary) -> tuple[int, ...]:
    return tuple(getattr(summary, f) for f in LoadSummary.__dataclass_fields__)


# -- reading and validating ---------------------------------------------------------------


def _line_of(root: yaml.Node | None, loc: Iterable[Any]) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            found = node.value[key]
        else:
            found = None
        if found is None:
            break
        node = found
        line = node.start_mark.line + 1
    return line


def _place(path: str, root: yaml.Node | None, loc: Sequence[Any]) -> str:
    dotted = "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in loc).lstrip(".")
    line = _line_of(root, loc)
    return f"line {line}, {dotted}" if line else dotted


def read_policy(path: Path | str) -> PolicySpec:
    """Parse and validate one policy file; raise PolicyError naming each bad line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(path, [f"cannot read the file: {exc.strerror}"]) from exc
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise PolicyError(path, [f"{where}not valid YAML ({getattr(exc, 'problem', exc)})"]) from exc
    if not isinstance(data, dict):
        raise PolicyError(path, ["line 1: the file must be a mapping with units, people and duties"])
    try:
        spec = PolicySpec.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_place(str(path), root, e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise PolicyError(path, problems) from exc
    return spec


def check_references(specs: Sequence[tuple[Path, PolicySpec]], known_units: set[str]) -> None:
    """Every unit a file names must be defined, once, in these files or already in the database."""
    problems: list[str] = []
    defined: dict[str, str] = {}
    for path, spec in specs:
        for i, unit in enumerate(spec.units):
            if unit.code in defined:
                problems.append(f"{path}: units[{i}].code: {unit.code!r} is defined twice")
            defined[unit.code] = str(path)
        for kind, items in (("people", spec.people), ("duties", spec.duties)):
            seen: set[str] = set()
            for i, item in enumerate(items):
                key = getattr(item, "key", None) or item.code  # type: ignore[attr-defined]
                if key in seen:
                    problems.append(f"{path}: {kind}[{i}]: {key!r} appears twice")
                seen.add(key)
    units = known_units | set(defined)

    def unknown(path: Path, where: str, code: str) -> None:
        problems.append(f"{path}: {where}: unknown unit {code!r}; define it under units first")

    for path, spec in specs:
        for i, unit in enumerate(spec.units):
            if unit.parent and unit.parent not in units:
                unknown(path, f"units[{i}].parent", unit.parent)
            if unit.kind is UnitKind.SCHOOL and unit.school_level is None:
                problems.append(f"{path}: units[{i}].school_level: a school needs its level")
        for i, person in enumerate(spec.people):
            for j, role in enumerate(person.roles):
                if role.unit not in units:
                    unknown(path, f"people[{i}].roles[{j}].unit", role.unit)
        for i, duty in enumerate(spec.duties):
            for field in ("owners", "cooperators"):
                for j, party in enumerate(getattr(duty, field)):
                    if party.startswith(KIND_PREFIX):
                        if party[len(KIND_PREFIX) :] not in UnitKind.__members__:
                            problems.append(
                                f"{path}: duties[{i}].{field}[{j}]: unknown unit kind {party!r}; "
                                f"use one of {', '.join(UnitKind)}"
                            )
                    elif party not in units:
                        unknown(path, f"duties[{i}].{field}[{j}]", party)
        for i, calendar in enumerate(spec.calendars):
            if calendar.school and calendar.school not in units:
                unknown(path, f"calendars[{i}].school", calendar.school)
        for i, student in enumerate(spec.students):
            for field in ("school", "township", "village"):
                code = getattr(student, field)
                if code and code not in units:
                    unknown(path, f"students[{i}].{field}", code)
    if problems:
        raise PolicyError(", ".join(str(p) for p, _ in specs), problems)


# -- writing ----------------------------------------------------------------------------


def _ordered_units(units: Sequence[UnitSpec]) -> list[UnitSpec]:
    """Parents before children, whatever the file's order."""
    by_code = {u.code: u for u in units}
    done: list[UnitSpec] = []
    seen: set[str] = set()

    def visit(unit: UnitSpec, trail: tuple[str, ...]) -> None:
        if unit.code in seen:
            return
        if unit.code in trail:
            raise PolicyError("policy", [f"units: {' → '.join((*trail, unit.code))} is a cycle of parents"])
        parent = by_code.get(unit.parent or "")
        if parent is not None:
            visit(parent, (*trail, unit.code))
        seen.add(unit.code)
        done.append(unit)

    for unit in units:
        visit(unit, ())
    return done


async def _upsert(model: type, lookup: dict[str, Any], values: dict[str, Any]) -> tuple[Any, str]:
    row = await model.get_or_none(**lookup)
    if row is None:
        return await model.create(**lookup, **values), "created"
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if changed:
        row.update_from_dict(changed)
        await row.save(update_fields=list(changed))
        return row, "updated"
    return row, "same"


async def _write(spec: PolicySpec, position_base: int) -> LoadSummary:
    counts = dict.fromkeys(LoadSummary.__dataclass_fields__, 0)
    unit_ids = {code: pk for code, pk in await Unit.all().values_list("code", "id")}
    for i, unit in enumerate(_ordered_units(spec.units)):
        row, what = await _upsert(
            Unit,
            {"code": unit.code},
            {
                "name": unit.name,
                "kind": unit.kind,
                "parent_id": unit_ids.get(unit.parent) if unit.parent else None,
                "school_level": unit.school_level,
                "is_demo": unit.demo,
                "position": position_base + i,
            },
        )
        unit_ids[unit.code] = row.id
        if what != "same":
            counts[f"units_{what}"] += 1

    for i, person in enumerate(spec.people):
        row, what = await _upsert(
            Person, {"key": person.key}, {"name": person.name, "title": person.title, "is_demo": person.demo}
        )
        wanted = {(unit_ids[r.unit], r.role) for r in person.roles}
        have = {(m.unit_id, m.role): m for m in await Membership.filter(person_id=row.id)}
        roles_changed = wanted != set(have)
        for key, membership in have.items():
            if key not in wanted:
                await membership.delete()
        for j, r in enumerate(person.roles):
            if (unit_ids[r.unit], r.role) not in have:
                await Membership.create(person_id=row.id, unit_id=unit_ids[r.unit], role=r.role, position=i * 10 + j)
        if what == "created":
            counts["people_created"] += 1
        elif what == "updated" or roles_changed:
            counts["people_updated"] += 1

    for i, duty in enumerate(spec.duties):
        row, what = await _upsert(
            Duty,
            {"code": duty.code},
            {
                "clause": duty.clause,
                "title": duty.title,
                "text": duty.text,
                "trigger_kind": duty.trigger.kind,
                "trigger_text": duty.trigger.text,
                "deadline_rule": duty.deadline.rule,
                "deadline_text": duty.deadline.text,
                "deadline_is_default": duty.deadline.default,
                "position": position_base + i,
            },
        )
        wanted_parties = [
            (role, party)
            for role, parties in ((PartyRole.OWNER, duty.owners), (PartyRole.COOPERATOR, duty.cooperators))
            for party in parties
        ]
        have_parties = [
            (p.role, f"{KIND_PREFIX}{p.unit_kind}" if p.unit_kind else _code_of(unit_ids, p.unit_id))
            for p in await DutyParty.filter(duty_id=row.id).order_by("position", "id")
        ]
        parties_changed = have_parties != wanted_parties
        if parties_changed:
            await DutyParty.filter(duty_id=row.id).delete()
            for j, (role, party) in enumerate(wanted_parties):
                is_kind = party.startswith(KIND_PREFIX)
                await DutyParty.create(
                    duty_id=row.id,
                    role=role,
                    unit_id=None if is_kind else unit_ids[party],
                    unit_kind=UnitKind(party[len(KIND_PREFIX) :]) if is_kind else None,
                    position=j,
                )
        if what == "created":
            counts["duties_created"] += 1
        elif what == "updated" or parties_changed:
            counts["duties_updated"] += 1

    for calendar in spec.calendars:
        school_id = unit_ids[calendar.school] if calendar.school else None
        _, what = await _upsert(
            SchoolCalendar,
            {"key": calendar_key(calendar.school_year, school_id)},
            {
                "school_year": calendar.school_year,
                "school_id": school_id,
                "terms": [
                    {"name": t.name, "start": t.start.isoformat(), "end": t.end.isoformat()} for t in calendar.terms
                ],
                "holidays": sorted(d.isoformat() for d in calendar.holidays),
                "makeup_days": sorted(d.isoformat() for d in calendar.makeup_days),
            },
        )
        if what != "same":
            counts[f"calendars_{what}"] += 1

    for i, student in enumerate(spec.students):
        if await Student.exists(citizen_id=student.citizen_id.upper()):
            continue
        try:
            await create_student(_student_data(student, unit_ids))
        except DomainError as exc:
            raise PolicyError("policy", [f"students[{i}].{exc.field}: {exc.message}"]) from exc
        counts["students_created"] += 1
    return LoadSummary(**counts)


def _student_data(spec: StudentSpec, unit_ids: dict[str, int]) -> StudentData:
    def guardian(g: GuardianSpec | None) -> GuardianData | None:
        return GuardianData(name=g.name, phone=g.phone, occupation=g.occupation) if g else None

    return StudentData(
        name=spec.name,
        gender=spec.gender,
        birth_date=spec.birth_date,
        citizen_id=spec.citizen_id,
        student_number=spec.student_number,
        school_id=unit_ids[spec.school],
        grade=spec.grade,
        class_name=spec.class_name,
        head_teacher_name=spec.head_teacher_name,
        township_id=unit_ids[spec.township],
        village_id=unit_ids[spec.village] if spec.village else None,
        home_address=spec.home_address,
        family_situation=spec.family_situation,
        father=guardian(spec.father),
        mother=guardian(spec.mother),
        is_demo=spec.demo,
    )


def _code_of(unit_ids: dict[str, int], unit_id: int | None) -> str:
    return next((code for code, pk in unit_ids.items() if pk == unit_id), "?")


async def load_policy(paths: Sequence[Path | str]) -> LoadSummary:
    """Validate every file, then write them all in one transaction; nothing is half-loaded."""
    specs = [(Path(p), read_policy(p)) for p in paths]
    known = set(await Unit.all().values_list("code", flat=True))
    check_references(specs, known)
    summary = LoadSummary()
    async with in_transaction():
        for index, (_, spec) in enumerate(specs):
            summary = summary + await _write(spec, position_base=index * 10_000)
    return summary
