"""The police population extract (公安局, 四(一)4): residents aged 0-18, upserted by citizen ID.

Rows are checked here; writing is the population register's bulk upsert
(tasks/registers/population.py), which keeps every version a newer file makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from models.population import VillageGroupKind
from tasks.registers.imports import checks
from tasks.registers.imports.base import Conflict, Outcome, RowChecker, RunContext, Values, without_writing
from tasks.registers.imports.checks import CellError, RowCode
from tasks.registers.imports.reading import Cell
from tasks.registers.population import ResidentRow, upsert_residents

SOURCE = "police"
RESIDENT_TEXTS = (
    ("ethnicity", 32),
    ("group", 100),
    ("household_number", 40),
    ("household_head", 100),
    ("relation_to_head", 32),
    ("registration_address", 300),
    ("home_address", 300),
    ("guardian", 100),
    ("remark", 300),
)
YES = {"是", "y", "yes", "1", "在", "本地", "true"}
NO = {"否", "n", "no", "0", "不在", "外地", "县外", "人户分离", "false"}


@dataclass
class ResidentRecord:
    line: int
    citizen_id: str
    row: ResidentRow


def living_here(value: Cell) -> bool:
    cell = checks.text(value).lower()
    if not cell or cell in YES:
        return True
    if cell in NO:
        return False
    raise CellError("living_here", RowCode.INVALID, "应填“是”或“否” (yes or no)", checks.shown(value))


def group_kind(name: str) -> VillageGroupKind:
    return VillageGroupKind.COMPOUND if "小区" in name or "社区" in name else VillageGroupKind.VILLAGE_GROUP


def resident_cells(check: RowChecker, value: Values, context: RunContext) -> dict[str, object] | None:
    """The cells a resident has, in the police extract and in the census sheets alike; None if one is bad."""
    name = check(checks.required, value("name"), "name", 100)
    citizen_id = check(checks.citizen_id, value("citizen_id"))
    born = gender = None
    if citizen_id:
        born = check(checks.birth_date, value("birth_date"), citizen_id, context.today)
        gender = check(checks.gender, value("gender"), citizen_id)
    place = check(context.directory.place, value("township"), value("village"))
    texts = check.texts(value, RESIDENT_TEXTS)
    phone = check(checks.phone, value("phone")) or ""
    if check.conflicts:
        return None
    return {"name": name, "citizen_id": citizen_id, "born": born, "gender": gender, "place": place,
            "phone": phone, **texts}  # fmt: skip


class PopulationImporter:
    def __init__(self, context: RunContext) -> None:
        self.context = context

    def parse(self, line: int, value: Values) -> tuple[ResidentRecord | None, Sequence[Conflict]]:
        check = RowChecker(line)
        cells = resident_cells(check, value, self.context)
        here = check(living_here, value("living_here"))
        if cells is None or check.conflicts:
            return None, check.conflicts
        township, village = cells["place"]  # type: ignore[misc]
        row = ResidentRow(
            citizen_id=cells["citizen_id"],  # type: ignore[arg-type]
            name=cells["name"],  # type: ignore[arg-type]
            gender=cells["gender"],  # type: ignore[arg-type]
            birth_date=cells["born"],  # type: ignore[arg-type]
            township_id=township.id,
            village_id=village.id if village else None,
            village_group=cells["group"] if village else "",  # type: ignore[arg-type]
            village_group_kind=group_kind(cells["group"]),  # type: ignore[arg-type]
            household_number=cells["household_number"],  # type: ignore[arg-type]
            head_name=cells["household_head"],  # type: ignore[arg-type]
            registered_address=cells["registration_address"],  # type: ignore[arg-type]
            actual_address=cells["home_address"],  # type: ignore[arg-type]
            living_here=bool(here) if here is not None else True,
            guardian_name=cells["guardian"],  # type: ignore[arg-type]
            guardian_phone=cells["phone"],  # type: ignore[arg-type]
            ethnicity=cells["ethnicity"],  # type: ignore[arg-type]
        )
        return ResidentRecord(line, row.citizen_id, row), []

    async def apply(self, records: Sequence[object], *, write: bool) -> Outcome:
        rows = [r.row for r in records]  # type: ignore[attr-defined]

        async def work():  # type: ignore[no-untyped-def]
            return await upsert_residents(rows, SOURCE, self.context.as_of or self.context.today)

        summary = await work() if write else await without_writing(work)
        return Outcome(imported=summary.imported, updated=summary.updated, unchanged=summary.unchanged)
