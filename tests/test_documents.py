"""附件2 and 附件3 as printable DOCX: GET /documents/{id}.docx with a bearer token."""

from __future__ import annotations

import io
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from urllib.parse import unquote

import httpx
from docx import Document
from docx.document import Document as DocxDocument

from api.ids import global_id
from models import clock
from models.accounts import authenticate
from models.cases import PersuasionKind, PersuasionRecord, PersuasionResult, ReportRouting
from models.units import Unit
from models.users import User, UserRole
from tasks.ladder.cases import (
    PersuasionData,
    ReportData,
    acknowledge_receipt,
    add_persuasion_record,
    file_report,
    record_absence,
    record_result,
)
from tests.ladder_support import demo_student
from tests.support import sign_in

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
RECEIVERS = ["县教育局教育股", "县人民政府教育督导室", "大丰镇"]
RECORD_LABELS = [
    "学校",
    "时间",
    "学生情况",
    "学生",
    "性别",
    "出生年月",
    "班级",
    "班主任",
    "全国学籍号",
    "身份证号",
    "家庭情况",
    "父亲",
    "母亲",
    "电话",
    "职业",
    "户籍地",
    "家庭住址",
    "家庭状况：",
    "劝学过程",
    "家长态度",
    "家长签字：",
    "学生态度",
    "学生签字：",
    "学校意见",
    "校领导签字：",
    "劝学人员",
]
REPORT_LABELS = [
    "学校盖章",
    "联系人",
    "学籍号",
    "基本情况",
    "报送单位",
    "报送时间",
    "报送人",
    "接收人",
    "接收人联系方式",
    "处理结果",
    "单位（盖章）",
]
PROCESS = "上午到家中走访，孩子在亲戚家帮工，家长认为读书无用。\n向家长讲解义务教育法，家长仍不同意返校。"
SITUATION = "该生自9月1日起未到校，三次劝学未果，家长坚持让其在外帮工。"


@dataclass(frozen=True)
class Filed:
    token: str
    record_id: str
    report_id: str


def school_day() -> AbstractContextManager[None]:
    return clock.as_of(clock.parse_moment("2026-09-03"))


async def _user(token: str) -> User:
    user = await authenticate(token)
    assert user is not None
    return user


async def file_case() -> Filed:
    """An absence from 1 September, a failed collective visit on the 3rd, and the report filed that day."""
    token = await sign_in("demo-primary-1", UserRole.PRINCIPAL, "【演示】校长甲")
    user = await _user(token)
    student = await demo_student()
    with school_day():
        case = await record_absence(user, student.id, date(2026, 9, 1))
        record = await add_persuasion_record(
            user,
            case.id,
            PersuasionData(
                kind=PersuasionKind.COLLECTIVE_HOME_VISIT,
                result=PersuasionResult.FAILED,
                held_at=None,
                persuaders="【演示】班主任1、【演示】校长甲、村委会委员",
                process=PROCESS,
                family_situation="父母务农，家有三个孩子。",
                parents_attitude="不同意孩子返校。",
                student_attitude="愿意回校读书。",
                school_opinion="继续劝返，报送报告单。",
            ),
        )
        report = await file_report(user, case.id, ReportData(SITUATION, "【演示】教务主任", "0994-4500000"))
    return Filed(token, global_id("PersuasionRecord", record.id), global_id("DropoutReport", report.id))


async def download(client: httpx.AsyncClient, gid: str, token: str | None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.get(f"/documents/{gid}.docx", headers=headers, params=params)


def open_docx(response: httpx.Response) -> DocxDocument:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == DOCX
    return Document(io.BytesIO(response.content))


def filename_of(response: httpx.Response) -> str:
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    return unquote(disposition.split("filename*=UTF-8''", 1)[1])


def cell_texts(doc: DocxDocument) -> list[str]:
    """Each cell's text once (a merged cell repeats in every grid slot it covers)."""
    seen: list[str] = []
    for table in doc.tables:
        for row in table.rows:
            for cell in row.cells:
                if not seen or seen[-1] != cell.text:
                    seen.append(cell.text)
    return seen


def all_text(doc: DocxDocument) -> str:
    return "\n".join([p.text for p in doc.paragraphs] + cell_texts(doc))


async def test_persuasion_record_downloads_as_the_form_of_attachment_2(client) -> None:
    filed = await file_case()

    response = await download(client, filed.record_id, filed.token, purpose="打印存档")  # whole, on the record

    doc = open_docx(response)
    assert filename_of(response) == "劝学记录表-【演示】张小明-2026-09-03.docx"
    assert doc.paragraphs[0].text == "呼图壁县控辍保学劝学记录表"
    cells = cell_texts(doc)
    for words in RECORD_LABELS:
        assert any(c.replace("\n", "").startswith(words) or words in c for c in cells), words
    text = all_text(doc)
    for words in [
        "【演示】呼图壁县第一小学",
        "2026年9月3日",
        "【演示】张小明",
        "男",
        "2015年3月",
        "五年级2班",
        "【演示】班主任1",
        "G652323201503121002",
        "652323201503121002",
        "【演示】父亲1",
        "13990000000",
        "务农",
        "【演示】母亲1",
        "【演示】demo-dafeng-v11号",
        "家庭状况：父母务农，家有三个孩子。",
        "孩子在亲戚家帮工",
        "家长仍不同意返校",
        "劝学结果：劝学未果",
        "不同意孩子返校。",
        "愿意回校读书。",
        "继续劝返，报送报告单。",
        "【演示】班主任1、【演示】校长甲、村委会委员",
    ]:
        assert words in text, words


async def test_report_downloads_with_its_routing_table_and_carbon_copy(client) -> None:
    filed = await file_case()

    doc = open_docx(await download(client, filed.report_id, filed.token, purpose="报送教育股"))

    assert doc.paragraphs[0].text == "疑似辍学学生劝学返校报告单"
    cells = cell_texts(doc)
    letter = cells[0]
    assert letter.startswith("县教育局教育股、县人民政府教育督导室、大丰镇：兹有我校五年级2班学生【演示】张小明，")
    assert "2026年9月1日-2026年9月3日期间未到校上课" in letter
    assert "经学校和村（社区）工作人员1次劝学未果" in letter
    assert "完成九年义务教育。" in letter
    flat = [c.replace("\n", "") for c in cells]
    for words in REPORT_LABELS:
        assert any(words in c for c in flat), words
    text = all_text(doc)
    for words in ["【演示】教务主任", "0994-4500000", SITUATION, "652323201503121002", "【演示】父亲1"]:
        assert words in text, words
    routing = [
        [c.text for c in row.cells]
        for row in doc.tables[0].rows
        if row.cells[0].text == "【演示】呼图壁县第一小学" and "2026年9月3日" in row.cells[2].text
    ]
    assert [r[6].split("\n")[0] for r in routing] == RECEIVERS
    assert all(r[4] == "【演示】校长甲" for r in routing)  # the sender: whoever filed it
    assert doc.paragraphs[-1].text == "抄送：县委办、人大办、政协办，存档。"


async def test_one_copy_addressed_to_the_township_with_its_receipt_and_result(client) -> None:
    filed = await file_case()
    township = await Unit.get(code="dafeng")
    token = await sign_in("dafeng", UserRole.LIAISON, "【演示】镇联络员")
    routing = await ReportRouting.get(receiver_id=township.id)
    with school_day():
        await acknowledge_receipt(await _user(token), routing.id, "【演示】镇联络员", "13700000000")
        await record_result(await _user(token), routing.id, "已会同村委会入户劝返，家长同意下周一返校。")

    response = await download(client, filed.report_id, token, receiver=global_id("Unit", township.id))

    doc = open_docx(response)
    assert filename_of(response) == "劝学返校报告单-【演示】张小明-大丰镇-2026-09-03.docx"
    text = all_text(doc)
    assert cell_texts(doc)[0].startswith("大丰镇：兹有我校")
    assert "恳请大丰镇按照义务教育法" in text
    assert "县教育局教育股" not in text
    for words in ["【演示】镇联络员", "13700000000", "已会同村委会入户劝返，家长同意下周一返校。"]:
        assert words in text, words


async def test_receiver_the_report_was_not_sent_to_is_not_found(client) -> None:
    filed = await file_case()
    other = await Unit.get(code="wugongtai")

    response = await download(client, filed.report_id, filed.token, receiver=global_id("Unit", other.id))

    assert response.status_code == 404


async def test_without_a_valid_token_the_answer_is_401(client) -> None:
    filed = await file_case()

    for token in (None, "not-a-token"):
        response = await download(client, filed.record_id, token)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_another_units_user_and_a_garbage_id_get_the_same_404(client) -> None:
    filed = await file_case()
    outsider = await sign_in("demo-middle-1")
    record = await PersuasionRecord.get()

    hidden = await download(client, filed.record_id, outsider)
    hidden_report = await download(client, filed.report_id, outsider)
    missing = await download(client, global_id("PersuasionRecord", record.id + 1000), outsider)
    garbage = await download(client, "no-such-id", filed.token)
    wrong_type = await download(client, global_id("Unit", 1), filed.token)

    for response in (hidden, hidden_report, missing, garbage, wrong_type):
        assert response.status_code == 404
        assert response.json() == hidden.json()


STUDENT_AS_SHOWN = """query($id: ID!) { node(id: $id) { ... on Student { citizenId studentNumber
  household { homeAddress guardians { phone } } } } }"""


async def _as_the_api_shows(client: httpx.AsyncClient, token: str) -> dict[str, object]:
    student = await demo_student()
    response = await client.post(
        "/graphql",
        json={"query": STUDENT_AS_SHOWN, "variables": {"id": global_id("Student", student.id)}},
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.json()["data"]["node"]


async def _receivers_tasks() -> None:
    from tasks.machinery import jobs

    with school_day():
        await jobs.process_outbox()  # the report's receivers get their tasks, and with them the case


async def _last_audit_id() -> int:
    from models.audit import AuditEntry

    last = await AuditEntry.all().order_by("-id").first()
    return last.id if last else 0


async def test_a_form_masks_what_the_api_masks_for_the_same_viewer(client) -> None:
    filed = await file_case()
    await _receivers_tasks()
    bureau = await sign_in("education-section", UserRole.LIAISON, "教育股")  # a receiver: sees the case, not contacts
    for token, phones_whole in ((filed.token, True), (bureau, False)):
        shown = await _as_the_api_shows(client, token)
        assert shown["citizenId"] == "652323********1002" and shown["studentNumber"] == "G652323********1002"
        assert (shown["household"]["guardians"][0]["phone"] == "13990000000") is phones_whole
        for gid in (filed.record_id, filed.report_id):
            text = all_text(open_docx(await download(client, gid, token)))
            assert "652323201503121002" not in text, "the whole citizen ID (also inside the 学籍号)"
            assert shown["citizenId"] in text and shown["studentNumber"] in text
            assert shown["household"]["guardians"][0]["phone"] in text
            assert ("13990000000" in text) is phones_whole
        record_text = all_text(open_docx(await download(client, filed.record_id, token)))
        assert shown["household"]["homeAddress"] in record_text


async def test_a_whole_form_needs_the_right_to_reveal_and_keeps_the_purpose(client) -> None:
    from models.audit import AuditAction, AuditEntry

    filed = await file_case()
    await _receivers_tasks()
    before = await _last_audit_id()
    bureau = await sign_in("education-section", UserRole.LIAISON, "教育股")
    refused = await download(client, filed.report_id, bureau, purpose="核查")
    assert refused.status_code == 403 and refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await download(client, filed.report_id, filed.token, purpose="  ")).status_code == 400
    assert (await download(client, filed.report_id, filed.token, purpose="x" * 301)).status_code == 400

    whole = await download(client, filed.report_id, filed.token, purpose="报送乡镇")
    assert "652323201503121002" in all_text(open_docx(whole))
    lines = await AuditEntry.filter(action=AuditAction.DOWNLOAD, id__gt=before).order_by("id")
    assert [(line.outcome, line.detail.get("purpose")) for line in lines] == [
        ("FORBIDDEN", "核查"),
        ("BAD_USER_INPUT", None),
        ("BAD_USER_INPUT", None),
        ("OK", "报送乡镇"),
    ]
    assert lines[-1].detail["fields"] == "WHOLE" and lines[-1].request_id


async def test_a_bad_token_on_a_download_is_a_failed_sign_in_on_the_record(client) -> None:
    from models.audit import AuditAction, AuditEntry

    filed = await file_case()
    before = await _last_audit_id()
    assert (await download(client, filed.record_id, "kc_made-up-token")).status_code == 401
    line = await AuditEntry.get(action=AuditAction.SIGN_IN_FAILED, id__gt=before)
    assert line.operation == "document" and line.target == "kc_made-up"
