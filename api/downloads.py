"""GET /documents/{id}.docx: a persuasion record (附件2) or a suspected-dropout report (附件3), ready to print.

The id is the record's or report's opaque global id; `?receiver=<Unit id>` gives a report's copy
addressed to one receiver. A bearer token is required, and a case the user may not see answers
404 exactly like an id that does not exist.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.ids import BadGlobalId, parse_global_id
from models import audit, clock
from models.accounts import authenticate
from models.audit import AuditAction
from models.cases import DropoutReport, PersuasionRecord
from models.users import User
from tasks.access import sees
from tasks.ladder.forms import Form, FormNotFound, dropout_report_form, persuasion_record_form

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BEARER = "bearer "
NO_TOKEN = "请先登录：Authorization: Bearer <token> (authentication required)"
BAD_TOKEN = "令牌无效、已过期或已吊销，请重新获取 (token invalid, expired or revoked)"
NOT_FOUND = "没有找到这份文书 (not found)"


def _fault(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status, headers)


def _unauthenticated(message: str) -> JSONResponse:
    return _fault(401, message, "UNAUTHENTICATED", {"WWW-Authenticate": "Bearer"})


def _not_found() -> JSONResponse:
    return _fault(404, NOT_FOUND, "NOT_FOUND")


async def _viewer(request: Request) -> User | str:
    """The signed-in user, or why there is none."""
    header = request.headers.get("authorization", "")
    if not header:
        return NO_TOKEN
    if not header.lower().startswith(BEARER):
        return "Authorization must be 'Bearer <token>'"
    return await authenticate(header[len(BEARER) :].strip()) or BAD_TOKEN


async def _record_form(user: User, pk: int) -> Form:
    if not await sees(user, PersuasionRecord, pk):  # the same gate as node(id:)
        raise FormNotFound(f"no persuasion record {pk} for this viewer")
    return await persuasion_record_form(pk)


async def _report_form(user: User, pk: int, receiver: str | None) -> Form:
    receiver_id = parse_global_id(receiver, "Unit")[1] if receiver else None
    if not await sees(user, DropoutReport, pk):
        raise FormNotFound(f"no report {pk} for this viewer")
    return await dropout_report_form(pk, receiver_id)


async def _form_for(user: User, global_id: str, receiver: str | None) -> Form:
    type_name, pk = parse_global_id(global_id)
    if type_name == "PersuasionRecord" and receiver is None:
        return await _record_form(user, pk)
    if type_name == "DropoutReport":
        return await _report_form(user, pk, receiver)
    raise FormNotFound(f"{type_name} has no printable form")


def content_disposition(form: Form) -> str:
    """attachment with an ASCII fallback and the real (Chinese) name per RFC 5987 / RFC 6266."""
    return f"attachment; filename=\"{form.ascii_filename}\"; filename*=UTF-8''{quote(form.filename, safe='')}"


async def download_document(request: Request) -> Response:
    await clock.refresh()
    viewer = await _viewer(request)
    if isinstance(viewer, str):
        return _unauthenticated(viewer)
    target = request.path_params["global_id"]
    source = request.client.host if request.client else ""
    try:
        form = await _form_for(viewer, target, request.query_params.get("receiver"))
    except (BadGlobalId, FormNotFound):
        await audit.record(AuditAction.DOWNLOAD, actor=viewer, source=source, target=target[:120], outcome="NOT_FOUND")
        return _not_found()
    await audit.record(
        AuditAction.DOWNLOAD,
        actor=viewer,
        source=source,
        operation="document",
        target=target,
        detail={"file": form.filename},
    )
    headers = {"Content-Disposition": content_disposition(form), "Cache-Control": "no-store"}
    return Response(form.content, media_type=DOCX, headers=headers)
