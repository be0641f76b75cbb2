"""Imports of the county's files (the police extract, the school roll, the census sheets) as jobs.

An `ImportRun` is the record of one uploaded file: who sent it for which unit, what it held, how far
the worker got and what it found. The database, not Redis, holds what is pending: a PENDING run is
picked up by the sweep if the nudge that announced it was lost.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.units import Unit
from models.users import User


class ImportKind(StrEnum):
    POPULATION = "POPULATION"  # 公安局 人口信息 extract (四(一)4)
    ROLL = "ROLL"  # 学籍 extract from the national student registry
    CENSUS = "CENSUS"  # a school's census sheets (学户册 lines, 四(二)4)


class ImportStatus(StrEnum):
    PENDING = "PENDING"  # stored, waiting for a worker
    RUNNING = "RUNNING"
    DONE = "DONE"  # every row read; good rows taken (or, all-or-nothing, all of them)
    REFUSED = "REFUSED"  # all-or-nothing and some row was bad, or the file itself is unreadable: nothing written
    FAILED = "FAILED"  # an unforeseen fault; see `error`


class ImportRun(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(ImportKind, max_length=16)
    file_name = fields.CharField(max_length=200)
    sha256 = fields.CharField(max_length=64, db_index=True)
    stored_path = fields.CharField(max_length=500)
    size_bytes = fields.BigIntField(default=0)
    uploaded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="import_runs", null=True, on_delete=fields.SET_NULL
    )
    uploaded_by_name = fields.CharField(max_length=100, default="")  # or "cli"
    # The unit whose data it is: the police, the school of a census or of its own pupils, the bureau.
    unit: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="import_runs", null=True, on_delete=fields.SET_NULL
    )
    # The day the file speaks for (the extract's date); a resident is not set back by an older file.
    as_of = fields.DateField(null=True)
    dry_run = fields.BooleanField(default=False)
    atomic = fields.BooleanField(default=False)
    status = fields.CharEnumField(ImportStatus, max_length=16, default=ImportStatus.PENDING)
    rows_total = fields.IntField(null=True)  # known once the file is opened (CSV: an estimate from its lines)
    rows_done = fields.IntField(default=0)
    imported = fields.IntField(default=0)
    updated = fields.IntField(default=0)
    unchanged = fields.IntField(default=0)
    ignored = fields.IntField(default=0)  # bad rows not taken (all rows, when all-or-nothing refused the file)
    conflict_count = fields.IntField(default=0)
    summary = fields.JSONField(default=dict)
    error_code = fields.CharField(max_length=32, default="")
    error = fields.TextField(default="")
    attempts = fields.IntField(default=0)
    created_at = fields.DatetimeField()
    started_at = fields.DatetimeField(null=True)
    heartbeat_at = fields.DatetimeField(null=True)  # a RUNNING run whose heartbeat stops is taken up again
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "import_run"
        indexes = (Index(fields=("status", "id"), name="import_run_status_idx"),)


class ImportConflict(Model):
    """One bad row, as DHIS2 reports it: where (line, column), what (value), why (code, message)."""

    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[ImportRun] = fields.ForeignKeyField(
        "models.ImportRun", related_name="conflicts", on_delete=fields.CASCADE
    )
    line = fields.IntField()  # 1 is the header line
    column = fields.CharField(max_length=100, default="")  # the header as the file writes it
    value = fields.CharField(max_length=200, default="")
    code = fields.CharField(max_length=32)
    message = fields.CharField(max_length=300)

    class Meta:
        table = "import_conflict"
        indexes = (Index(fields=("run_id", "id"), name="import_conflict_run_idx"),)


class ImportChange(Model):
    """A person's earlier values, kept when a newer file changed them: the history of an import."""

    id = fields.BigIntField(primary_key=True)
    run: fields.ForeignKeyRelation[ImportRun] = fields.ForeignKeyField(
        "models.ImportRun", related_name="changes", on_delete=fields.CASCADE
    )
    line = fields.IntField()
    subject = fields.CharField(max_length=32)  # "student", "resident"
    subject_id = fields.IntField()
    changes = fields.JSONField()  # {field: [before, after]}
    at = fields.DatetimeField()

    class Meta:
        table = "import_change"
        indexes = (Index(fields=("subject", "subject_id", "id"), name="import_change_subject_idx"),)
