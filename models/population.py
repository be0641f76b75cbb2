"""The population register (人口信息库), the household book (学户册, 四(二)4) and the cross-check (四(一)3).

Residents aged 0-18 come from the police's extract (公安局, 四(一)4) and the schools' August census.
A resident is matched with the school roll (Student) by citizen ID; every change a newer source
makes to a resident is kept in `resident_version` (append-only: one row per version, with the
source and the date the source speaks for).

The household book of a census year: one book per village group (村民小组) or residential
compound (小区), one page per household, one line per person.

The cross-check compares the register and the census with the roll as of a date the county sets,
keeps each finding with its evidence, and closes it (销号) when a later run no longer shows it.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.cases import Case
from models.children import Gender, Household, Student
from models.units import Unit


class VillageGroupKind(StrEnum):
    VILLAGE_GROUP = "VILLAGE_GROUP"  # 村民小组, under a village
    COMPOUND = "COMPOUND"  # 小区, under a community


class VillageGroup(Model):
    """A 村民小组 or 小区: the unit of one household book."""

    id = fields.IntField(primary_key=True)
    village: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="village_groups", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    kind = fields.CharEnumField(VillageGroupKind, max_length=16, default=VillageGroupKind.VILLAGE_GROUP)
    # The school whose catchment (招生片区) covers it and which makes its household book in August.
    school: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="catchment_groups", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "village_group"
        unique_together = (("village", "name"),)


class Resident(Model):
    """A resident aged 0-18 as the latest source has them. Pupils are residents (join on citizen_id)."""

    id = fields.IntField(primary_key=True)
    citizen_id = fields.CharField(max_length=18, unique=True)
    name = fields.CharField(max_length=100)
    gender = fields.CharEnumField(Gender, max_length=8)
    birth_date = fields.DateField()
    ethnicity = fields.CharField(max_length=32, default="")
    household: fields.ForeignKeyNullableRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="residents", null=True, on_delete=fields.SET_NULL
    )
    village_group: fields.ForeignKeyNullableRelation[VillageGroup] = fields.ForeignKeyField(
        "models.VillageGroup", related_name="residents", null=True, on_delete=fields.SET_NULL
    )
    # 户籍 (registration): the township and village of the hukou, and the address as written.
    township: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="registered_residents", null=True, on_delete=fields.RESTRICT
    )
    village: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="village_residents", null=True, on_delete=fields.RESTRICT
    )
    registered_address = fields.CharField(max_length=300, default="")
    actual_address = fields.CharField(max_length=300, default="")
    # False when the resident actually lives outside the county (现住址在县外): 人籍分离 for a pupil.
    living_here = fields.BooleanField(default=True)
    guardian_name = fields.CharField(max_length=100, default="")
    guardian_phone = fields.CharField(max_length=32, default="")
    source = fields.CharField(max_length=64)  # the source of the current version (police, census:<school> ...)
    as_of = fields.DateField()  # the day that source speaks for
    version = fields.IntField(default=1)
    is_demo = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "resident"
        indexes = (
            Index(fields=("township_id", "birth_date"), name="resident_township_idx"),
            Index(fields=("village_group_id", "household_id"), name="resident_group_idx"),
        )


class ResidentVersion(Model):
    """Append-only history: the resident as each source gave them (version 1 = first seen)."""

    id = fields.BigIntField(primary_key=True)
    resident: fields.ForeignKeyRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="versions", on_delete=fields.CASCADE
    )
    version = fields.IntField()
    source = fields.CharField(max_length=64)
    as_of = fields.DateField()
    data = fields.JSONField()  # the fields as this version had them
    changed = fields.JSONField(default=list)  # names of the fields this version changed
    recorded_at = fields.DatetimeField()

    class Meta:
        table = "resident_version"
        unique_together = (("resident", "version"),)


class CensusLineStatus(StrEnum):
    """What the census taker found (四(二)4)."""

    IN_SCHOOL = "IN_SCHOOL"  # 在校就读
    PRESCHOOL = "PRESCHOOL"  # 在园 / 学前
    NOT_ENROLLED = "NOT_ENROLLED"  # 未入学 / 辍学
    OUT_OF_COUNTY = "OUT_OF_COUNTY"  # 县外就读 (explained)
    DEFERRED = "DEFERRED"  # 缓学 / 免学 for health (explained)
    HOME_TEACHING = "HOME_TEACHING"  # 送教上门 (explained)
    UNDER_AGE = "UNDER_AGE"  # 未到入学年龄
    OTHER = "OTHER"


EXPLAINED_STATUSES = (CensusLineStatus.OUT_OF_COUNTY, CensusLineStatus.DEFERRED, CensusLineStatus.HOME_TEACHING)


class CensusBook(Model):
    """学户册: one book per village group or compound per census year, made by the catchment school."""

    id = fields.IntField(primary_key=True)
    year = fields.IntField()
    village_group: fields.ForeignKeyRelation[VillageGroup] = fields.ForeignKeyField(
        "models.VillageGroup", related_name="census_books", on_delete=fields.RESTRICT
    )
    school: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="census_books", on_delete=fields.RESTRICT
    )
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "census_book"
        unique_together = (("year", "village_group"),)


class CensusPage(Model):
    """One page per household."""

    id = fields.IntField(primary_key=True)
    book: fields.ForeignKeyRelation[CensusBook] = fields.ForeignKeyField(
        "models.CensusBook", related_name="pages", on_delete=fields.CASCADE
    )
    household: fields.ForeignKeyNullableRelation[Household] = fields.ForeignKeyField(
        "models.Household", related_name="census_pages", null=True, on_delete=fields.SET_NULL
    )
    household_number = fields.CharField(max_length=40)  # 户号 as the census sheet has it
    head_name = fields.CharField(max_length=100, default="")  # 户主
    address = fields.CharField(max_length=300, default="")
    position = fields.IntField(default=0)

    class Meta:
        table = "census_page"
        unique_together = (("book", "household_number"),)


class CensusLine(Model):
    """One line per person aged 0-18 found in the household."""

    id = fields.IntField(primary_key=True)
    page: fields.ForeignKeyRelation[CensusPage] = fields.ForeignKeyField(
        "models.CensusPage", related_name="lines", on_delete=fields.CASCADE
    )
    book: fields.ForeignKeyRelation[CensusBook] = fields.ForeignKeyField(
        "models.CensusBook", related_name="lines", on_delete=fields.CASCADE
    )
    position = fields.IntField(default=0)
    citizen_id = fields.CharField(max_length=18)
    name = fields.CharField(max_length=100)
    gender = fields.CharEnumField(Gender, max_length=8)
    birth_date = fields.DateField()
    relation = fields.CharField(max_length=32, default="")  # 与户主关系
    status = fields.CharEnumField(CensusLineStatus, max_length=16, default=CensusLineStatus.OTHER)
    school: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="census_lines", null=True, on_delete=fields.SET_NULL
    )  # the county school the child attends, as the family says
    school_text = fields.CharField(max_length=200, default="")  # 就读学校 as written (also outside the county)
    grade_text = fields.CharField(max_length=32, default="")
    guardian_name = fields.CharField(max_length=100, default="")
    guardian_phone = fields.CharField(max_length=32, default="")
    remark = fields.CharField(max_length=300, default="")

    class Meta:
        table = "census_line"
        unique_together = (("book", "citizen_id"),)
        indexes = (
            Index(fields=("citizen_id",), name="census_line_citizen_idx"),
            Index(fields=("page_id", "position", "id"), name="census_line_page_idx"),
        )


class FindingKind(StrEnum):
    NOT_ENROLLED = "NOT_ENROLLED"  # 适龄未入学: school-age resident on no roll
    NOT_LIVING_HERE = "NOT_LIVING_HERE"  # 人籍分离: on the roll, not living here
    NOT_ATTENDING = "NOT_ATTENDING"  # 空挂学籍: on the roll, not attending
    TWO_SCHOOLS = "TWO_SCHOOLS"  # 重复学籍: registered at two schools
    CENSUS_ONLY = "CENSUS_ONLY"  # 普查有，人口库和学籍均无


class AgeBand(StrEnum):
    PRESCHOOL = "PRESCHOOL"  # 3-6
    PRIMARY = "PRIMARY"  # 7-12
    JUNIOR = "JUNIOR"  # 13-15


class FindingStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"  # 销号: a later run no longer shows it
    EXPLAINED = "EXPLAINED"  # explained by the acting unit (送教上门, 出国, 死亡 ...): runs do not raise it again


class CrossCheckRunStatus(StrEnum):
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class CrossCheckRun(Model):
    id = fields.IntField(primary_key=True)
    as_of = fields.DateField()
    status = fields.CharEnumField(CrossCheckRunStatus, max_length=16, default=CrossCheckRunStatus.RUNNING)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    started_by_id = fields.IntField(null=True)  # the user, or None for a scheduled run
    summary = fields.JSONField(default=dict)  # counts per kind: found, opened, closed, cases opened/closed
    error = fields.TextField(null=True)

    class Meta:
        table = "crosscheck_run"


class CrossCheckFinding(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(FindingKind, max_length=16)
    band = fields.CharEnumField(AgeBand, max_length=16, null=True)
    status = fields.CharEnumField(FindingStatus, max_length=16, default=FindingStatus.OPEN)
    # "<kind>:<citizen_id>" while open or explained, NULL once closed: a run twice finds nothing twice, and an
    # explained finding is not raised again while the registers still show it.
    open_key = fields.CharField(max_length=48, null=True, unique=True)
    citizen_id = fields.CharField(max_length=18)
    name = fields.CharField(max_length=100, default="")
    resident: fields.ForeignKeyNullableRelation[Resident] = fields.ForeignKeyField(
        "models.Resident", related_name="findings", null=True, on_delete=fields.SET_NULL
    )
    student: fields.ForeignKeyNullableRelation[Student] = fields.ForeignKeyField(
        "models.Student", related_name="findings", null=True, on_delete=fields.SET_NULL
    )
    township: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="township_findings", null=True, on_delete=fields.SET_NULL
    )
    school: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="school_findings", null=True, on_delete=fields.SET_NULL
    )
    # The unit asked to act on it (the township, the school, the education bureau or the police).
    unit: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="acting_findings", null=True, on_delete=fields.SET_NULL
    )
    case: fields.ForeignKeyNullableRelation[Case] = fields.ForeignKeyField(
        "models.Case", related_name="findings", null=True, on_delete=fields.SET_NULL
    )
    evidence = fields.JSONField(default=dict)
    run: fields.ForeignKeyRelation[CrossCheckRun] = fields.ForeignKeyField(
        "models.CrossCheckRun", related_name="findings", on_delete=fields.RESTRICT
    )  # the run that found it
    last_seen_run_id = fields.IntField()
    closed_run_id = fields.IntField(null=True)
    close_reason = fields.CharField(max_length=200, null=True)
    close_evidence = fields.TextField(null=True)  # what an explanation rests on
    explained_by_id = fields.IntField(null=True)
    opened_at = fields.DatetimeField()
    closed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "crosscheck_finding"
        indexes = (
            Index(fields=("status", "kind", "id"), name="finding_status_idx"),
            Index(fields=("township_id", "status"), name="finding_township_idx"),
            Index(fields=("school_id", "status"), name="finding_school_idx"),
            Index(fields=("unit_id", "status"), name="finding_unit_idx"),
        )
