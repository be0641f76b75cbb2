"""Checking one cell: citizen IDs (and what Excel does to them), dates, gender, grades, phones, units.

Every problem is a `CellError` with a code from `RowCode` and a one-line message in Chinese with a
short English gloss, so the summary can say line, column, value, code and message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from models.children import Gender
from models.citizen_id import CHECK_CHARS, CitizenIdError, birth_date_of, check_char, normalise
from models.units import Unit, UnitKind
from tasks.registers.imports.reading import Cell


class RowCode(StrEnum):
    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    INVALID = "INVALID"
    BAD_CHECK_DIGIT = "BAD_CHECK_DIGIT"  # 身份证号校验码不对
    BAD_ID = "BAD_ID"  # not 18 characters of the right shape
    OLD_15_DIGIT_ID = "OLD_15_DIGIT_ID"
    ID_AS_NUMBER = "ID_AS_NUMBER"  # Excel stored it as a number: 6.52323E+17, digits lost
    ID_FLOAT_SUFFIX = "ID_FLOAT_SUFFIX"  # "652323201503121002.0": went through a number
    ID_LOST_X = "ID_LOST_X"  # 17 digits whose check character would be X
    BAD_BIRTH_DATE = "BAD_BIRTH_DATE"  # impossible, or not the one in the ID
    BAD_DATE = "BAD_DATE"
    BAD_GENDER = "BAD_GENDER"
    BAD_GRADE = "BAD_GRADE"
    BAD_PHONE = "BAD_PHONE"
    UNKNOWN_SCHOOL = "UNKNOWN_SCHOOL"
    UNKNOWN_TOWNSHIP = "UNKNOWN_TOWNSHIP"
    UNKNOWN_VILLAGE = "UNKNOWN_VILLAGE"
    VILLAGE_NOT_IN_TOWNSHIP = "VILLAGE_NOT_IN_TOWNSHIP"
    DUPLICATE_IN_FILE = "DUPLICATE_IN_FILE"
    DUPLICATE = "DUPLICATE"  # e.g. a student number another pupil already has
    NOT_YOURS = "NOT_YOURS"  # a school's file with another school's pupils
    # the file as a whole
    MISSING_COLUMN = "MISSING_COLUMN"
    UNREADABLE = "UNREADABLE"
    EMPTY = "EMPTY"


@dataclass
class CellError(Exception):
    field: str
    code: RowCode
    message: str
    value: str = ""

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)


@dataclass
class Problems:
    """The problems of one row, each with its field."""

    items: list[CellError] = field(default_factory=list)

    def add(self, error: CellError) -> None:
        self.items.append(error)

    def __bool__(self) -> bool:
        return bool(self.items)


SCIENTIFIC = re.compile(r"^\d(\.\d+)?e\+?\d{1,2}$", re.IGNORECASE)
FLOAT_SUFFIX = re.compile(r"^(\d{15,18})\.0+$")
PHONE = re.compile(r"^[0-9+\-() ]{5,20}$")
EXCEL_EPOCH = date(1899, 12, 30)


def shown(value: Cell) -> str:
    """A cell as the clerk sees it in the summary (numbers as Excel would show them)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6G}".replace("E+", "E+") if value >= 1e15 else (f"{value:g}")
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)[:200]


def text(value: Cell) -> str:
    """A cell as text: numbers without a trailing .0, dates ISO, whitespace trimmed, full-width folded."""
    if value.__class__ is str:  # the common case, kept cheap: most cells need no folding
        trimmed = value.strip()  # type: ignore[union-attr]
        if trimmed.isascii() or unicodedata.is_normalized("NFKC", trimmed):
            return trimmed
        return unicodedata.normalize("NFKC", trimmed).strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return unicodedata.normalize("NFKC", str(value)).strip()


def optional(value: Cell, field_name: str, longest: int) -> str:
    result = text(value)
    if len(result) > longest:
        raise CellError(field_name, RowCode.TOO_LONG, f"最多{longest}个字 (too long)", shown(value))
    return result


def required(value: Cell, field_name: str, longest: int) -> str:
    result = optional(value, field_name, longest)
    if not result:
        raise CellError(field_name, RowCode.REQUIRED, "不能为空 (required)")
    return result


def citizen_id(value: Cell) -> str:
    """The ID in canonical form; or the problem, naming what Excel did to it when that is what happened."""
    raw = shown(value)
    fail = lambda code, message: CellError("citizen_id", code, message, raw)  # noqa: E731
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CellError("citizen_id", RowCode.REQUIRED, "身份证号不能为空 (required)")
    if isinstance(value, float | int) and not isinstance(value, bool):
        digits = str(int(value)) if float(value).is_integer() else ""
        if isinstance(value, int) and len(digits) == 18:
            value = digits
        elif len(digits) == 17 and check_char(digits) == "X" and isinstance(value, int):
            raise fail(RowCode.ID_LOST_X, "身份证号末位X丢失：请把该列设为文本后重新填写 (the trailing X was lost)")
        else:
            raise fail(
                RowCode.ID_AS_NUMBER,
                "Excel把身份证号存成了数字，后几位已丢失：请把该列设为文本后重新填写 (stored as a number; digits lost)",
            )
    candidate = "".join(unicodedata.normalize("NFKC", str(value)).split()).upper()
    if SCIENTIFIC.match(candidate):
        raise fail(
            RowCode.ID_AS_NUMBER,
            "身份证号成了科学计数法（如6.52323E+17），后几位已丢失：请把该列设为文本"
            " (scientific notation; digits lost)",
        )
    if FLOAT_SUFFIX.match(candidate):
        raise fail(
            RowCode.ID_FLOAT_SUFFIX,
            "身份证号带有“.0”，曾被当作数字处理，可能已不准确：请核对原始数据 (ends in .0: went through a number)",
        )
    if re.fullmatch(r"\d{17}", candidate):
        if check_char(candidate) == "X":
            raise fail(RowCode.ID_LOST_X, "身份证号末位X丢失（只有17位）(17 digits: the trailing X was lost)")
        raise fail(RowCode.BAD_ID, "身份证号只有17位 (17 characters; 18 expected)")
    if re.fullmatch(r"\d{15}", candidate):
        raise fail(RowCode.OLD_15_DIGIT_ID, "15位旧身份证号，请换成18位 (old 15-digit ID)")
    try:
        return normalise(candidate)
    except CitizenIdError as exc:
        if re.fullmatch(r"\d{17}[\dX]", candidate) and candidate[17] in CHECK_CHARS:
            try:
                birth_date_of(candidate)
            except ValueError:
                raise fail(RowCode.BAD_BIRTH_DATE, str(exc)) from exc
            raise fail(RowCode.BAD_CHECK_DIGIT, str(exc)) from exc
        raise fail(RowCode.BAD_ID, str(exc)) from exc


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S")
MONTH_FORMATS = ("%Y-%m", "%Y/%m", "%Y.%m", "%Y%m", "%Y年%m月")


def day(value: Cell, field_name: str) -> tuple[date, bool] | None:
    """(date, whole) where whole is False for a month only (出生年月); None for an empty cell."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date(), True
    if isinstance(value, date):
        return value, True
    if isinstance(value, float | int) and not isinstance(value, bool):
        if 1 <= value < 100_000:  # an Excel serial day number
            return EXCEL_EPOCH + timedelta(days=int(value)), True
        value = str(int(value))
    cell = text(value)
    if len(cell) == 10 and cell[4] == "-":
        try:
            return date.fromisoformat(cell), True
        except ValueError:
            pass
    for formats, whole in ((DATE_FORMATS, True), (MONTH_FORMATS, False)):
        for pattern in formats:
            try:
                return datetime.strptime(cell, pattern).date(), whole
            except ValueError:
                continue
    raise CellError(field_name, RowCode.BAD_DATE, "日期格式应为2015-03-12 (date: YYYY-MM-DD)", shown(value))


def birth_date(value: Cell, id_number: str, today: date) -> date:
    """The birth date in the ID; a birth-date column must agree with it (to the month for 出生年月)."""
    born = birth_date_of(id_number)
    given = day(value, "birth_date")
    if given is not None:
        stated, whole = given
        if (stated if whole else stated.replace(day=1)) != (born if whole else born.replace(day=1)):
            raise CellError(
                "birth_date",
                RowCode.BAD_BIRTH_DATE,
                f"出生日期与身份证号不一致（身份证为{born.isoformat()}）(differs from the ID)",
                shown(value),
            )
    if born > today or born.year < 1900:
        raise CellError("citizen_id", RowCode.BAD_BIRTH_DATE, "出生日期不可能 (impossible birth date)", id_number)
    return born


GENDERS = {
    **dict.fromkeys(("男", "男性", "m", "male", "1"), Gender.MALE),
    **dict.fromkeys(("女", "女性", "f", "female", "2"), Gender.FEMALE),
}


def gender(value: Cell, id_number: str) -> Gender:
    """The cell's gender, which must agree with the ID (17th digit odd: male); the ID's when the cell is empty."""
    from_id = Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE
    cell = text(value).lower()
    if not cell:
        return from_id
    stated = GENDERS.get(cell)
    if stated is None:
        raise CellError("gender", RowCode.BAD_GENDER, "性别应为“男”或“女” (gender: 男 or 女)", shown(value))
    if stated is not from_id:
        raise CellError("gender", RowCode.BAD_GENDER, "性别与身份证号不一致 (differs from the ID)", shown(value))
    return stated


CHINESE_NUMBERS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
GRADE_WORDS = {"初一": 7, "初二": 8, "初三": 9, "高一": 10, "高二": 11, "高三": 12, "学前": 0, "幼儿园": 0, "学前班": 0}


def grade(value: Cell) -> int:
    """年级: 3, 三年级, 3年级, 初一, 七年级, 高二 ..., as 0 (before grade 1) to 12."""
    cell = text(value).replace("年级", "").replace("级", "").strip()
    number: int | None = GRADE_WORDS.get(text(value).replace("年级", "")) if cell else None
    if number is None and cell.isdigit():
        number = int(cell)
    if number is None and cell in CHINESE_NUMBERS:
        number = CHINESE_NUMBERS[cell]
    if number is None or not 0 <= number <= 12:
        raise CellError("grade", RowCode.BAD_GRADE, "年级应为1-12或“三年级”“初一”“高二” (grade 0-12)", shown(value))
    return number


def phone(value: Cell) -> str:
    cell = text(value)
    if cell and not PHONE.match(cell):
        raise CellError(
            "phone", RowCode.BAD_PHONE, "电话号码格式不正确 (phone: digits, + - ( ) and spaces)", shown(value)
        )
    return cell


def unit_key(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name).split()).replace("（", "(").replace("）", ")")


@dataclass
class UnitDirectory:
    """The county's townships, villages and schools, by code and by name, loaded once per import."""

    by_kind: dict[UnitKind, dict[str, list[Unit]]]
    by_id: dict[int, Unit]
    places: dict[tuple[str, str], tuple[Unit, Unit | None] | CellError] = field(default_factory=dict)

    @classmethod
    async def load(cls) -> UnitDirectory:
        kinds = (UnitKind.TOWNSHIP, UnitKind.VILLAGE, UnitKind.SCHOOL)
        by_kind: dict[UnitKind, dict[str, list[Unit]]] = {k: {} for k in kinds}
        units = await Unit.filter(kind__in=list(kinds))
        for unit in units:
            keys = {unit.code, unit_key(unit.name)}
            if unit.name.startswith("【演示】"):
                keys.add(unit_key(unit.name.removeprefix("【演示】")))
            for key in keys:
                by_kind[unit.kind].setdefault(key, []).append(unit)
        return cls(by_kind, {u.id: u for u in units})

    def find(self, kind: UnitKind, value: Cell, within: int | None = None) -> list[Unit]:
        found = self.by_kind[kind].get(unit_key(text(value)), [])
        return [u for u in found if within is None or u.parent_id == within] if within else found

    def school(self, value: Cell) -> Unit:
        found = self.find(UnitKind.SCHOOL, value)
        if len(found) != 1:
            raise CellError(
                "school", RowCode.UNKNOWN_SCHOOL, "没有这所学校（按名称或代码）(unknown school)", shown(value)
            )
        return found[0]

    def place(self, township_cell: Cell, village_cell: Cell) -> tuple[Unit, Unit | None]:
        """(township, village): a village alone gives its township; a village must lie in the township given."""
        key = (text(township_cell), text(village_cell))
        known = self.places.get(key)
        if known is None:
            try:
                known = self._place(township_cell, village_cell)
            except CellError as error:
                known = error
            if len(self.places) < 10_000:
                self.places[key] = known
        if isinstance(known, CellError):
            raise CellError(known.field, known.code, known.message, known.value)
        return known

    def _place(self, township_cell: Cell, village_cell: Cell) -> tuple[Unit, Unit | None]:
        township: Unit | None = None
        if text(township_cell):
            towns = self.find(UnitKind.TOWNSHIP, township_cell)
            if len(towns) != 1:
                raise CellError(
                    "township", RowCode.UNKNOWN_TOWNSHIP, "没有这个乡镇 (unknown township)", shown(township_cell)
                )
            township = towns[0]
        village: Unit | None = None
        if text(village_cell):
            anywhere = self.find(UnitKind.VILLAGE, village_cell)
            inside = [v for v in anywhere if township is None or v.parent_id == township.id]
            if not anywhere:
                raise CellError(
                    "village", RowCode.UNKNOWN_VILLAGE, "没有这个村（社区）(unknown village)", shown(village_cell)
                )
            if not inside:
                raise CellError(
                    "village",
                    RowCode.VILLAGE_NOT_IN_TOWNSHIP,
                    f"该村不属于{township.name if township else ''} (village not in that township)",
                    shown(village_cell),
                )
            if len(inside) > 1:
                raise CellError(
                    "village",
                    RowCode.UNKNOWN_VILLAGE,
                    "村名重复，请填写乡镇 (ambiguous: give the township)",
                    shown(village_cell),
                )
            village = inside[0]
            township = township or self.by_id.get(village.parent_id or 0)
        if township is None:
            raise CellError("township", RowCode.REQUIRED, "乡镇和村（社区）至少填一项 (township or village required)")
        return township, village


def first_problem(problems: Iterable[CellError]) -> CellError | None:
    return next(iter(problems), None)
