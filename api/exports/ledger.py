"""GET /exports/ledger.xlsx?unit=<Unit id or code>: the dropout ledger (辍学学生工作台账, 四(二)7) of a school or
township as a spreadsheet, one line per case, with the cases the viewer may see (tasks/access.py).

A bearer token is required; every download is in the audit trail. Citizen IDs are masked as everywhere.
"""

from __future__ import annotations

import io
from urllib.parse import quote

import xlsxwriter
from starlette.requests import Request
from starlette.responses import Response

from api.downloads import _fault, _unauthenticated, _viewer
from api.ids import BadGlobalId, parse_global_id
from models import audit, clock
from models.audit import AuditAction
from models.citizen_id import mask
from models.registers import LedgerMark
from models.units import Unit
from tasks.errors import DomainError, ErrorCode
from tasks.registers.ledger import KIND_WORDS, MARK_WORDS, LedgerRow, ledger_rows, ledger_unit

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS = [
    "序号",
    "姓名",
    "性别",
    "出生日期",
    "年级",
    "班级",
    "全国学籍号",
    "身份证号",
    "学校",
    "户籍乡镇",
    "个案类型",
    "缺勤起始",
    "台账状态",
    "确认辍学日期",
    "联系不上日期",
    "劝返复学日期",
    "依据",
    "登记人",
]
GENDER = {"MALE": "男", "FEMALE": "女"}


def _last_day(row: LedgerRow, mark: LedgerMark) -> str:
    days = [e.day.isoformat() for e in row.entries if e.mark is mark]
    return days[-1] if days else ""


def ledger_workbook(title: str, rows: list[LedgerRow]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("辍学学生工作台账")
    bold = book.add_format({"bold": True})
    sheet.write(0, 0, title, bold)
    for column, header in enumerate(HEADERS):
        sheet.write(1, column, header, bold)
    for index, row in enumerate(rows, start=1):
        student, last = row.student, row.entries[-1]
        sheet.write_row(
            index + 1,
            0,
            [
                index,
                student.name,
                GENDER.get(student.gender.value, ""),
                student.birth_date.isoformat(),
                student.grade,
                student.class_name,
                student.student_number or "",
                mask(student.citizen_id),
                row.school,
                row.township,
                KIND_WORDS.get(row.case.kind, row.case.kind.value),
                row.case.absent_since.isoformat(),
                MARK_WORDS[row.current],
                _last_day(row, LedgerMark.CONFIRMED_DROPOUT),
                _last_day(row, LedgerMark.UNREACHABLE),
                _last_day(row, LedgerMark.PERSUADED_BACK),
                last.evidence,
                last.recorded_by_name,
            ],
        )
    sheet.freeze_panes(2, 0)
    book.close()
    return buffer.getvalue()


async def _unit_of(text: str) -> Unit | None:
    try:
        return await Unit.get_or_none(id=parse_global_id(text, "Unit")[1])
    except BadGlobalId:
        return await Unit.get_or_none(code=text)


async def download_ledger(request: Request) -> Response:
    await clock.refresh()
    viewer = await _viewer(request)
    if isinstance(viewer, str):
        return _unauthenticated(viewer)
    source = request.client.host if request.client else ""
    target = request.query_params.get("unit", "")[:120]
    unit = await _unit_of(target) if target else None
    try:
        if unit is None:
            raise DomainError(ErrorCode.NOT_FOUND, "台账按学校或乡镇查看 (a school or township)", "unit")
        unit = await ledger_unit(viewer, unit.id)
    except DomainError as error:
        await audit.record(AuditAction.DOWNLOAD, actor=viewer, source=source, target=target, outcome="NOT_FOUND")
        return _fault(404, error.message, "NOT_FOUND")
    rows = await ledger_rows(viewer, unit)
    today = clock.today()
    filename = f"辍学学生工作台账-{unit.name}-{today.isoformat()}.xlsx"
    content = ledger_workbook(f"{unit.name} 辍学学生工作台账（{today.isoformat()}）", rows)
    await audit.record(
        AuditAction.DOWNLOAD,
        actor=viewer,
        source=source,
        operation="ledger",
        target=unit.code,
        detail={"file": filename, "rows": len(rows)},
    )
    disposition = (
        f'attachment; filename="dropout-ledger-{unit.code}-{today.isoformat()}.xlsx"; '
        f"filename*=UTF-8''{quote(filename, safe='')}"
    )
    return Response(content, media_type=XLSX, headers={"Content-Disposition": disposition, "Cache-Control": "no-store"})
