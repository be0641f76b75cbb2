"""The printable forms of the plan, filled in from the case: 附件2 (劝学记录表) and 附件3 (疑似辍学学生劝学返校报告单).

Each is a DOCX laid out like the attachment: the same rows and labels, in Chinese, on A4, with blank
lines left where people sign and units stamp. The full citizen ID is printed: the form is an official
document the school prints and files; who may download it is decided by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from models import clock
from models.cases import Case, DropoutReport, PersuasionKind, PersuasionRecord, PersuasionResult, ReportRouting
from models.children import Gender, Guardian, GuardianRelation, Household, Student
from models.rules import PolicySetting
from models.units import Unit
from models.users import User
from tasks.access import Disclosure, disclosure
from tasks.ladder.form_layout import BLANK_DATE, FULL_WIDTH_SPACE, Cell, FormDocument, Row, label, text, value

# 17 cm of table on the 21 cm page: section | label | name | label | short | label | value | label | long value
GRID_CM = (1.1, 1.7, 2.8, 1.1, 1.0, 1.7, 2.3, 1.7, 3.6)


async def form_words() -> tuple[str, str, str]:
    """(record title, report title, carbon-copy line) as the county's policy file gives them."""
    forms = await PolicySetting.get_or_none(key="forms")
    county = await PolicySetting.get_or_none(key="county")
    name = county.value["name"] if county else ""
    words = forms.value if forms else {}
    copies = "、".join(words.get("carbon_copy", []))
    return (
        words.get("persuasion_record_title", f"{name}控辍保学劝学记录表"),
        words.get("report_title", "疑似辍学学生劝学返校报告单"),
        f"抄送：{copies}，存档。" if copies else "抄送：存档。",
    )


DIGITS = "〇一二三四五六七八九"
GENDERS = {Gender.MALE: "男", Gender.FEMALE: "女"}
PERSUASION_KINDS = {
    PersuasionKind.HEAD_TEACHER_CALL: "班主任电话联系或家访",
    PersuasionKind.SCHOOL_HOME_VISIT: "学校领导与班主任家访",
    PersuasionKind.COLLECTIVE_HOME_VISIT: "学校与村（社区）集体家访",
    PersuasionKind.OTHER: "其他",
}
PERSUASION_RESULTS = {
    PersuasionResult.RETURNING: "家长同意，学生将返校",
    PersuasionResult.FAILED: "劝学未果",
    PersuasionResult.PENDING: "待跟进",
}


class FormNotFound(LookupError):
    """No such record, report or receiver."""


@dataclass(frozen=True)
class Form:
    filename: str  # in Chinese, for people
    content: bytes
    ascii_filename: str  # for clients that cannot read RFC 5987 names


@dataclass(frozen=True)
class Parent:
    name: str = ""
    phone: str = ""
    occupation: str = ""


@dataclass(frozen=True)
class StudentFacts:
    """What both forms say about the student and the family, in the words printed on them."""

    school: str
    name: str
    gender: str
    birth_month: str
    grade_class: str
    head_teacher: str
    student_number: str
    citizen_id: str
    father: Parent
    mother: Parent
    registration_place: str
    home_address: str
    family_situation: str


# --- words ----------------------------------------------------------------------------------------


def chinese_date(day: date | datetime | None) -> str:
    """2026年9月3日; a datetime is read in county time. None leaves the blanks for a pen."""
    if day is None:
        return BLANK_DATE
    if isinstance(day, datetime):
        day = clock.local(day).date()
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_month(day: date) -> str:
    return f"{day.year}年{day.month}月"


def grade_label(grade: int) -> str:
    """五年级; 高一年级 for grades 10-12."""
    if 1 <= grade <= 9:
        return f"{DIGITS[grade]}年级"
    if 10 <= grade <= 12:
        return f"高{DIGITS[grade - 9]}年级"
    return "未入学"


def grade_and_class(grade: int, class_name: str) -> str:
    name = class_name.strip()
    if name and not name.endswith("班"):
        name += "班"
    return grade_label(grade) + name


def _paragraphs(words: str) -> list[str]:
    return [line.strip() for line in words.splitlines() if line.strip()]


def safe_filename(*parts: str) -> str:
    cleaned = ["".join(ch for ch in part if ch not in '\\/:*?"<>|\r\n\t').strip() for part in parts]
    return "-".join(part for part in cleaned if part) + ".docx"


# --- facts ----------------------------------------------------------------------------------------


async def student_facts(case: Case, viewer: User, revealed: bool, family_situation: str = "") -> StudentFacts:
    """The school is the case's (where the child was absent from), the rest the student's record as it is now.

    The citizen ID, phones and address are whole or masked for this viewer exactly as the API shows them
    (tasks/access.py's `disclosure`); `revealed` (a download with a purpose) shows them whole, if allowed.
    """
    student = await Student.get(id=case.student_id)
    shown = await disclosure(viewer, student, revealed=revealed)
    household = await Household.get(id=student.household_id)
    school = await Unit.get(id=case.school_id)
    parents = {g.relation: g for g in await Guardian.filter(household_id=household.id).order_by("id")}
    return StudentFacts(
        school=school.name,
        name=student.name,
        gender=GENDERS.get(student.gender, ""),
        birth_month=chinese_month(student.birth_date),
        grade_class=grade_and_class(student.grade, student.class_name),
        head_teacher=await _head_teacher(student),
        student_number=shown.show_student_number(student.student_number, student.citizen_id) or "",
        citizen_id=shown.show_citizen_id(student.citizen_id),
        father=_parent(parents.get(GuardianRelation.FATHER), shown),
        mother=_parent(parents.get(GuardianRelation.MOTHER), shown),
        registration_place=await _registration_place(household),
        home_address=shown.show_address(household.home_address),
        family_situation=family_situation or household.family_situation,
    )


async def _head_teacher(student: Student) -> str:
    if student.head_teacher_name:
        return student.head_teacher_name
    teacher = await User.get_or_none(id=student.head_teacher_id) if student.head_teacher_id else None
    return teacher.name if teacher else ""


def _parent(guardian: Guardian | None, shown: Disclosure) -> Parent:
    return Parent(guardian.name, shown.show_phone(guardian.phone), guardian.occupation) if guardian else Parent()


async def _registration_place(household: Household) -> str:
    if household.registration_place:
        return household.registration_place
    ids = [pk for pk in (household.township_id, household.village_id) if pk]
    units = {u.id: u.name for u in await Unit.filter(id__in=ids)}
    return "".join(units[pk] for pk in ids if pk in units)


# --- rows both forms share ------------------------------------------------------------------------


def student_rows(facts: StudentFacts, number_label: str) -> list[Row]:
    return [
        Row(
            [
                label("学生\n情况", rows=2),
                label("学生"),
                value(facts.name),
                label("性别"),
                value(facts.gender),
                label("出生年月"),
                value(facts.birth_month),
                label("班级"),
                value(facts.grade_class),
            ]
        ),
        Row(
            [
                label("班主任"),
                value(facts.head_teacher),
                label(number_label, span=2),
                value(facts.student_number, span=2),
                label("身份证号"),
                value(facts.citizen_id),
            ]
        ),
    ]


def _parent_row(relation: str, parent: Parent, section: Sequence[Cell] = ()) -> Row:
    return Row(
        [
            *section,
            label(relation),
            value(parent.name),
            label("电话"),
            value(parent.phone, span=2),
            label("职业"),
            value(parent.occupation, span=2),
        ]
    )


def family_rows(facts: StudentFacts, *, with_situation: bool) -> list[Row]:
    height = 5 if with_situation else 4
    rows = [
        _parent_row("父亲", facts.father, [label("家庭\n情况", rows=height)]),
        _parent_row("母亲", facts.mother),
        Row([label("户籍地"), value(facts.registration_place, span=7)]),
        Row([label("家庭住址"), value(facts.home_address, span=7)]),
    ]
    if with_situation:
        situation = _paragraphs(facts.family_situation)
        lines = [f"家庭状况：{situation[0] if situation else ''}", *situation[1:]]
        rows.append(Row([text(lines, span=8)], height_cm=2.6))
    return rows


# --- 附件2: 劝学记录表 ----------------------------------------------------------------------------


def _process_lines(record: PersuasionRecord) -> list[str]:
    return [
        f"劝学方式：{PERSUASION_KINDS[record.kind]}",
        *_paragraphs(record.process),
        f"劝学结果：{PERSUASION_RESULTS[record.result]}",
    ]


def _signed(title: str, words: str, signer: str, height: float = 2.8) -> Row:
    return Row([label(title, span=2), text(_paragraphs(words), span=7, footer=[f"{signer}：{' ' * 12}"])], height)


def persuasion_record_rows(record: PersuasionRecord, facts: StudentFacts) -> list[Row]:
    return [
        Row([label("学校"), value(facts.school, span=6), label("时间"), value(chinese_date(record.held_at))]),
        *student_rows(facts, "全国学籍号"),
        *family_rows(facts, with_situation=True),
        Row([label("劝学过程", span=2), text(_process_lines(record), span=7)], height_cm=5.4),
        _signed("家长态度", record.parents_attitude, "家长签字"),
        _signed("学生态度", record.student_attitude, "学生签字"),
        _signed("学校意见", record.school_opinion, "校领导签字"),
        Row([label("劝学人员", span=2), text(_paragraphs(record.persuaders), span=7)], height_cm=1.6),
    ]


async def persuasion_record_form(record_id: int, viewer: User, revealed: bool = False) -> Form:
    record = await PersuasionRecord.get_or_none(id=record_id)
    if record is None:
        raise FormNotFound(f"no persuasion record {record_id}")
    case = await Case.get(id=record.case_id)
    facts = await student_facts(case, viewer, revealed, record.family_situation)
    title, _, _ = await form_words()
    form = FormDocument()
    form.describe(title, facts.school, record.held_at)
    form.title(title)
    form.table(GRID_CM, persuasion_record_rows(record, facts))
    day = clock.local(record.held_at).date().isoformat()
    fallback = f"persuasion-record-{record.id}-{day}.docx"
    return Form(safe_filename("劝学记录表", facts.name, day), form.to_bytes(), fallback)


# --- 附件3: 疑似辍学学生劝学返校报告单 ---------------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    """The report as addressed: to every receiver (the school's archive copy) or to one."""

    report: DropoutReport
    routings: Sequence[ReportRouting]
    receivers: dict[int, str]  # unit id → name

    @property
    def addressee(self) -> str:
        return "、".join(self.receivers[r.receiver_id] for r in self.routings)

    def room(self, archive_cm: float, single_cm: float) -> float:
        """Row heights: the archive copy fits three results on the page; a single copy has space to write."""
        return archive_cm if len(self.routings) > 1 else single_cm

    @property
    def asked(self) -> str:
        return self.addressee if len(self.routings) == 1 else "各单位"


def letter(copy: Copy, facts: StudentFacts) -> str:
    report = copy.report
    period = f"{chinese_date(report.absent_from)}-{chinese_date(report.absent_to)}"
    return (
        f"{copy.addressee}：兹有我校{facts.grade_class}学生{facts.name}，{period}期间未到校上课，"
        f"经学校和村（社区）工作人员{report.persuasion_count}次劝学未果，恳请{copy.asked}按照义务教育法"
        "相关责任要求，采取劝学措施让其返校，完成九年义务教育。"
    )


def _routing_rows(copy: Copy, school: str) -> list[Row]:
    header = Row(
        [
            label("报送\n单位", span=2),
            label("报送时间"),
            label("报送人", span=3),
            label("接收人", span=2),
            label("接收人联系方式"),
        ]
    )
    lines = []
    for routing in copy.routings:
        receiver = [copy.receivers[routing.receiver_id], *([routing.receiver_name] if routing.receiver_name else [])]
        lines.append(
            Row(
                [
                    value(school, span=2),
                    value(chinese_date(routing.sent_at)),
                    value(routing.sender_name, span=3),
                    Cell(receiver, span=2),
                    value(routing.receiver_contact or ""),
                ],
                height_cm=1.0,
            )
        )
    return [header, *lines]


def _result_rows(copy: Copy) -> list[Row]:
    rows = []
    for i, routing in enumerate(copy.routings):
        section = [label("处理结果", span=2, rows=len(copy.routings))] if i == 0 else []
        heading = [f"{copy.receivers[routing.receiver_id]}："] if len(copy.routings) > 1 else []
        stamp = ["单位（盖章）", chinese_date(routing.result_at)]
        if len(copy.routings) > 1:  # the archive copy: three results on one page
            stamp = [f"{stamp[0]}{FULL_WIDTH_SPACE * 2}{stamp[1]}"]
        words = [*heading, *_paragraphs(routing.result or "")]
        rows.append(Row([*section, text(words, span=7, footer=stamp)], height_cm=copy.room(1.6, 3.4)))
    return rows


def dropout_report_rows(copy: Copy, facts: StudentFacts) -> list[Row]:
    report = copy.report
    stamp = ["学校盖章", BLANK_DATE]
    return [
        Row([text([letter(copy, facts)], span=9, footer=stamp, indent=True)], height_cm=3.0),
        Row(
            [
                label("学校"),
                value(facts.school, span=4),
                label("联系人"),
                value(report.contact_person),
                label("电话"),
                value(report.contact_phone),
            ]
        ),
        *student_rows(facts, "学籍号"),
        *family_rows(facts, with_situation=False),
        Row([label("基本\n情况"), text(_paragraphs(report.situation), span=8)], copy.room(2.2, 3.4)),
        *_routing_rows(copy, facts.school),
        Row([text([], span=9, footer=["单位（盖章）", BLANK_DATE])], height_cm=1.2),
        *_result_rows(copy),
    ]


async def report_copy(report_id: int, receiver_id: int | None = None) -> Copy:
    report = await DropoutReport.get_or_none(id=report_id)
    if report is None:
        raise FormNotFound(f"no report {report_id}")
    routings = list(await ReportRouting.filter(report_id=report.id).order_by("id"))
    if receiver_id is not None:
        routings = [r for r in routings if r.receiver_id == receiver_id]
        if not routings:
            raise FormNotFound(f"report {report_id} was not sent to unit {receiver_id}")
    units = await Unit.filter(id__in=[r.receiver_id for r in routings])
    return Copy(report, routings, {u.id: u.name for u in units})


async def dropout_report_form(
    report_id: int, viewer: User, receiver_id: int | None = None, revealed: bool = False
) -> Form:
    copy = await report_copy(report_id, receiver_id)
    facts = await student_facts(await Case.get(id=copy.report.case_id), viewer, revealed)
    _, title, carbon_copy = await form_words()
    form = FormDocument()
    form.describe(title, facts.school, copy.report.filed_at)
    form.title(title)
    form.table(GRID_CM, dropout_report_rows(copy, facts))
    form.carbon_copy(carbon_copy)
    receiver = copy.addressee if receiver_id is not None else ""
    day = clock.local(copy.report.filed_at).date().isoformat()
    fallback = f"dropout-report-{copy.report.id}-{day}.docx"
    return Form(safe_filename("劝学返校报告单", facts.name, receiver, day), form.to_bytes(), fallback)
