"""A report as a spreadsheet (xlsxwriter) and as a Chinese document (python-docx), from its content."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import xlsxwriter
from docx.shared import Pt

from models import clock
from models.office import OfficeReport, ReportKind
from tasks.ladder.form_layout import FormDocument, styled_run

FLOW_HEADERS = ("月初（期初）在校", "转入", "转出", "休学", "复学", "辍学", "劝返", "月末（期末）在校")
FLOW_KEYS = ("start", "in", "out", "suspended", "resumed", "droppedOut", "returned", "end")
LINE_HEADERS = ("日期", "类别", "姓名", "年级", "说明")
CASE_HEADERS = ("乡镇", "期内在办个案", "新增", "销号", "期末未结")
CRITERION_HEADERS = ("评估项目", "分值", "实际", "目标", "依据", "建议得分", "督导评分")


def tables(report: OfficeReport) -> list[tuple[str, Sequence[str], list[list[Any]]]]:
    """The report as (caption, headers, rows) tables: the same for the spreadsheet and the document."""
    content = report.content
    if report.kind is ReportKind.MONTHLY:
        lines = [[li["day"], li["kind"], li["name"], li["grade"], li["detail"]] for li in content.get("lines", [])]
        return [
            ("学生变化情况", FLOW_HEADERS, [[content["figures"][k] for k in FLOW_KEYS]]),
            ("变动明细", LINE_HEADERS, lines),
        ]
    if report.kind is ReportKind.QUARTERLY:
        schools = [[s["school"], *(s[k] for k in FLOW_KEYS)] for s in content.get("schools", [])]
        schools.append(["合计", *(content["totals"][k] for k in FLOW_KEYS)])
        towns = [
            [t["township"], t["active"], t["opened"], t["closed"], t["open"]] for t in content.get("townships", [])
        ]
        return [("各校学生流动情况", ("学校", *FLOW_HEADERS), schools), ("疑似辍学个案（按乡镇）", CASE_HEADERS, towns)]
    scores = report.scores or {}
    criteria = [
        [
            c["name"],
            c["points"],
            _rate(c["value"]),
            _rate(c["target"]),
            c["basis"],
            c["suggested"],
            scores.get(c["code"], ""),
        ]
        for c in content.get("criteria", [])
    ]
    total = sum(scores.values()) if scores else ""
    criteria.append(
        [
            "合计",
            sum(c["points"] for c in content.get("criteria", [])),
            "",
            "",
            "",
            content.get("suggestedTotal"),
            total,
        ]
    )
    return [("评估结果", CRITERION_HEADERS, criteria)]


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _subtitle(report: OfficeReport) -> str:
    return f"期间：{report.period_start.isoformat()} 至 {report.period_end.isoformat()}"


def to_xlsx(report: OfficeReport) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("报表")
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 14})
    sheet.write(0, 0, report.title, title)
    sheet.write(1, 0, _subtitle(report))
    row = 3
    for caption, headers, body in tables(report):
        sheet.write(row, 0, caption, bold)
        row += 1
        sheet.write_row(row, 0, list(headers), bold)
        row += 1
        for line in body:
            sheet.write_row(row, 0, line)
            row += 1
        row += 1
    if report.remarks:
        sheet.write(row, 0, "督导意见", bold)
        sheet.write(row, 1, report.remarks)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 8, 14)
    book.close()
    return buffer.getvalue()


def to_docx(report: OfficeReport) -> bytes:
    form = FormDocument()
    form.describe(report.title, "控辍保学", clock.local(report.generated_at))
    form.title(report.title)
    form.doc.add_paragraph(_subtitle(report))
    for caption, headers, body in tables(report):
        paragraph = form.doc.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(8)
        styled_run(paragraph, caption, size=Pt(12))
        table = form.doc.add_table(rows=1 + len(body), cols=len(headers))
        table.style = "Table Grid"
        for i, header in enumerate(headers):
            table.cell(0, i).text = str(header)
        for r, line in enumerate(body, start=1):
            for c, value in enumerate(line):
                table.cell(r, c).text = "" if value is None else str(value)
    if report.remarks:
        form.doc.add_paragraph(f"督导意见：{report.remarks}")
    status = "已报送" if report.filed_at else "待报送"
    form.doc.add_paragraph(f"{status}　生成于 {clock.local(report.generated_at):%Y年%m月%d日}")
    return form.to_bytes()
