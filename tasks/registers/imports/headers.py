"""Which column holds what: the files' Chinese headers mapped to the fields an import reads.

The built-in aliases below are what the police extract, the national roll system and the census
sheets usually write. A county adds or replaces them in the `imports:` section of its policy file
(tasks/policy/hutubi.yaml, documented there): `aliases` for every kind, and per kind `headers` and
`required`. Headers are compared after removing spaces, `*` marks and full-width brackets.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from models.imports import ImportKind
from models.rules import PolicySetting

# field: (description, built-in headers)
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("姓名", ("姓名", "学生姓名", "儿童姓名", "人员姓名")),
    "gender": ("性别", ("性别",)),
    "citizen_id": ("身份证号", ("身份证号", "身份证号码", "公民身份号码", "身份证件号", "证件号码", "身份证件号码")),
    "birth_date": ("出生日期", ("出生日期", "出生年月", "出生年月日")),
    "ethnicity": ("民族", ("民族",)),
    "registration_address": ("户籍地址", ("户籍地址", "户籍地", "户口所在地", "户籍所在地")),
    "home_address": ("现住址", ("现住址", "现居住地址", "家庭住址", "居住地址", "现住地址")),
    "township": ("乡镇", ("乡镇", "乡(镇)", "所属乡镇", "户籍乡镇", "乡镇(街道)")),
    "village": ("村(社区)", ("村(社区)", "村/社区", "村", "社区", "所属村", "村委会", "村(居)委会")),
    "group": ("村民小组/小区", ("村民小组/小区", "村民小组", "小区", "组", "村民小组(小区)")),
    "household_number": ("户号", ("户号",)),
    "household_head": ("户主", ("户主", "户主姓名")),
    "relation_to_head": ("与户主关系", ("与户主关系",)),
    "guardian": ("监护人", ("监护人", "监护人姓名", "家长姓名", "家长")),
    "guardian_relation": ("监护人关系", ("监护人关系", "与学生关系", "与儿童关系")),
    "phone": ("联系电话", ("联系电话", "监护人电话", "手机号", "手机号码", "家长电话", "联系方式")),
    "school": ("学校", ("学校", "学校名称", "就读学校", "学校代码", "学校标识码")),
    "grade": ("年级", ("年级", "就读年级")),
    "class_name": ("班级", ("班级", "班级名称", "班号")),
    "student_number": ("全国学籍号", ("全国学籍号", "学籍号", "全国学籍号码")),
    "head_teacher": ("班主任", ("班主任", "班主任姓名")),
    "living_here": ("是否在本县居住", ("是否在本县居住", "是否本地居住", "在本地居住", "是否在本地居住")),
    "status": ("就读状态", ("就读状态", "就学状态", "状态", "就学情况")),
    "remark": ("备注", ("备注", "说明")),
}

# Required per kind; `township|village` means one of them.
REQUIRED: dict[ImportKind, tuple[str, ...]] = {
    ImportKind.POPULATION: ("name", "citizen_id", "township|village"),
    ImportKind.ROLL: ("name", "citizen_id", "school", "grade", "township|village"),
    ImportKind.CENSUS: ("name", "citizen_id", "village", "group", "household_number|household_head"),
}
SETTING_KEY = "imports"


class HeaderProblem(Exception):
    """The header line lacks a required column, or names one twice."""

    def __init__(self, message: str, column: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.column = column


def normal_header(text: object) -> str:
    value = unicodedata.normalize("NFKC", str(text or ""))
    return "".join(value.split()).replace("*", "").replace("（", "(").replace("）", ")").lower()


@dataclass(frozen=True)
class HeaderMap:
    """For one kind: each field's headers, and what a row must have."""

    kind: ImportKind
    aliases: Mapping[str, Sequence[str]]
    required: Sequence[str]

    def columns(self, header: Sequence[object]) -> dict[str, tuple[int, str]]:
        """field → (column index, the header as the file writes it); HeaderProblem if a required one is missing."""
        wanted = {normal_header(alias): field for field, names in self.aliases.items() for alias in names}
        found: dict[str, tuple[int, str]] = {}
        for index, title in enumerate(header):
            field = wanted.get(normal_header(title))
            if field is None:
                continue
            if field in found:
                raise HeaderProblem(
                    f"“{found[field][1]}”和“{title}”都表示{FIELDS[field][0]}，只能保留一列 (two columns for {field})",
                    str(title),
                )
            found[field] = (index, str(title).strip())
        for need in self.required:
            options = need.split("|")
            if not any(o in found for o in options):
                names = "或".join(f"“{FIELDS[o][0]}”" for o in options)
                raise HeaderProblem(f"缺少必填列{names} (missing column: {need})", FIELDS[options[0]][0])
        return found


def default_map(kind: ImportKind) -> HeaderMap:
    return HeaderMap(kind, {f: list(names) for f, (_, names) in FIELDS.items()}, REQUIRED[kind])


def header_map(kind: ImportKind, setting: Mapping[str, object] | None) -> HeaderMap:
    """The built-in map with the policy file's `imports:` section (as stored by seed) laid over it."""
    base = default_map(kind)
    if not setting:
        return base
    aliases = {f: list(v) for f, v in base.aliases.items()}
    for field, names in (setting.get("aliases") or {}).items():  # type: ignore[union-attr]
        aliases[field] = _merged(names, aliases.get(field, []))
    section = (setting.get(kind.value.lower()) or {}) if isinstance(setting, Mapping) else {}
    for field, names in (section.get("headers") or {}).items():
        aliases[field] = _merged(names, aliases.get(field, []))
    required = section.get("required") or base.required
    return HeaderMap(kind, aliases, list(required))


def _merged(first: Sequence[str], then: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*first, *then]))


async def load_header_map(kind: ImportKind) -> HeaderMap:
    row = await PolicySetting.get_or_none(key=SETTING_KEY)
    return header_map(kind, row.value if row else None)
