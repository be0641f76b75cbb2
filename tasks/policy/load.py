"""The county's policy file: organisation, people and duties, validated and loaded.

A policy file is YAML (see tasks/policy/hutubi.yaml). `load_policy` validates the whole
file before it writes anything, reports each mistake with its line, and upserts by code,
so loading the same file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from tortoise.transactions import in_transaction

from models.calendar import SchoolCalendar
from models.children import Student
from models.duties import Duty, DutyParty, PartyRole
from models.rules import PolicySetting, Rule, RuleKind
from models.units import Membership, Person, Unit, UnitKind
from tasks.children.students import GuardianData, StudentData, create_student
from tasks.errors import DomainError
from tasks.policy.spec import (
    RELATIVE_UNITS,
    GuardianSpec,
    PolicySpec,
    StudentSpec,
    UnitSpec,
    parse_kind_party,
)
from tasks.registers.classes import class_of_name, link_to_class
from tasks.school_days import calendar_key

KIND_PREFIX = "kind:"
LADDER_PREFIX = "ladder:"


class PolicyError(Exception):
    """A policy file that cannot be loaded; `problems` lists each mistake with its place."""

    def __init__(self, path: Path | str, problems: Sequence[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.path}: the policy file was not loaded, nothing changed:\n{listing}")


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
    rules_changed: int = 0

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


def check_references(
    specs: Sequence[tuple[Path, PolicySpec]], known_units: set[str], known_duties: set[str], known_roles: set[str]
) -> None:
    """Every unit, duty and role a file names must be defined, once, in these files or in the database."""
    problems: list[str] = []
    defined: dict[str, str] = {}
    for path, spec in specs:
        for i, unit in enumerate(spec.units):
            if unit.code in defined:
                problems.append(f"{path}: units[{i}].code: {unit.code!r} is defined twice")
            defined[unit.code] = str(path)
        for kind, keys in (
            ("people", [p.key for p in spec.people]),
            ("duties", [d.code for d in spec.duties]),
            ("rules", [r.code for r in spec.rules or []]),
            ("ladder.steps", [s.code for s in spec.ladder.steps] if spec.ladder else []),
        ):
            seen: set[str] = set()
            for i, key in enumerate(keys):
                if key in seen:
                    problems.append(f"{path}: {kind}[{i}]: {key!r} appears twice")
                seen.add(key)
    units = known_units | set(defined)
    duties = known_duties | {d.code for _, spec in specs for d in spec.duties}
    roles = known_roles | {r for _, spec in specs if spec.county_units for r in spec.county_units.roles()}

    def unit_ref(path: Path, where: str, code: str, relative: bool = False) -> None:
        if code.startswith(KIND_PREFIX) and not relative:
            return
        if code in units or (relative and (code in RELATIVE_UNITS or code in roles)):
            return
        hint = (
            " or a relation (school, village, township, receiver, vocational) or a county_units role"
            if relative
            else ""
        )
        problems.append(f"{path}: {where}: unknown unit {code!r}; define it under units{hint}")

    def duty_ref(path: Path, where: str, code: str | None) -> None:
        if code is not None and code not in duties:
            problems.append(f"{path}: {where}: unknown duty {code!r}; define it under duties")

    for path, spec in specs:
        for i, unit in enumerate(spec.units):
            if unit.parent:
                unit_ref(path, f"units[{i}].parent", unit.parent)
            if unit.designated_middle_school:
                unit_ref(path, f"units[{i}].designated_middle_school", unit.designated_middle_school)
            if unit.kind is UnitKind.SCHOOL and unit.school_level is None:
                problems.append(f"{path}: units[{i}].school_level: a school needs its level")
        for i, person in enumerate(spec.people):
            for j, role in enumerate(person.roles):
                unit_ref(path, f"people[{i}].roles[{j}].unit", role.unit)
        for i, duty in enumerate(spec.duties):
            for field in ("owners", "cooperators"):
                for j, party in enumerate(getattr(duty, field)):
                    unit_ref(path, f"duties[{i}].{field}[{j}]", party)
        for i, calendar in enumerate(spec.calendars):
            if calendar.school:
                unit_ref(path, f"calendars[{i}].school", calendar.school)
        for i, school_class in enumerate(spec.classes):
            unit_ref(path, f"classes[{i}].school", school_class.school)
        for i, student in enumerate(spec.students):
            for field in ("school", "township", "village"):
                code = getattr(student, field)
                if code:
                    unit_ref(path, f"students[{i}].{field}", code)
        if spec.county_units:
            for role, code in spec.county_units.roles().items():
                unit_ref(path, f"county_units.{role}", code)
        if spec.ladder:
            for j, receiver in enumerate(spec.ladder.report_receivers):
                unit_ref(path, f"ladder.report_receivers[{j}]", receiver, relative=True)
            for i, step in enumerate(spec.ladder.steps):
                for j, code in enumerate([step.unit, *step.cooperators]):
                    unit_ref(path, f"ladder.steps[{i}].{'unit' if j == 0 else f'cooperators[{j - 1}]'}", code, True)
                duty_ref(path, f"ladder.steps[{i}].duty", step.duty)
        for i, rule in enumerate(spec.rules or []):
            duty_ref(path, f"rules[{i}].duty", rule.duty)
            for k, step in enumerate(rule.steps):
                for j, code in enumerate([step.unit, *step.cooperators]):
                    where = f"rules[{i}].steps[{k}].{'unit' if j == 0 else f'cooperators[{j - 1}]'}"
                    unit_ref(path, where, code, relative=True)
                duty_ref(path, f"rules[{i}].steps[{k}].duty", step.duty)
        if (spec.ladder or spec.rules) and not roles:
            problems.append(f"{path}: county_units: the ladder and rules need county_units (office, education_bureau)")
    if problems:
        raise PolicyError(", ".join(str(p) for p, _ in specs), problems)


async def _stored_parents() -> dict[str, str | None]:
    codes = dict(await Unit.all().values_list("id", "code"))
    return {codes[pk]: codes.get(parent) for pk, parent in await Unit.all().values_list("id", "parent_id")}


def check_parent_cycles(specs: Sequence[tuple[Path, PolicySpec]], stored: dict[str, str | None]) -> None:
    """The unit tree stays a tree: follow each unit's parents through the files and the database."""
    parents = dict(stored)
    for _, spec in specs:
        parents.update({u.code: u.parent for u in spec.units})
    for path, spec in specs:
        for i, unit in enumerate(spec.units):
            trail = [unit.code]
            step = parents.get(unit.code)
            while step is not None:
                if step in trail:
                    cycle = " → ".join([*trail[trail.index(step) :], step])
                    raise PolicyError(path, [f"units[{i}].parent: {cycle} would make a cycle of parents"])
                trail.append(step)
                step = parents.get(step)


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
    created: set[str] = set()
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
        if what == "created":
            created.add(unit.code)
    for unit in spec.units:  # a second pass: the middle school may come later in the file
        target = unit_ids.get(unit.designated_middle_school or "")
        row = await Unit.get(code=unit.code)
        if row.designated_middle_school_id != target:
            await Unit.filter(id=row.id).update(designated_middle_school_id=target)
            counts["units_updated"] += unit.code not in created

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
                "per_unit_kind": parse_kind_party(duty.per)[0] if duty.per else None,
                "lists": duty.lists,
                "position": position_base + i,
            },
        )
        wanted_parties = [
            (role, party)
            for role, parties in ((PartyRole.OWNER, duty.owners), (PartyRole.COOPERATOR, duty.cooperators))
            for party in parties
        ]
        codes = {pk: code for code, pk in unit_ids.items()}
        have_parties = [
            (p.role, party_text(p, codes)) for p in await DutyParty.filter(duty_id=row.id).order_by("position", "id")
        ]
        parties_changed = have_parties != wanted_parties
        if parties_changed:
            await DutyParty.filter(duty_id=row.id).delete()
            for j, (role, party) in enumerate(wanted_parties):
                by_kind = parse_kind_party(party)
                await DutyParty.create(
                    duty_id=row.id,
                    role=role,
                    unit_id=None if by_kind else unit_ids[party],
                    unit_kind=by_kind[0] if by_kind else None,
                    school_levels=[level.value for level in by_kind[1]] if by_kind and by_kind[1] else None,
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

    for school_class in spec.classes:
        await class_of_name(
            unit_ids[school_class.school], school_class.grade, school_class.name, school_class.school_year
        )
    for i, student in enumerate(spec.students):
        row = await Student.get_or_none(citizen_id=student.citizen_id.upper())
        if row is None:
            try:
                row = await create_student(_student_data(student, unit_ids))
            except DomainError as exc:
                raise PolicyError("policy", [f"students[{i}].{exc.field}: {exc.message}"]) from exc
            counts["students_created"] += 1
        if student.class_name and row.school_class_id is None and row.school_id == unit_ids[student.school]:
            # The pupil's class, made if missing (no head teacher: name one with classHeadTeacherSet).
            await link_to_class(row, await class_of_name(row.school_id, row.grade, student.class_name))

    counts["rules_changed"] = await _write_rules(spec)
    return LoadSummary(**counts)


def party_text(party: DutyParty, codes: dict[int, str]) -> str:
    """A duty party as the policy file writes it: a unit code, kind:TOWNSHIP or kind:SCHOOL(PRIMARY)."""
    if party.unit_kind is None:
        return codes.get(party.unit_id or 0, "?")
    levels = f"({'|'.join(party.school_levels)})" if party.school_levels else ""
    return f"{KIND_PREFIX}{party.unit_kind.value}{levels}"


async def _write_rules(spec: PolicySpec) -> int:
    """Settings, ladder steps and fact rules; a section present in the file replaces the stored one."""
    changed = 0
    settings: dict[str, object] = {}
    if spec.county_units:
        settings["county_units"] = spec.county_units.roles()
    if spec.deadlines:
        settings["deadlines"] = spec.deadlines.model_dump(mode="json")
    if spec.roll:
        settings["roll"] = spec.roll.model_dump(mode="json")
    if spec.ladder:
        settings["report_receivers"] = spec.ladder.report_receivers
    if spec.forms:
        settings["forms"] = spec.forms.model_dump(mode="json")
    if spec.county:
        settings["county"] = spec.county.model_dump(mode="json")
    if spec.imports:
        settings["imports"] = spec.imports.model_dump(mode="json", exclude_none=True)
    if spec.office:
        settings["office"] = spec.office.model_dump(mode="json")
    if spec.crosscheck:
        settings["crosscheck"] = spec.crosscheck.model_dump(mode="json")
    for key, value in settings.items():
        _, what = await _upsert(PolicySetting, {"key": key}, {"value": value})
        changed += what != "same"
    duty_ids = dict(await Duty.all().values_list("code", "id"))
    wanted: dict[RuleKind, list[tuple[str, dict[str, object]]]] = {}
    if spec.ladder:
        wanted[RuleKind.LADDER_STEP] = [
            (
                LADDER_PREFIX + step.code,
                {"title": step.title, "clause": step.clause, "duty_id": duty_ids.get(step.duty or ""),
                 "spec": step.model_dump(mode="json")},
            )
            for step in spec.ladder.steps
        ]  # fmt: skip
    if spec.rules is not None:
        wanted[RuleKind.FACT_RULE] = [
            (
                rule.code,
                {"title": rule.title, "clause": rule.clause, "duty_id": duty_ids.get(rule.duty or ""),
                 "spec": rule.model_dump(mode="json")},
            )
            for rule in spec.rules
        ]  # fmt: skip
    for kind, rows in wanted.items():
        for position, (code, values) in enumerate(rows):
            _, what = await _upsert(Rule, {"code": code}, {**values, "kind": kind, "position": position})
            changed += what != "same"
        changed += await Rule.filter(kind=kind).exclude(code__in=[code for code, _ in rows]).delete()
    return changed


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


async def load_policy(paths: Sequence[Path | str]) -> LoadSummary:
    """Validate every file, then write them all in one transaction; nothing is half-loaded."""
    specs = [(Path(p), read_policy(p)) for p in paths]
    known = set(await Unit.all().values_list("code", flat=True))
    duties = set(await Duty.all().values_list("code", flat=True))
    stored = await PolicySetting.get_or_none(key="county_units")
    check_references(specs, known, duties, set(stored.value) if stored else set())
    check_parent_cycles(specs, await _stored_parents())
    summary = LoadSummary()
    async with in_transaction():
        for index, (_, spec) in enumerate(specs):
            summary = summary + await _write(spec, position_base=index * 10_000)
    return summary
