"""GET /exports/household-book/{id}.xlsx: a household book (学户册, 四(二)4) as a spreadsheet laid out as the
plan has it: the book's title, then for each household a page heading (户号, 户主, 地址) and one line per person.

The id is the book's opaque global id. A bearer token is required; a book the user may not see answers
404 exactly like one that does not exist, and every download (or refusal) is in the audit trail. Citizen
IDs and phones are whole for the school that made the book and the village and township it covers, masked
for everyone else (the office reveals a child's on the record with studentReveal). The file is written
with xlsxwriter in constant-memory mode, row by row, to a temporary file that is removed once sent.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from urllib.parse import quote

import xlsxwriter
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from api.downloads import _fault, _unauthenticated, _viewer
from api.ids import BadGlobalId, parse_global_id
from models import audit, clock
from models.audit import AuditAction
from models.citizen_id import mask, mask_phone
from models.population import CensusBook, CensusLine, CensusLineStatus, CensusPage, VillageGroup
from models.units import Unit
from models.users import User
from tasks.access import visible_census_books

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NOT_FOUND = "没有找到这本学户册 (household book not found)"
PAGE_CHUNK = 500
COLUMNS = (
    "序号",
    "姓名",
    "性别",
    "身份证号",
    "出生日期",
    "与户主关系",
    "就读状况",
    "就读学校",
    "年级",
    "监护人",
    "联系电话",
    "备注",
)
WIDTHS = (6, 12, 6, 21, 12, 10, 12, 24, 8, 12, 14, 20)
STATUS_WORDS = {
    CensusLineStatus.IN_SCHOOL: "在校",
    CensusLineStatus.PRESCHOOL: "在园（学前）",
    CensusLineStatus.NOT_ENROLLED: "未入学",
    CensusLineStatus.OUT_OF_COUNTY: "县外就读",
    CensusLineStatus.DEFERRED: "缓学",
    CensusLineStatus.HOME_TEACHING: "送教上门",
    CensusLineStatus.UNDER_AGE: "未到入学年龄",
    CensusLineStatus.OTHER: "其他",
}
GENDER_WORDS = {"MALE": "男", "FEMALE": "女"}


async def _book_for(user: User, global_id: str) -> CensusBook | None:
    try:
        pk = parse_global_id(global_id, "HouseholdBook")[1]
    except BadGlobalId:
        return None
    return await CensusBook.filter(visible_census_books(user), id=pk).first()


async def _pages_with_lines(book: CensusBook) -> list[tuple[CensusPage, list[CensusLine]]]:
    pages = await CensusPage.filter(book_id=book.id).order_by("position", "id")
    result: list[tuple[CensusPage, list[CensusLine]]] = []
    for start in range(0, len(pages), PAGE_CHUNK):
        chunk = pages[start : start + PAGE_CHUNK]
        lines: dict[int, list[CensusLine]] = {p.id: [] for p in chunk}
        for line in await CensusLine.filter(page_id__in=list(lines)).order_by("position", "id"):
            lines[line.page_id].append(line)
        result.extend((p, lines[p.id]) for p in chunk)
    return result


def _rows(pages: list[tuple[CensusPage, list[CensusLine]]], whole: bool, schools: dict[int, str]) -> Iterator[tuple]:
    for page, lines in pages:
        yield ("page", f"户号：{page.household_number}", f"户主：{page.head_name}", f"地址：{page.address}")
        yield ("head", *COLUMNS)
        for number, line in enumerate(lines, start=1):
            yield (
                "line",
                number,
                line.name,
                GENDER_WORDS.get(line.gender.value, ""),
                line.citizen_id if whole else mask(line.citizen_id),
                line.birth_date.isoformat(),
                line.relation,
                STATUS_WORDS.get(line.status, ""),
                schools.get(line.school_id or 0) or line.school_text,
                line.grade_text,
                line.guardian_name,
                line.guardian_phone if whole else mask_phone(line.guardian_phone) if line.guardian_phone else "",
                line.remark,
            )


async def write_book(book: CensusBook, whole: bool) -> tuple[str, str]:
    """The spreadsheet in a temporary file; returns (path, file name)."""
    group = await VillageGroup.get(id=book.village_group_id)
    village = await Unit.get(id=group.village_id)
    school = await Unit.get(id=book.school_id)
    schools = dict(await Unit.filter(kind="SCHOOL").values_list("id", "name"))
    pages = await _pages_with_lines(book)
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = workbook.add_worksheet("学户册")
    bold = workbook.add_format({"bold": True})
    title = workbook.add_format({"bold": True, "font_size": 14})
    for column, width in enumerate(WIDTHS):
        sheet.set_column(column, column, width)
    sheet.write_string(0, 0, f"{book.year}年 学户册：{village.name}{group.name}", title)
    sheet.write_string(1, 0, f"普查学校：{school.name}；共{len(pages)}户、{sum(len(ls) for _, ls in pages)}人")
    row = 3
    for kind, *values in _rows(pages, whole, schools):
        if kind == "page" and row > 3:
            row += 1  # a blank line between households
        for column, value in enumerate(values):
            if isinstance(value, int):
                sheet.write_number(row, column, value)
            else:
                sheet.write_string(row, column, str(value), bold if kind != "line" else None)
        row += 1
    workbook.close()
    return path, f"学户册-{book.year}-{village.name}{group.name}.xlsx"


async def _whole_for(user: User, book: CensusBook) -> bool:
    if user.unit_id == book.school_id:
        return True
    group = await VillageGroup.get(id=book.village_group_id)
    village = await Unit.get(id=group.village_id)
    return user.unit_id in (village.id, village.parent_id)


async def download_household_book(request: Request) -> Response:
    await clock.refresh()
    viewer = await _viewer(request)
    if isinstance(viewer, str):
        return _unauthenticated(viewer)
    target = request.path_params["global_id"]
    source = request.client.host if request.client else ""
    book = await _book_for(viewer, target)
    if book is None:
        await audit.record(
            AuditAction.DOWNLOAD,
            actor=viewer,
            source=source,
            operation="householdBook",
            target=target[:120],
            outcome="NOT_FOUND",
        )
        return _fault(404, NOT_FOUND, "NOT_FOUND")
    whole = await _whole_for(viewer, book)
    path, filename = await write_book(book, whole)
    await audit.record(
        AuditAction.DOWNLOAD,
        actor=viewer,
        source=source,
        operation="householdBook",
        target=target,
        detail={"file": filename, "wholeIds": whole},
    )
    ascii_name = f"household-book-{book.year}-{book.id}.xlsx"
    headers = {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}",
        "Cache-Control": "no-store",
    }
    return FileResponse(path, media_type=XLSX, headers=headers, background=BackgroundTask(os.unlink, path))
