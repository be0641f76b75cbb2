"""The plan's targets (二) as live figures: per township and for the county, as of any day.

Definitions (also in docs/figures.md and the policy file's `office.targets`):
- enrolment: residents of the township (population register, by 户籍) of compulsory-school age on the
  day (aged 6-14 on 31 August of the school year: born 1 September Y-15 to 31 August Y-6) who are
  on a school roll in grade 1 or above and have not left it (a 转出 out of the county counts as
  enrolled elsewhere), or whom the census explains (县外就读, 缓学, 送教上门) ÷ the same residents;
  those who died or emigrated are taken from both.
- disabled-enrolment, care-groups-enrolment: the same, over the residents the register knows to have
  a visual, hearing or intellectual disability, or to be left-behind, of a prisoner's family or of a
  family in difficulty (facts recorded on their school record).
- primary-retention (grade 6) and junior-retention (grade 9), cohort retention as of the day: the
  pupils of the township's households in the cohort's final grade (or promoted from it this school
  year) who are still on the roll, suspended or graduated ÷ the same pupils plus those of the cohort
  who dropped out (left for other reasons, or marked 确认辍学 / 联系不上 in the ledger); transfers in
  are counted, transfers out of the county and deaths are taken out.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from models import clock
from tasks.office.policy import office_policy
from tasks.office.sql import Sql, dialect, joined_rows
from tasks.policy.spec import TargetSpec
from tasks.school_days import school_year_of

EXPLAINED = "('OUT_OF_COUNTY', 'DEFERRED', 'HOME_TEACHING')"
GROUPS = {
    "disabled-enrolment": "f.kind = 'DISABILITY' AND f.disability_kind IN ('VISUAL', 'HEARING', 'INTELLECTUAL')",
    "care-groups-enrolment": "f.kind IN ('LEFT_BEHIND', 'PRISONER_PARENT', 'FAMILY_IN_DIFFICULTY')",
}
FINAL_GRADE = {"primary-retention": 6, "junior-retention": 9}


@dataclass
class TargetFigure:
    spec: TargetSpec
    township_id: int | None  # None: the county
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return round(self.numerator / self.denominator, 4) if self.denominator else None

    @property
    def met(self) -> bool | None:
        value = self.value
        return None if value is None else value >= self.spec.target - 1e-9


def as_of_for(school_year: str | None, as_of: date | None) -> date:
    """The day the figures are counted on: the one asked, else today within the school year, else its last day."""
    if as_of is not None:
        return as_of
    today = clock.today()
    if school_year is None or school_year_of(today) == school_year:
        return today
    end = date(int(school_year[5:]), 7, 31)
    return min(today, end)


def _last_moves(day: str) -> str:
    """Each pupil's latest roll movement up to the day, as 'KIND:SCOPE:REASON' (a derived table to join:
    movements are few beside pupils, so one pass over them beats a lookup per pupil)."""
    return (
        "(SELECT r.student_id, r.lm FROM (SELECT m.student_id, m.kind || ':' || COALESCE(m.scope, '') || ':' || "
        "COALESCE(m.leave_reason, '') AS lm, ROW_NUMBER() OVER (PARTITION BY m.student_id "
        f"ORDER BY m.day DESC, m.id DESC) AS rn FROM roll_movement m WHERE m.day <= {day}) r WHERE r.rn = 1)"
    )


def _last_marks(day: str) -> str:
    """Each pupil's latest ledger mark up to the day (a derived table to join)."""
    return (
        "(SELECT r.student_id, r.mark FROM (SELECT c.student_id, le.mark, ROW_NUMBER() OVER (PARTITION BY "
        "c.student_id ORDER BY le.day DESC, le.id DESC) AS rn FROM ledger_entry le JOIN dropout_case c "
        f"ON c.id = le.case_id WHERE le.day <= {day}) r WHERE r.rn = 1)"
    )


EXPLAINED_IDS = f"(SELECT DISTINCT cl.citizen_id FROM census_line cl WHERE cl.status IN {EXPLAINED})"


GONE = "(x.lm LIKE 'LEAVE:%:DEATH' OR x.lm LIKE 'LEAVE:%:EMIGRATION')"


def _enrolment_sql(sql: Sql, code: str, day: date, townships: list[int] | None, select_ids: str | None) -> str:
    first = int(school_year_of(day)[:4])
    d = sql.param(day)
    born_from, born_to = sql.param(date(first - 15, 9, 1)), sql.param(date(first - 6, 8, 31))
    where = [f"r.birth_date >= {born_from}", f"r.birth_date <= {born_to}"]
    if townships is not None:
        where.append(f"r.township_id IN {sql.ids(townships)}")
    if code in GROUPS:
        where.append(
            "EXISTS (SELECT 1 FROM fact f JOIN student s2 ON s2.id = f.student_id "
            f"WHERE s2.citizen_id = r.citizen_id AND f.status = 'ACTIVE' AND {GROUPS[code]})"
        )
    inner = (
        "SELECT r.township_id AS township, r.citizen_id, s.id AS sid, s.grade, COALESCE(lm.lm, '') AS lm, "
        "ex.citizen_id AS explained FROM resident r LEFT JOIN student s ON s.citizen_id = r.citizen_id "
        f"LEFT JOIN {_last_moves(d)} lm ON lm.student_id = s.id "
        f"LEFT JOIN {EXPLAINED_IDS} ex ON ex.citizen_id = r.citizen_id WHERE {' AND '.join(where)}"
    )
    counted = "(x.sid IS NOT NULL AND x.grade >= 1 AND x.lm NOT LIKE 'LEAVE:%') OR x.explained IS NOT NULL"
    if select_ids is not None:  # the children behind the figure: the pupils counted, or those not counted
        wanted = counted if select_ids == "counted" else f"NOT ({counted})"
        return f"SELECT x.sid AS id FROM ({inner}) x WHERE x.sid IS NOT NULL AND NOT {GONE} AND ({wanted})"
    return (
        f"SELECT x.township AS township, SUM(CASE WHEN {GONE} THEN 0 ELSE 1 END) AS denominator, "
        f"SUM(CASE WHEN {GONE} THEN 0 WHEN {counted} THEN 1 ELSE 0 END) AS numerator "
        f"FROM ({inner}) x GROUP BY x.township"
    )


def _retention_sql(sql: Sql, codes: list[str], day: date, townships: list[int] | None, select_ids: str | None) -> str:
    """The cohorts of the final grades of `codes` in one pass over the pupils (a pupil is in one cohort at most:
    grade 6 or 7, grade 9 or 10), counted per cohort (`code`) and township."""
    d = sql.param(day)
    year_start = sql.param(date(int(school_year_of(day)[:4]), 8, 1))
    grades = [FINAL_GRADE[code] for code in codes]
    cohorts = " OR ".join(
        f"s.grade = {grade} OR (s.grade = {grade + 1} AND EXISTS (SELECT 1 FROM roll_movement p WHERE "
        f"p.student_id = s.id AND p.kind = 'PROMOTE' AND p.day >= {year_start} AND p.day <= {d}))"
        for grade in grades
    )
    which = " ".join(f"WHEN s.grade IN ({g}, {g + 1}) THEN '{code}'" for code, g in zip(codes, grades, strict=True))
    where = [f"({cohorts})"]
    if townships is not None:
        where.append(f"h.township_id IN {sql.ids(townships)}")
    inner = (
        f"SELECT CASE {which} END AS code, h.township_id AS township, s.id AS sid, COALESCE(lm.lm, '') AS lm, "
        "COALESCE(mk.mark, '') AS mark "
        f"FROM student s JOIN household h ON h.id = s.household_id LEFT JOIN {_last_moves(d)} lm "
        f"ON lm.student_id = s.id LEFT JOIN {_last_marks(d)} mk ON mk.student_id = s.id WHERE {' AND '.join(where)}"
    )
    out = f"({GONE} OR x.lm LIKE 'TRANSFER_OUT:OTHER_%')"
    dropped = "(x.lm LIKE 'LEAVE:%:OTHER' OR x.mark IN ('CONFIRMED_DROPOUT', 'UNREACHABLE'))"
    if select_ids is not None:
        wanted = f"NOT {dropped}" if select_ids == "counted" else dropped
        return f"SELECT x.sid AS id FROM ({inner}) x WHERE NOT {out} AND {wanted}"
    return (
        f"SELECT x.code AS code, x.township AS township, COUNT(*) AS denominator, "
        f"SUM(CASE WHEN {dropped} THEN 0 ELSE 1 END) AS numerator FROM ({inner}) x WHERE NOT {out} "
        "GROUP BY x.code, x.township"
    )


def _statement(sql: Sql, code: str, day: date, townships: list[int] | None, select_ids: str | None = None) -> str:
    if code in FINAL_GRADE:
        return _retention_sql(sql, [code], day, townships, select_ids)
    return _enrolment_sql(sql, code, day, townships, select_ids)


async def target_figures(day: date, townships: list[int] | None = None) -> dict[int | None, list[TargetFigure]]:
    """Every target of the policy file, per township (by id) and for the county or the townships asked (None)."""
    specs = (await office_policy()).targets

    enrolments = [spec.code for spec in specs if spec.code not in FINAL_GRADE]
    retentions = [spec.code for spec in specs if spec.code in FINAL_GRADE]

    async def counted(code: str) -> dict[str, dict[int | None, dict[str, object]]]:
        sql = Sql(dialect())
        return {code: {r["township"]: r for r in await joined_rows(_statement(sql, code, day, townships), sql)}}

    async def retained() -> dict[str, dict[int | None, dict[str, object]]]:
        """Both retention cohorts in one pass over the pupils."""
        found: dict[str, dict[int | None, dict[str, object]]] = {code: {} for code in retentions}
        if retentions:
            sql = Sql(dialect())
            for r in await joined_rows(_retention_sql(sql, retentions, day, townships, None), sql):
                found[r["code"]][r["township"]] = r
        return found

    results: dict[str, dict[int | None, dict[str, object]]] = {}
    for part in await asyncio.gather(*(counted(code) for code in enrolments), retained()):  # side by side
        results.update(part)
    found: dict[int | None, list[TargetFigure]] = defaultdict(list)
    for spec in specs:
        per_township = results[spec.code]
        keys = townships if townships is not None else sorted(k for k in per_township if k is not None)
        for township in keys:
            row = per_township.get(township) or {"numerator": 0, "denominator": 0}
            found[township].append(
                TargetFigure(spec, township, int(row["numerator"] or 0), int(row["denominator"] or 0))
            )
        found[None].append(
            TargetFigure(
                spec,
                None,
                sum(int(r["numerator"] or 0) for r in per_township.values()),
                sum(int(r["denominator"] or 0) for r in per_township.values()),
            )
        )
    return found


async def children_behind(code: str, day: date, townships: list[int] | None, counted: bool) -> list[int]:
    """The pupils behind a target figure: those counted in the numerator, or those in the denominator but not."""
    sql = Sql(dialect())
    statement = _statement(sql, code, day, townships, "counted" if counted else "not")
    return sorted({r["id"] for r in await joined_rows(statement, sql) if r["id"] is not None})
