"""POST /imports/{kind}: a file for import, sent as the request body with a bearer token.

    curl -H "Authorization: Bearer $TOKEN" --data-binary @人口.xlsx \
         "http://127.0.0.1:8000/imports/population?filename=人口.xlsx&dryRun=true"

kind is population (公安局), roll (学籍) or census (学户册); `filename` (or the X-File-Name header,
percent-encoded) names the file; `dryRun=true` reports without writing; `atomic=true` (all or
nothing) writes nothing if any row is bad; `asOf=YYYY-MM-DD` is the day the file speaks for (default
today): a resident already known from a newer file is not set back by it. The file is streamed to
var/imports/, the upload is audited, and the answer (202) holds the ImportRun's id: follow it with
`importRun(id:)` or `node(id:)`.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.downloads import _fault, _unauthenticated, _viewer
from api.ids import global_id
from models import audit, clock
from models.audit import AuditAction
from models.imports import ImportKind
from models.units import Unit, UnitKind
from tasks.access import may_import
from tasks.machinery import dispatch
from tasks.registers.imports.run import UploadTooLarge, record_run, store_upload

KINDS = {"population": ImportKind.POPULATION, "roll": ImportKind.ROLL, "census": ImportKind.CENSUS}
TRUE = {"1", "true", "yes", "on"}


def _flag(request: Request, *names: str) -> bool:
    return any(request.query_params.get(n, "").lower() in TRUE for n in names)


async def upload_import(request: Request) -> JSONResponse:
    await clock.refresh()
    viewer = await _viewer(request)
    if isinstance(viewer, str):
        return _unauthenticated(viewer)
    source = request.client.host if request.client else ""
    kind = KINDS.get(request.path_params["kind"])
    if kind is None:
        return _fault(404, "导入类型应为 population、roll 或 census (unknown import kind)", "NOT_FOUND")
    file_name = unquote(request.query_params.get("filename") or request.headers.get("x-file-name", "")).strip()
    if not file_name:
        return _fault(400, "请用 ?filename= 给出文件名 (filename required)", "BAD_USER_INPUT")
    if request.headers.get("content-type", "").startswith("multipart/"):
        message = "请把文件本身作为请求体发送 (send the file itself as the body, not multipart)"
        return _fault(415, message, "BAD_USER_INPUT")
    unit = await Unit.get(id=viewer.unit_id)
    detail: dict[str, object] = {"kind": kind.value, "file": file_name[:200]}
    if not may_import(viewer, kind.value, unit.code, unit.kind is UnitKind.SCHOOL):
        await audit.record(
            AuditAction.WRITE, actor=viewer, source=source, operation="importUpload", outcome="FORBIDDEN", detail=detail
        )
        return _fault(403, "你的单位不能导入这类数据 (your unit may not import this kind of file)", "FORBIDDEN")
    as_of = None
    if request.query_params.get("asOf"):
        try:
            as_of = date.fromisoformat(request.query_params["asOf"])
        except ValueError:
            as_of = None
        if as_of is None or as_of > clock.today():
            return _fault(
                400, "asOf 应为不晚于今天的日期 YYYY-MM-DD (asOf: a date, not in the future)", "BAD_USER_INPUT"
            )
    dry_run = _flag(request, "dryRun", "dry_run")
    atomic = _flag(request, "atomic", "allOrNothing", "all_or_nothing")
    try:
        stored = await store_upload(request.stream(), file_name)
    except UploadTooLarge as exc:
        return _fault(413, str(exc), "PAYLOAD_TOO_LARGE")
    if stored[2] == 0:
        stored[0].unlink(missing_ok=True)
        return _fault(400, "文件是空的 (empty body)", "BAD_USER_INPUT")
    run = await record_run(
        kind,
        file_name=file_name,
        stored=stored,
        unit=unit,
        user=viewer,
        uploaded_by_name=viewer.name,
        dry_run=dry_run,
        atomic=atomic,
        as_of=as_of,
    )
    run_id = global_id("ImportRun", run.id)
    await audit.record(
        AuditAction.WRITE,
        actor=viewer,
        source=source,
        operation="importUpload",
        target=run_id,
        detail={**detail, "sha256": run.sha256, "bytes": run.size_bytes, "dryRun": dry_run, "atomic": atomic},
    )
    await dispatch.nudge_import(run.id)
    body = {"importRun": {"id": run_id, "status": run.status.value, "fileName": run.file_name, "sha256": run.sha256}}
    return JSONResponse(body, status_code=202)
