"""Printable Chinese forms with python-docx: an A4 page, CJK fonts, and a bordered table laid out on a
column grid, each cell a rectangle of grid columns and rows (the way the attachments' tables are drawn)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell, _Row
from docx.text.paragraph import Paragraph

BODY_FONT = "宋体"  # SimSun
TITLE_FONT = "黑体"  # SimHei
LATIN_FONT = "Times New Roman"
BODY_SIZE = Pt(10.5)  # 五号
TITLE_SIZE = Pt(18)  # 小二
CELL_MARGIN_TWIPS = 57  # 0.1 cm left and right inside each cell
FULL_WIDTH_SPACE = "\u3000"
BLANK_DATE = f"年{FULL_WIDTH_SPACE * 2}月{FULL_WIDTH_SPACE * 2}日"
# WordprocessingML wants properties in schema order; these are the elements that follow ours.
TBL_PR_AFTER_CELL_MARGINS = ("w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")
P_PR_AFTER_BORDERS = (
    *("w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct"),
    *("w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid"),
    *("w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc"),
    *("w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle"),
    *("w:rPr", "w:sectPr", "w:pPrChange"),
)


class Style(Enum):
    LABEL = "label"  # centred both ways
    VALUE = "value"  # centred both ways
    TEXT = "text"  # left-aligned, from the top: free text written or typed into the form


@dataclass(frozen=True)
class Cell:
    lines: Sequence[str] = ()
    span: int = 1  # grid columns
    rows: int = 1  # table rows (a label standing beside several rows)
    style: Style = Style.VALUE
    footer: Sequence[str] = ()  # right-aligned lines under the text: 签字：, 单位（盖章）, 年 月 日
    indent: bool = False  # first-line indent of two characters, as in a letter


@dataclass(frozen=True)
class Row:
    cells: Sequence[Cell]
    height_cm: float = 0.85


def label(text: str, span: int = 1, rows: int = 1) -> Cell:
    return Cell(lines=text.split("\n"), span=span, rows=rows, style=Style.LABEL)


def value(text: str, span: int = 1) -> Cell:
    return Cell(lines=[text], span=span, style=Style.VALUE)


def text(lines: Sequence[str], span: int, footer: Sequence[str] = (), indent: bool = False) -> Cell:
    return Cell(lines=lines, span=span, style=Style.TEXT, footer=footer, indent=indent)


@dataclass
class FormDocument:
    """One A4 page (or more), portrait, with the body in 宋体 五号."""

    doc: DocxDocument = field(default_factory=Document)

    def __post_init__(self) -> None:
        _page_setup(self.doc)
        _default_font(self.doc)

    def describe(self, title: str, author: str, when: datetime) -> None:
        """The file's own properties (shown by Word), instead of the template's."""
        properties = self.doc.core_properties
        properties.title, properties.author, properties.last_modified_by = title, author, author
        properties.language, properties.comments = "zh-CN", ""
        properties.created = properties.modified = when

    def title(self, words: str) -> None:
        paragraph = self.doc.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.space_after = Pt(8)
        styled_run(paragraph, words, size=TITLE_SIZE, font=TITLE_FONT)

    def table(self, grid_cm: Sequence[float], rows: Sequence[Row]) -> Table:
        return build_table(self.doc, grid_cm, rows)

    def carbon_copy(self, words: str) -> None:
        """The 抄送 line of an official document, between two rules."""
        paragraph = self.doc.add_paragraph()
        paragraph.paragraph_format.space_before = Pt(10)
        _rules_above_and_below(paragraph)
        styled_run(paragraph, words, size=Pt(12))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.doc.save(buffer)
        return buffer.getvalue()


def _page_setup(doc: DocxDocument) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(1.8)
    section.left_margin, section.right_margin = Cm(2.0), Cm(2.0)


def _default_font(doc: DocxDocument) -> None:
    style = doc.styles["Normal"]
    style.font.size = BODY_SIZE
    _set_fonts(style.element.get_or_add_rPr(), BODY_FONT)
    language = OxmlElement("w:lang")
    language.set(qn("w:val"), "en-US")
    language.set(qn("w:eastAsia"), "zh-CN")
    style.element.get_or_add_rPr().append(language)
    style.paragraph_format.space_before = Pt(0)
    style.paragraph_format.space_after = Pt(0)
    style.paragraph_format.line_spacing = 1.0


def _set_fonts(rpr: OxmlElement, east_asian: str) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asian)


def styled_run(paragraph: Paragraph, words: str, *, size: Pt = BODY_SIZE, font: str = BODY_FONT) -> None:
    run = paragraph.add_run(words)
    run.font.size = size
    _set_fonts(run._element.get_or_add_rPr(), font)


def _rules_above_and_below(paragraph: Paragraph) -> None:
    borders = OxmlElement("w:pBdr")
    for side in ("top", "bottom"):
        rule = OxmlElement(f"w:{side}")
        rule.set(qn("w:val"), "single")
        rule.set(qn("w:sz"), "6")
        rule.set(qn("w:space"), "1")
        rule.set(qn("w:color"), "000000")
        borders.append(rule)
    paragraph._p.get_or_add_pPr().insert_element_before(borders, *P_PR_AFTER_BORDERS)


def build_table(doc: DocxDocument, grid_cm: Sequence[float], rows: Sequence[Row]) -> Table:
    table = doc.add_table(rows=len(rows), cols=len(grid_cm))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False  # w:tblLayout fixed: the grid's widths hold whatever the text
    _narrow_cell_margins(table)
    _table_width(table, Cm(sum(grid_cm)))
    for column, width in zip(table.columns, grid_cm, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)
    for row, spec in zip(table.rows, rows, strict=True):
        row.height = Cm(spec.height_cm)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        _keep_on_one_page(row)
    for (top, left), spec in _placements(rows, len(grid_cm)):
        corner = table.cell(top + spec.rows - 1, left + spec.span - 1)
        cell = table.cell(top, left)
        if corner._tc is not cell._tc:
            cell = cell.merge(corner)
        _fill(cell, spec)
    return table


def _keep_on_one_page(row: _Row) -> None:
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


def _narrow_cell_margins(table: Table) -> None:
    margins = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        margin = OxmlElement(f"w:{side}")
        margin.set(qn("w:w"), str(CELL_MARGIN_TWIPS))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    table._tbl.tblPr.insert_element_before(margins, *TBL_PR_AFTER_CELL_MARGINS)


def _table_width(table: Table, width: Cm) -> None:
    table_width = table._tbl.tblPr.find(qn("w:tblW"))
    table_width.set(qn("w:type"), "dxa")
    table_width.set(qn("w:w"), str(width.twips))


def _placements(rows: Sequence[Row], columns: int) -> list[tuple[tuple[int, int], Cell]]:
    """Where each cell's top-left corner falls, skipping grid slots covered by a taller cell above."""
    covered: set[tuple[int, int]] = set()
    placed: list[tuple[tuple[int, int], Cell]] = []
    for r, row in enumerate(rows):
        c = 0
        for spec in row.cells:
            while (r, c) in covered:
                c += 1
            placed.append(((r, c), spec))
            covered.update((r + dr, c + dc) for dr in range(spec.rows) for dc in range(spec.span))
            c += spec.span
        if c > columns or any((r, k) not in covered for k in range(columns)):
            raise ValueError(f"row {r} does not fill the {columns}-column grid")
    return placed


def _fill(cell: _Cell, spec: Cell) -> None:
    centred = spec.style is not Style.TEXT
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER if centred else WD_CELL_VERTICAL_ALIGNMENT.TOP
    lines = list(spec.lines) or [""]
    first = cell.paragraphs[0]
    for i, line in enumerate(lines):
        paragraph = first if i == 0 else cell.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER if centred else WD_ALIGN_PARAGRAPH.JUSTIFY
        if spec.indent:
            paragraph.paragraph_format.first_line_indent = BODY_SIZE * 2
        styled_run(paragraph, line)
    for i, line in enumerate(spec.footer):
        paragraph = cell.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if i == 0:
            paragraph.paragraph_format.space_before = Pt(8)
        styled_run(paragraph, line + FULL_WIDTH_SPACE * 3)
