"""Loading the population register (人口信息库) and the schools' August census (学户册) in bulk.

Both take rows an importer has already checked (citizen ID, birth date, known units) and write
them in batches of BATCH rows: a few statements per batch (bulk insert, bulk update), never a
round trip per row, so a 100,000-row police extract loads in seconds.

A resident is keyed by citizen ID. A newer source updates them and appends a version with what
it changed (resident_version); a source no newer than the resident's current one changes nothing;
the same file twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from tortoise.transactions import in_transaction

from models import clock
from models.children import Gender, Household
from models.population import (
    CensusBook,
    CensusLine,
    CensusLineStatus,
    CensusPage,
    Resident,
    ResidentVersion,
    VillageGroup,
    VillageGroupKind,
)
from tasks.registers.sql import Raw, canonical, db_values

BATCH = 1000

# The fields of a resident a source speaks for, in the order versions record them.
RESIDENT_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "township_id",
    "village_id",
    "village_group_id",
    "household_id",
    "registered_address",
    "actual_address",
    "living_here",
    "guardian_name",
    "guardian_phone",
)


@dataclass(frozen=True)
class ResidentRow:
    """One resident as a source gives them; units already resolved to ids by the importer."""

    citizen_id: str
    name: str
    gender: Gender
    birth_date: date
    township_id: int | None = None  # 户籍 township
    village_id: int | None = None  # 户籍 village or community
    village_group: str = ""  # 村民小组 or 小区, by name within the village
    village_group_kind: VillageGroupKind = VillageGroupKind.VILLAGE_GROUP
    household_number: str = ""  # 户号
    head_name: str = ""  # 户主
    registered_address: str = ""  # 户籍地址
    actual_address: str = ""  # 现住址
    living_here: bool = True  # False: actually lives outside the county
    guardian_name: str = ""
    guardian_phone: str = ""
    ethnicity: str = ""
    is_demo: bool = False


@dataclass(frozen=True)
class CensusRow:
    """One line of a school's census sheet: book (year, village group), page (household), line (person)."""

    year: int
    school_id: int  # the school that made the book
    village_id: int
    village_group: str
    household_number: str
    citizen_id: str
    name: str
    gender: Gender
    birth_date: date
    township_id: int | None = None
    village_group_kind: VillageGroupKind = VillageGroupKind.VILLAGE_GROUP
    head_name: str = ""
    address: str = ""
    relation: str = ""
    status: CensusLineStatus = CensusLineStatus.OTHER
    attending_school_id: int | None = None
    school_text: str = ""
    grade_text: str = ""
    guardian_name: str = ""
    guardian_phone: str = ""
    remark: str = ""


@dataclass
class UpsertSummary:
    imported: int = 0  # new
    updated: int = 0  # changed by this source (a new version kept)
    unchanged: int = 0  # the same as before, or the source is not newer than what is kept
    ids: dict[str, int] = field(default_factory=dict, repr=False)  # citizen ID → resident (or line) id

    def add(self, other: UpsertSummary) -> None:
        self.imported += other.imported
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.ids.update(other.ids)


T = TypeVar("T")


def _batches(rows: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


async def village_groups(wanted: Iterable[tuple[int, str, VillageGroupKind]]) -> dict[tuple[int, str], int]:
    """The ids of these (village, name) groups, creating those that do not exist yet."""
    keys = {(v, n.strip()): k for v, n, k in wanted if n and n.strip()}
    if not keys:
        return {}
    villages = {v for v, _ in keys}
    found = {
        (v, n): i
        for i, v, n in await VillageGroup.filter(village_id__in=list(villages)).values_list("id", "village_id", "name")
    }
    missing = [VillageGroup(village_id=v, name=n, kind=k) for (v, n), k in keys.items() if (v, n) not in found]
    if missing:
        await VillageGroup.bulk_create(missing, ignore_conflicts=True)
        found = {
            (v, n): i
            for i, v, n in await VillageGroup.filter(village_id__in=list(villages)).values_list(
                "id", "village_id", "name"
            )
        }
    return {k: found[k] for k in keys if k in found}


HOUSEHOLD_INSERT = (
    "household_number",
    "township_id",
    "village_id",
    "village_group_id",
    "head_name",
    "registration_place",
    "home_address",
    "family_situation",
    "created_at",
)
HOUSEHOLD_UPDATE = ("village_group_id", "head_name", "home_address")


async def _households(raw: Raw, rows: Sequence[ResidentRow], groups: dict[tuple[int, str], int]) -> dict[str, int]:
    """Households by 户号: created when new (a household needs its township), updated when moved."""
    numbers = {r.household_number.strip(): r for r in rows if r.household_number.strip()}
    if not numbers:
        return {}
    sql = (
        "SELECT id, household_number, village_group_id, head_name, home_address FROM household "
        f"WHERE {raw.in_list('household_number', 'numbers')}"
    )
    existing = {r[1]: r for r in await raw.rows(sql, numbers=list(numbers))}
    create: list[list[Any]] = []
    changed: list[list[Any]] = []
    now = clock.now()
    for number, row in numbers.items():
        group_id = groups.get((row.village_id, row.village_group.strip())) if row.village_id else None
        found = existing.get(number)
        if found is None:
            if row.township_id is None:
                continue
            values = {
                "household_number": number,
                "township_id": row.township_id,
                "village_id": row.village_id,
                "village_group_id": group_id,
                "head_name": row.head_name.strip(),
                "registration_place": row.registered_address.strip(),
                "home_address": row.actual_address.strip(),
                "family_situation": "",
                "created_at": now,
            }
            create.append(db_values(Household, HOUSEHOLD_INSERT, values))
            continue
        pk, _, group_was, head_was, home_was = found
        wanted = (group_id or group_was, row.head_name.strip() or head_was, row.actual_address.strip() or home_was)
        if wanted != (group_was, head_was, home_was):
            changed.append([*wanted, pk])
    await raw.insert(Household, HOUSEHOLD_INSERT, create)
    await raw.update(Household, HOUSEHOLD_UPDATE, changed)
    if not create:
        return {number: found[0] for number, found in existing.items()}
    sql = f"SELECT household_number, id FROM household WHERE {raw.in_list('household_number', 'numbers')}"
    return dict(await raw.rows(sql, numbers=list(numbers)))


def _resident_values(row: ResidentRow, household_id: int | None, group_id: int | None) -> dict[str, Any]:
    return {
        "name": row.name.strip(),
        "gender": row.gender,
        "birth_date": row.birth_date,
        "ethnicity": row.ethnicity.strip(),
        "township_id": row.township_id,
        "village_id": row.village_id,
        "village_group_id": group_id,
        "household_id": household_id,
        "registered_address": row.registered_address.strip(),
        "actual_address": row.actual_address.strip(),
        "living_here": row.living_here,
        "guardian_name": row.guardian_name.strip(),
        "guardian_phone": row.guardian_phone.strip(),
    }


def _snapshot(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.isoformat() if isinstance(v, date) else v.value if isinstance(v, Gender) else v)
        for k, v in values.items()
    }


async def upsert_residents(rows: Sequence[ResidentRow], source: str, as_of: date) -> UpsertSummary:
    """Add new residents, update changed ones (keeping each version), leave the rest; in batches of BATCH."""
    summary = UpsertSummary()
    seen: set[str] = set()
    unique: list[ResidentRow] = []
    for row in rows:  # the last line of a citizen ID within the rows wins
        if row.citizen_id in seen:
            unique = [r for r in unique if r.citizen_id != row.citizen_id]
        seen.add(row.citizen_id)
        unique.append(row)
    for batch in _batches(unique):
        async with in_transaction():
            summary.add(await _upsert_resident_batch(batch, source, as_of))
    return summary


RESIDENT_INSERT = ("citizen_id", *RESIDENT_FIELDS, "source", "as_of", "version", "is_demo", "created_at", "updated_at")
RESIDENT_UPDATE = (*RESIDENT_FIELDS, "source", "as_of", "version", "updated_at")
VERSION_INSERT = ("resident_id", "version", "source", "as_of", "data", "changed", "recorded_at")


async def _upsert_resident_batch(rows: Sequence[ResidentRow], source: str, as_of: date) -> UpsertSummary:
    summary = UpsertSummary()
    raw = Raw()
    now = clock.now()
    groups = await village_groups((r.village_id, r.village_group, r.village_group_kind) for r in rows if r.village_id)
    households = await _households(raw, rows, groups)
    sql = (
        f"SELECT id, citizen_id, version, as_of, {', '.join(RESIDENT_FIELDS)} FROM resident "
        f"WHERE {raw.in_list('citizen_id', 'ids')}"
    )
    existing = {r[1]: r for r in await raw.rows(sql, ids=[r.citizen_id for r in rows])}
    create: list[tuple[str, dict[str, Any]]] = []
    changed: list[tuple[int, int, dict[str, Any], list[str]]] = []
    for row in rows:
        group_id = groups.get((row.village_id, row.village_group.strip())) if row.village_id else None
        values = _resident_values(row, households.get(row.household_number.strip()), group_id)
        found = existing.get(row.citizen_id)
        if found is None:
            create.append((row.citizen_id, values))
            continue
        pk, _, version, kept_as_of, *kept = found
        if canonical(as_of) < canonical(kept_as_of if isinstance(kept_as_of, date) else str(kept_as_of)[:10]):
            summary.unchanged += 1  # an older source than the one kept: history is not rewritten
            continue
        diff = [k for k, was in zip(RESIDENT_FIELDS, kept, strict=True) if canonical(was) != canonical(values[k])]
        if not diff:
            summary.unchanged += 1
            continue
        changed.append((pk, version + 1, values, diff))
    is_demo = {r.citizen_id: r.is_demo for r in rows}
    await raw.insert(
        Resident,
        RESIDENT_INSERT,
        [
            db_values(
                Resident,
                RESIDENT_INSERT,
                {
                    "citizen_id": cid,
                    **values,
                    "source": source,
                    "as_of": as_of,
                    "version": 1,
                    "is_demo": is_demo[cid],
                    "created_at": now,
                    "updated_at": now,
                },
            )
            for cid, values in create
        ],
    )
    await raw.update(
        Resident,
        RESIDENT_UPDATE,
        [
            [
                *db_values(
                    Resident,
                    RESIDENT_UPDATE,
                    {**values, "source": source, "as_of": as_of, "version": version, "updated_at": now},
                ),
                pk,
            ]
            for pk, version, values, _ in changed
        ],
    )
    ids: dict[str, int] = {}
    if create:
        sql = f"SELECT citizen_id, id FROM resident WHERE {raw.in_list('citizen_id', 'ids')}"
        ids = dict(await raw.rows(sql, ids=[cid for cid, _ in create]))
    versions = [
        {"resident_id": ids[cid], "version": 1, "values": values, "changed": list(RESIDENT_FIELDS)}
        for cid, values in create
    ] + [{"resident_id": pk, "version": v, "values": values, "changed": diff} for pk, v, values, diff in changed]
    await raw.insert(
        ResidentVersion,
        VERSION_INSERT,
        [
            db_values(
                ResidentVersion,
                VERSION_INSERT,
                {
                    "resident_id": v["resident_id"],
                    "version": v["version"],
                    "source": source,
                    "as_of": as_of,
                    "data": _snapshot(v["values"]),
                    "changed": v["changed"],
                    "recorded_at": now,
                },
            )
            for v in versions
        ],
    )
    summary.imported += len(create)
    summary.updated += len(changed)
    summary.ids.update(ids)
    summary.ids.update({existing_row[1]: existing_row[0] for existing_row in existing.values()})
    return summary


LINE_FIELDS = (
    "page_id",
    "position",
    "name",
    "gender",
    "birth_date",
    "relation",
    "status",
    "school_id",
    "school_text",
    "grade_text",
    "guardian_name",
    "guardian_phone",
    "remark",
)


async def upsert_census_lines(rows: Sequence[CensusRow], source: str, as_of: date) -> UpsertSummary:
    """The schools' August census sheets into the household book: one book per village group or compound
    and year, one page per household, one line per person. Lines are keyed by (book, citizen ID): a sheet
    loaded again changes nothing, a corrected sheet updates its lines. The census never changes residents
    (it is the ground truth the register is checked against); `source` and `as_of` are kept for symmetry
    with upsert_residents and for the importer's report."""
    summary = UpsertSummary()
    for batch in _batches(list(rows)):
        async with in_transaction():
            summary.add(await _upsert_census_batch(batch))
    return summary


async def _upsert_census_batch(rows: Sequence[CensusRow]) -> UpsertSummary:
    summary = UpsertSummary()
    groups = await village_groups((r.village_id, r.village_group, r.village_group_kind) for r in rows)
    # Books: one per (year, village group); the school that made it becomes the group's catchment school.
    book_keys = {(r.year, groups[(r.village_id, r.village_group.strip())]): r.school_id for r in rows}
    years = {y for y, _ in book_keys}
    group_ids = {g for _, g in book_keys}
    found = {
        (y, g): i
        for i, y, g in await CensusBook.filter(year__in=list(years), village_group_id__in=list(group_ids)).values_list(
            "id", "year", "village_group_id"
        )
    }
    new_books = [
        CensusBook(year=y, village_group_id=g, school_id=s) for (y, g), s in book_keys.items() if (y, g) not in found
    ]
    if new_books:
        await CensusBook.bulk_create(new_books, ignore_conflicts=True)
        found = {
            (y, g): i
            for i, y, g in await CensusBook.filter(
                year__in=list(years), village_group_id__in=list(group_ids)
            ).values_list("id", "year", "village_group_id")
        }
    for (_, g), school_id in book_keys.items():
        await VillageGroup.filter(id=g, school_id=None).update(school_id=school_id)

    def book_of(r: CensusRow) -> int:
        return found[(r.year, groups[(r.village_id, r.village_group.strip())])]

    # Pages: one per household number within a book.
    page_rows = {(book_of(r), r.household_number.strip()): r for r in rows}
    book_ids = {b for b, _ in page_rows}
    households = dict(
        await Household.filter(household_number__in=list({n for _, n in page_rows})).values_list(
            "household_number", "id"
        )
    )
    pages = {
        (b, n): i
        for i, b, n in await CensusPage.filter(book_id__in=list(book_ids)).values_list(
            "id", "book_id", "household_number"
        )
    }
    new_pages = []
    for position, ((b, n), r) in enumerate(page_rows.items()):
        if (b, n) not in pages:
            new_pages.append(
                CensusPage(
                    book_id=b,
                    household_number=n,
                    household_id=households.get(n),
                    head_name=r.head_name.strip(),
                    address=r.address.strip(),
                    position=position,
                )
            )
    if new_pages:
        await CensusPage.bulk_create(new_pages, ignore_conflicts=True)
        pages = {
            (b, n): i
            for i, b, n in await CensusPage.filter(book_id__in=list(book_ids)).values_list(
                "id", "book_id", "household_number"
            )
        }
    # Lines: one per person within a book (raw bulk SQL: a county's sheets are tens of thousands of lines).
    raw = Raw()
    sql = (
        f"SELECT id, book_id, citizen_id, {', '.join(LINE_FIELDS)} FROM census_line "
        f"WHERE {raw.in_list('book_id', 'books', 'int')} AND {raw.in_list('citizen_id', 'ids')}"
    )
    existing = {
        (r[1], r[2]): r for r in await raw.rows(sql, books=list(book_ids), ids=list({r.citizen_id for r in rows}))
    }
    create: dict[tuple[int, str], dict[str, Any]] = {}  # the same person twice in the sheet: the last line wins
    changed: dict[int, list[Any]] = {}
    for position, r in enumerate(rows):
        b = book_of(r)
        values: dict[str, Any] = {
            "page_id": pages[(b, r.household_number.strip())],
            "position": position,
            "name": r.name.strip(),
            "gender": r.gender,
            "birth_date": r.birth_date,
            "relation": r.relation.strip(),
            "status": r.status,
            "school_id": r.attending_school_id,
            "school_text": r.school_text.strip(),
            "grade_text": r.grade_text.strip(),
            "guardian_name": r.guardian_name.strip(),
            "guardian_phone": r.guardian_phone.strip(),
            "remark": r.remark.strip(),
        }
        line = existing.get((b, r.citizen_id))
        if line is None:
            create[(b, r.citizen_id)] = {"book_id": b, "citizen_id": r.citizen_id, **values}
            continue
        kept = dict(zip(LINE_FIELDS, line[3:], strict=True))
        if all(canonical(kept[k]) == canonical(v) for k, v in values.items() if k != "position"):
            summary.unchanged += 1
            continue
        changed[line[0]] = db_values(CensusLine, LINE_FIELDS, {**values, "position": kept["position"]})
    columns = ("book_id", "citizen_id", *LINE_FIELDS)
    await raw.insert(CensusLine, columns, [db_values(CensusLine, columns, v) for v in create.values()])
    await raw.update(CensusLine, LINE_FIELDS, [[*v, pk] for pk, v in changed.items()])
    summary.imported += len(create)
    summary.updated += len(changed)
    return summary
