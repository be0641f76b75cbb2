"""Reading an uploaded file row by row, whatever Excel or the national system made of it.

CSV in UTF-8 (with or without BOM) or GB18030/GBK, comma- or tab-separated, read with the csv module;
XLSX and XLSM with openpyxl in read-only mode, which streams the sheet's XML row by row, so memory
stays flat however long the file; XLS, XLSB and ODS with python-calamine (which holds a sheet in its
own compact grid: those formats are rarely large). Rows are yielded one at a time: nothing here holds
the rows of the file. The benchmark measures CSV and XLSX.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from python_calamine import CalamineError, CalamineWorkbook

Cell = str | float | int | bool | date | datetime | time | None
SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
SNIFF_BYTES = 1 << 20


class UnreadableFile(Exception):
    """The file cannot be read as a table; the message says why, in the county's words."""


@dataclass(frozen=True)
class Row:
    line: int  # as a spreadsheet program numbers it: 1 is the first line of the file
    cells: list[Cell]


def encoding_of(path: Path) -> str:
    """utf-8-sig for a BOM or valid UTF-8 text, else gb18030 (a superset of GBK and GB2312)."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def count_lines(path: Path) -> int:
    """Lines of a text file, in 1 MiB reads: the progress bar's total for a CSV (quoted line breaks aside)."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(SNIFF_BYTES):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def _delimiter_of(path: Path) -> str:
    """Tab or comma, whichever the start of the file has more of (a title line above the header has neither)."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    return "\t" if head.count(b"\t") > head.count(b",") else ","


def _csv_rows(path: Path, on_total: Callable[[int], object]) -> Iterator[Row]:
    encoding = encoding_of(path)
    on_total(max(count_lines(path) - 1, 0))
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, newline="", errors="strict")
        try:
            rows = csv.reader(text, delimiter=_delimiter_of(path))
            for cells in rows:
                yield Row(rows.line_num, list(cells))
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                f"文件编码无法识别（不是UTF-8也不是GBK/GB18030）(cannot decode the file as {encoding})"
            ) from exc
        except csv.Error as exc:
            raise UnreadableFile(f"CSV格式错误 (malformed CSV): {exc}") from exc


STREAMED_SUFFIXES = {".xlsx", ".xlsm"}


def _streamed_rows(path: Path, on_total: Callable[[int], object]) -> Iterator[Row]:
    """An Office Open XML workbook, streamed: openpyxl's read-only mode parses the sheet as it goes."""
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
        raise UnreadableFile(f"无法打开表格文件 (cannot open the spreadsheet): {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        if sheet.max_row:
            on_total(max(sheet.max_row - 1, 0))
        for line, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield Row(line, list(cells))
    except (zipfile.BadZipFile, OSError, ValueError, KeyError) as exc:
        raise UnreadableFile(f"无法读取表格文件 (cannot read the spreadsheet): {exc}") from exc
    finally:
        workbook.close()


def _spreadsheet_rows(path: Path, on_total: Callable[[int], object]) -> Iterator[Row]:
    if path.suffix.lower() in STREAMED_SUFFIXES:
        yield from _streamed_rows(path, on_total)
        return
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        raise UnreadableFile(f"无法打开表格文件 (cannot open the spreadsheet): {exc}") from exc
    try:
        sheet = workbook.get_sheet_by_index(0)
        on_total(max(sheet.height - 1, 0))
        start = (sheet.start or (0, 0))[0] + 1
        for offset, cells in enumerate(sheet.iter_rows()):
            yield Row(start + offset, list(cells))
    except CalamineError as exc:
        raise UnreadableFile(f"无法读取表格文件 (cannot read the spreadsheet): {exc}") from exc
    finally:
        workbook.close()


def is_spreadsheet(path: Path) -> bool:
    if path.suffix.lower() in SPREADSHEET_SUFFIXES:
        return True
    with path.open("rb") as handle:  # a spreadsheet saved without its suffix: ZIP or OLE2 magic
        magic = handle.read(8)
    return magic.startswith(b"PK\x03\x04") or magic.startswith(b"\xd0\xcf\x11\xe0")


def rows_of(path: Path, on_total: Callable[[int], object] = lambda total: None) -> Iterator[Row]:
    """Every row of the file's first sheet, the header first; blank rows are skipped.

    `on_total` hears the number of data rows once the file is open (for CSV an estimate from its lines).
    """
    if not path.exists():
        raise UnreadableFile(f"文件不存在 (file not found): {path.name}")
    rows = _spreadsheet_rows(path, on_total) if is_spreadsheet(path) else _csv_rows(path, on_total)
    for row in rows:
        if any(c not in (None, "") and not (isinstance(c, str) and not c.strip()) for c in row.cells):
            yield row
