"""importRun(id) and importRuns: uploaded files, their progress and their results."""

from __future__ import annotations

import strawberry

from api.context import Info, require_viewer
from api.ids import BadGlobalId, parse_global_id
from api.types.connection import Connection, page_size, paged
from api.types.imports import ImportKindEnum, ImportRunType, ImportStatusEnum
from models.imports import ImportRun
from models.paging import SortKey, keyset_page
from models.users import User
from tasks.access import visible_import_runs

NEWEST_FIRST = (SortKey("id", descending=True),)


async def visible_import_run(viewer: User, pk: int) -> ImportRun | None:
    return await ImportRun.filter(visible_import_runs(viewer), id=pk).first()


@strawberry.type
class ImportQueries:
    @strawberry.field(description="One import by its id; null if it does not exist or is not yours to see.")
    async def import_run(self, info: Info, id: strawberry.ID) -> ImportRunType | None:
        viewer = require_viewer(info)
        try:
            pk = parse_global_id(id, "ImportRun")[1]
        except BadGlobalId:
            return None
        row = await visible_import_run(viewer, pk)
        return ImportRunType.from_row(row) if row else None

    @strawberry.field(description="Imports of your unit (all of them for the office), newest first.")
    async def import_runs(
        self,
        info: Info,
        kind: ImportKindEnum | None = None,  # type: ignore[valid-type]
        status: ImportStatusEnum | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ImportRunType]:
        viewer = require_viewer(info)
        size = page_size(first)
        query = ImportRun.filter(visible_import_runs(viewer))
        if kind is not None:
            query = query.filter(kind=kind)
        if status is not None:
            query = query.filter(status=status)
        return await paged(lambda: keyset_page([query], NEWEST_FIRST, size, after), ImportRunType.from_row)
