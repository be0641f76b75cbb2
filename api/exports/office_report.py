"""GET /exports/office-reports/<OfficeReport id>.xlsx and .docx: a report the product wrote (普九月报, the
quarterly 通报, the supervision evaluation) as a spreadsheet or a Chinese document.

A bearer token is required; a report the viewer may not see answers 404 like one that does not exist;
every download is in the audit trail.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from api.downloads import DOCX, _not_found, _unauthenticated, _viewer
from api.ids import BadGlobalId, parse_global_id
from models import audit, clock
from models.audit import AuditAction
from models.office import OfficeReport
from tasks.ladder.forms import safe_filename
from tasks.office.reports.generate import report_visible
from tasks.office.reports.render import to_docx, to_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"xlsx": (XLSX, to_xlsx), "docx": (DOCX, to_docx)}


async def download_office_report(request: Request) -> Response:
    await clock.refresh()
    viewer = await _viewer(request)
    if isinstance(viewer, str):
        return _unauthenticated(viewer)
    target, extension = request.path_params["global_id"], request.path_params["extension"]
    source = request.client.host if request.client else ""
    report = None
    try:
        pk = parse_global_id(target, "OfficeReport")[1]
        report = await OfficeReport.get_or_none(id=pk)
    except BadGlobalId:
        pass
    if report is None or extension not in FORMATS or not await report_visible(viewer, report):
        await audit.record(AuditAction.DOWNLOAD, actor=viewer, source=source, target=target[:120], outcome="NOT_FOUND")
        return _not_found()
    media, render = FORMATS[extension]
    filename = f"{safe_filename(report.title).removesuffix('.docx')}.{extension}"
    await audit.record(
        AuditAction.DOWNLOAD, actor=viewer, source=source, operation="office-report", target=target,
        detail={"file": filename},
    )  # fmt: skip
    disposition = (
        f"attachment; filename=\"report-{report.id}.{extension}\"; filename*=UTF-8''{quote(filename, safe='')}"
    )
    headers = {"Content-Disposition": disposition, "Cache-Control": "no-store"}
    return Response(render(report), media_type=media, headers=headers)
