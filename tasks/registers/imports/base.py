"""What every kind of import has: the run's context, a checked record, a conflict, a batch's outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, TypeVar

from tortoise.transactions import in_transaction

from models.citizen_id import mask
from models.imports import ImportRun
from models.units import Unit
from tasks.registers.imports.checks import CellError, RowCode, UnitDirectory, text
from tasks.registers.imports.reading import Cell

T = TypeVar("T")
Values = Callable[[str], Cell]  # a row's cell by field name (None when the file has no such column)


class FileRefused(Exception):
    """The file as a whole cannot be taken (unreadable, a required column missing, the wrong unit)."""

    def __init__(self, code: RowCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Rollback(Exception):
    pass


async def without_writing(work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` in a transaction and roll it back: what it would do, counted, and nothing written."""
    result: list[T] = []
    try:
        async with in_transaction():
            result.append(await work())
            raise _Rollback
    except _Rollback:
        pass
    return result[0]


@dataclass(frozen=True)
class Conflict:
    line: int
    field: str
    value: str
    code: RowCode
    message: str

    @classmethod
    def of(cls, line: int, error: CellError) -> Conflict:
        value = mask(error.value) if error.field == "citizen_id" and len(error.value) == 18 else error.value
        return cls(line, error.field, value, error.code, error.message)


@dataclass
class RunContext:
    run: ImportRun
    unit: Unit | None
    school_scope: int | None  # a school importing its own: rows of other schools are refused (NOT_YOURS)
    directory: UnitDirectory
    today: date
    as_of: date | None = None  # the day the file speaks for; today when not given


class Record(Protocol):
    line: int
    citizen_id: str


@dataclass
class Outcome:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # rows that passed the cell checks but not the database's (a student number taken ...)
    conflicts: list[Conflict] = field(default_factory=list)


class Importer(Protocol):
    def parse(self, line: int, value: Values) -> tuple[Record | None, Sequence[Conflict]]:
        """The row checked cell by cell: a record, or the row's conflicts (every bad cell)."""

    async def apply(self, records: Sequence[object], *, write: bool) -> Outcome:
        """Compare a batch with what is stored; write it unless `write` is False (dry run, check pass)."""


class RowChecker:
    """Collects every bad cell of a row instead of stopping at the first."""

    def __init__(self, line: int) -> None:
        self.line = line
        self.conflicts: list[Conflict] = []

    def __call__(self, check: Callable[..., object], *args: object) -> object:
        try:
            return check(*args)
        except CellError as error:
            self.conflicts.append(Conflict.of(self.line, error))
            return None

    def texts(self, value: Values, fields: Sequence[tuple[str, int]]) -> dict[str, str]:
        """Optional text cells, each at most its length (TOO_LONG otherwise); "" for an empty cell."""
        found: dict[str, str] = {}
        for name, longest in fields:
            cell = value(name)
            if cell is None or cell == "":
                found[name] = ""
                continue
            shown = text(cell)
            if len(shown) > longest:
                message = f"最多{longest}个字 (too long)"
                self.conflicts.append(Conflict(self.line, name, shown[:200], RowCode.TOO_LONG, message))
                shown = ""
            found[name] = shown
        return found
