"""GET /documents/{id}.docx: a persuasion record (附件2) or a suspected-dropout report (附件3), ready to print.

The id is the record's or report's opaque global id; `?receiver=<Unit id>` gives a report's copy
addressed to one receiver. A bearer token is required, and a record the user may not see answers
404 exactly like an id that does not exist (tasks/access.py's gate, the same as node(id:)).

The form shows the child's citizen ID, the parents' phones and the home address exactly as the API
does for this viewer (masked, or phones and address whole for the child's school and township).
`?purpose=<why>` asks for them whole: allowed to those who may use `studentReveal`, refused with 403
FORBIDDEN otherwise, and the download's audit line keeps the purpose.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.ids import BadGlobalId, parse_global_id
from models import audit, clock
from models.accounts import authenticate
from models.audit import AuditAction, failed_sign_in
from models.cases import DropoutReport, PersuasionRecord
from models.users import User
from tasks.access import NotYoursToReveal, sees
from tasks.errors import DomainError, ErrorCode, required_text
from tasks.ladder.forms import Form, FormNotFound, dropout_report_form, persuasion_record_form

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BEARER = "bearer "
NO_TOKEN = "请先登录：Authorization: Bearer <token> (authentication required)"
BAD_TOKEN = "令牌无效、已过期或已吊销，请重新获取 (token invalid, expired or revoked)"
NOT_FOUND = "没有找到这份文书 (not found)"
PURPOSE_LENGTH = 300  # as studentReveal's


def _fault(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers)


def _unauthenticated(message: str) -> JSONResponse:
    return _fault(401, message, "UNAUTHENTICATED", {"WWW-Authenticate": "Bearer"})


def _not_found() -> JSONResponse:
    return _fault(404, NOT_FOUND, "NOT_FOUND")


def _token_of(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[len(BEARER) :].strip() if header.lower().startswith(BEARER) else ""


async def _viewer(request: Request) -> User | str:
    """The signed-in user, or why there is none."""
    header = request.headers.get("authorization", "")
    if not header:
        return NO_TOKEN
    if not header.lower().startswith(BEARER):
        return "Authorization must be 'Bearer <token>'"
    return await authenticate(header[len(BEARER) :].strip()) or BAD_TOKEN


async def _record_form(user: User, pk: int, revealed: bool) -> Form:
    if not await sees(user, PersuasionRecord, pk):  # the same gate as node(id:)
        raise FormNotFound(f"no persuasion record {pk} for this viewer")
    return await persuasion_record_form(pk, user, revealed)


async def _report_form(user: User, pk: int, receiver: str | None, revealed: bool) -> Form:
    receiver_id = parse_global_id(receiver, "Unit")[1] if receiver else None
    if not await sees(user, DropoutReport, pk):
        raise FormNotFound(f"no report {pk} for this viewer")
    return await dropout_report_form(pk, user, receiver_id, revealed)


async def _form_for(user: User, global_id: str, receiver: str | None, revealed: bool) -> Form:
    type_name, pk = parse_global_id(global_id)
    if type_name == "PersuasionRecord" and receiver is None:
        return await _record_form(user, pk, revealed)
    if type_name == "DropoutReport":
        return await _report_form(user, pk, receiver, revealed)
    raise FormNotFound(f"{type_name} has no printable form")


def content_disposition(form: Form) -> str:
    """attachment with an ASCII fallback and the real (Chinese) name per RFC 5987 / RFC 6266."""
    return f"attachment; filename=\"{form.ascii_filename}\"; filename*=UTF-8''{quote(form.filename, safe='')}"


def _purpose(request: Request) -> str | None:
    """`?purpose=`: why the fields are wanted whole; None when not asked."""
    raw = request.query_params.get("purpose")
    if raw is None:
        return None
    if "\x00" in raw:
        raise DomainError(ErrorCode.INVALID, "purpose 含有非法字符 U+0000 (invalid character)", "purpose")
    return required_text(raw, "purpose", PURPOSE_LENGTH)


async def download_document(request: Request) -> Response:
    await clock.refresh()
    source = request.client.host if request.client else ""
    request_id = uuid.uuid4().hex[:12]
    viewer = await _viewer(request)
    if isinstance(viewer, str):
        if viewer == BAD_TOKEN:
            await failed_sign_in(source, _token_of(request), "document", request_id)
        return _unauthenticated(viewer)
    target = request.path_params["global_id"]
    try:
        purpose = _purpose(request)
    except DomainError as error:
        await audit.record(
            AuditAction.DOWNLOAD, actor=viewer, source=source, operation="document", target=target,
            outcome="BAD_USER_INPUT", request_id=request_id,
        )  # fmt: skip
        return _fault(400, error.message, "BAD_USER_INPUT")
    shown = {"fields": "WHOLE" if purpose is not None else "AS_IN_THE_API"}
    if purpose is not None:
        shown["purpose"] = purpose
    try:
        form = await _form_for(viewer, target, request.query_params.get("receiver"), purpose is not None)
    except (BadGlobalId, FormNotFound):
        await audit.record(
            AuditAction.DOWNLOAD, actor=viewer, source=source, operation="document", target=target,
            outcome="NOT_FOUND", request_id=request_id,
        )  # fmt: skip
        return _not_found()
    except NotYoursToReveal:
        await audit.record(
            AuditAction.DOWNLOAD, actor=viewer, source=source, operation="document", target=target,
            outcome="FORBIDDEN", detail=shown, request_id=request_id,
        )  # fmt: skip
        return _fault(403, "无权查看完整信息：请去掉 purpose 下载脱敏版本 (not yours to reveal)", "FORBIDDEN")
    await audit.record(
        AuditAction.DOWNLOAD,
        actor=viewer,
        source=source,
        operation="document",
        target=target,
        detail={"file": form.filename, **shown},
        request_id=request_id,
    )
    headers = {"Content-Disposition": content_disposition(form), "Cache-Control": "no-store"}
    return Response(form.content, media_type=DOCX, headers=headers)
