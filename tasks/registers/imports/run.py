"""An import as a job: store the file, record a PENDING run, and let a worker read it in batches.

The run row is the record: a worker claims it (PENDING → RUNNING), reads the file row by row, checks
each row, writes good rows a batch at a time (each batch and the run's progress in one transaction),
stores each bad row as a conflict, and ends DONE with the summary. With `atomic` (all-or-nothing) it
first reads the whole file without writing; one bad row refuses the file (REFUSED) and nothing is
written; otherwise a second reading writes every row in one transaction. A dry run reads and reports
and writes nothing. A run whose worker died (its heartbeat stopped) is taken up again by the sweep;
writing is an upsert by citizen ID, so doing part of a file twice changes nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from config import settings
from models import clock
from models.citizen_id import mask
from models.imports import ImportConflict, ImportKind, ImportRun, ImportStatus
from models.units import Unit
from models.users import User
from tasks.registers.imports.base import Conflict, FileRefused, Importer, RunContext
from tasks.registers.imports.checks import RowCode, UnitDirectory
from tasks.registers.imports.headers import FIELDS, HeaderMap, HeaderProblem, load_header_map
from tasks.registers.imports.reading import Cell, Row, UnreadableFile, rows_of

log = logging.getLogger("kongchuo.imports")
BATCH = 1_000
HEADER_SEARCH = 10  # lines looked at for the header line
YIELD_EVERY = 50  # rows read between chances for the writer task to go on
MAX_STORED_CONFLICTS = 10_000  # all are counted; the first ten thousand are kept with line and column
STALE_AFTER = timedelta(minutes=5)
MAX_ATTEMPTS = 3
SUMMARY_CONFLICTS = 100


def wall_now() -> datetime:
    """The job's own times are real time, even when the county clock replays another day."""
    return datetime.now(UTC)


def _importer(kind: ImportKind, context: RunContext) -> Importer:
    from tasks.registers.imports.census import CensusImporter
    from tasks.registers.imports.population import PopulationImporter
    from tasks.registers.imports.roll import RollImporter

    chosen = {
        ImportKind.ROLL: RollImporter,
        ImportKind.POPULATION: PopulationImporter,
        ImportKind.CENSUS: CensusImporter,
    }
    return chosen[kind](context)


# ---------------------------------------------------------------- storing the file and recording the run


SAFE_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)


def _stored_path(file_name: str) -> Path:
    folder = settings().import_dir / wall_now().strftime("%Y-%m")
    folder.mkdir(parents=True, exist_ok=True)
    safe = SAFE_NAME.sub("_", Path(file_name).name)[-80:] or "upload"
    return folder / f"{uuid.uuid4().hex[:12]}-{safe}"


class UploadTooLarge(Exception):
    pass


async def store_upload(chunks: AsyncIterator[bytes], file_name: str) -> tuple[Path, str, int]:
    """Stream an upload to var/imports/<month>/, hashing as it goes: (path, sha256, size)."""
    path = _stored_path(file_name)
    digest, size, limit = hashlib.sha256(), 0, settings().max_upload_bytes
    try:
        with path.open("wb") as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(f"文件过大：最多{limit // (1024 * 1024)} MB (file too large)")
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


async def store_local_file(source: Path) -> tuple[Path, str, int]:
    """The command line's file, copied in like an upload, so the run keeps what it read."""

    async def chunks() -> AsyncIterator[bytes]:
        with source.open("rb") as handle:
            while block := handle.read(1 << 20):
                yield block

    return await store_upload(chunks(), source.name)


async def record_run(
    kind: ImportKind,
    *,
    file_name: str,
    stored: tuple[Path, str, int],
    unit: Unit | None,
    user: User | None,
    uploaded_by_name: str,
    dry_run: bool,
    atomic: bool,
    as_of: date | None = None,
) -> ImportRun:
    path, sha256, size = stored
    return await ImportRun.create(
        kind=kind,
        file_name=file_name[:200],
        sha256=sha256,
        stored_path=str(path),
        size_bytes=size,
        uploaded_by=user,
        uploaded_by_name=uploaded_by_name[:100],
        unit=unit,
        dry_run=dry_run,
        atomic=atomic,
        as_of=as_of,
        status=ImportStatus.PENDING,
        created_at=wall_now(),
    )


# ---------------------------------------------------------------- running it


@dataclass
class Tally:
    rows: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    ignored: int = 0
    conflicts: int = 0
    by_code: Counter[str] = field(default_factory=Counter)
    shown: list[dict[str, object]] = field(default_factory=list)  # the first conflicts, for the summary


async def claim(run_id: int) -> ImportRun | None:
    """Take a pending run (or one whose worker stopped beating) for this worker; None if another has it."""
    now = wall_now()
    claimable = Q(status=ImportStatus.PENDING) | Q(status=ImportStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
    taken = await ImportRun.filter(claimable, id=run_id).update(
        status=ImportStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        rows_done=0,
        imported=0,
        updated=0,
        unchanged=0,
        ignored=0,
        conflict_count=0,
    )
    if not taken:
        return None
    await ImportConflict.filter(run_id=run_id).delete()  # an earlier attempt's, if a worker died mid-way
    return await ImportRun.get(id=run_id)


async def execute(run_id: int) -> ImportRun | None:
    """The job: run one import to its end. Safe to call twice: the second call finds it taken or done."""
    run = await claim(run_id)
    if run is None:
        return await ImportRun.get_or_none(id=run_id)
    if run.attempts > MAX_ATTEMPTS:
        await _finish(run, Tally(), ImportStatus.FAILED, "FAILED", "多次尝试均未完成 (gave up after several attempts)")
        return run
    await clock.refresh()
    try:
        tally = await _run(run)
    except FileRefused as refusal:
        await _finish(run, Tally(), ImportStatus.REFUSED, refusal.code.value, refusal.message)
    except Exception as exc:
        log.exception("import %s failed", run.id)
        await _finish(run, Tally(), ImportStatus.FAILED, "INTERNAL_ERROR", f"导入出错 (import failed): {exc!r}"[:500])
    else:
        refused = run.atomic and tally.conflicts > 0
        status = ImportStatus.REFUSED if refused else ImportStatus.DONE
        message = "有错误行，按“全部或不导入”未导入任何数据 (all-or-nothing: bad rows, nothing written)"
        await _finish(run, tally, status, "ROWS_REJECTED" if refused else "", message if refused else "")
    await run.refresh_from_db()
    log.info(
        "import %s %s %s: %s rows, +%s ~%s =%s, %s ignored, %s conflict(s)%s",
        run.id,
        run.kind.value,
        run.status.value,
        run.rows_done,
        run.imported,
        run.updated,
        run.unchanged,
        run.ignored,
        run.conflict_count,
        " (dry run)" if run.dry_run else "",
    )
    return run


async def _context(run: ImportRun) -> RunContext:
    from tasks.access import import_scope

    user = await User.get_or_none(id=run.uploaded_by_id) if run.uploaded_by_id else None
    unit = await Unit.get_or_none(id=run.unit_id) if run.unit_id else None
    return RunContext(
        run=run,
        unit=unit,
        school_scope=import_scope(run.kind, unit, user),
        directory=await UnitDirectory.load(),
        today=clock.today(),
        as_of=run.as_of or clock.today(),
    )


async def _run(run: ImportRun) -> Tally:
    headers = await load_header_map(run.kind)
    context = await _context(run)
    if run.atomic and not run.dry_run:
        checked = await _pass(run, _importer(run.kind, context), headers, write=False, final=False)
        if checked.conflicts:
            return checked
        async with in_transaction():
            return await _pass(run, _importer(run.kind, context), headers, write=True, final=True, per_batch=False)
    return await _pass(run, _importer(run.kind, context), headers, write=not run.dry_run, final=True)


async def _pass(
    run: ImportRun, importer: Importer, headers: HeaderMap, *, write: bool, final: bool, per_batch: bool = True
) -> Tally:
    """One reading of the file. `final`: its counts are the run's (the check pass of all-or-nothing is not,
    unless it refuses). `per_batch`: each batch in its own transaction (else the caller holds one)."""
    tally = Tally()
    path = Path(run.stored_path)

    async def set_total(total: int) -> None:
        await ImportRun.filter(id=run.id).update(rows_total=total)

    totals: list[int] = []
    writing: asyncio.Task[None] | None = None
    try:
        rows = rows_of(path, totals.append)
        header = next(rows, None)
        if header is None:
            raise FileRefused(RowCode.EMPTY, "文件是空的 (the file has no header line)")
        if totals:
            await set_total(totals[0])
        columns = _header_line(rows, header, headers)
        seen: dict[int, int] = {}  # first 17 digits of each good row's ID → its line (duplicates in the file)
        batch: list[object] = []
        conflicts: list[Conflict] = []

        async def hand_over(batch: list[object], conflicts: list[Conflict]) -> None:
            """The batch goes to a writer task while the next one is read: the database works meanwhile."""
            nonlocal writing
            if writing is not None:
                await writing
            writing = asyncio.create_task(
                _flush(run, importer, batch, conflicts, tally, tally.rows, columns, write, final, per_batch)
            )

        index = {name: place[0] for name, place in columns.items()}
        for row in rows:
            tally.rows += 1
            if tally.rows % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the writer read the database's answers
            cells = row.cells

            def value(name: str, cells: list[Cell] = cells, width: int = len(cells)) -> Cell:
                at = index.get(name)
                return cells[at] if at is not None and at < width else None

            record, problems = importer.parse(row.line, value)
            if record is not None and not problems:
                key = int(record.citizen_id[:17])
                first = seen.get(key)
                if first is not None:
                    problems = [
                        Conflict(
                            row.line,
                            "citizen_id",
                            mask(record.citizen_id),
                            RowCode.DUPLICATE_IN_FILE,
                            f"与第{first}行身份证号重复 (duplicate of line {first})",
                        )
                    ]
                else:
                    seen[key] = row.line
            if problems:
                conflicts.extend(problems)
                tally.ignored += 1
            else:
                batch.append(record)
            if len(batch) >= BATCH or tally.rows % BATCH == 0:
                await hand_over(batch, conflicts)
                batch, conflicts = [], []
        await hand_over(batch, conflicts)
        await writing  # type: ignore[misc]
    except UnreadableFile as exc:
        raise FileRefused(RowCode.UNREADABLE, str(exc)) from exc
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
            with contextlib.suppress(BaseException):
                await writing
    return tally


def _header_line(rows: Iterator[Row], first: Row, headers: HeaderMap) -> dict[str, tuple[int, str]]:
    """The header line: the first line, or one of the next few when a title (呼图壁县……花名册) stands above it."""
    line: Row | None = first
    problem: HeaderProblem | None = None
    for _ in range(HEADER_SEARCH):
        if line is None:
            break
        try:
            return headers.columns(line.cells)
        except HeaderProblem as refused:
            problem = problem or refused
        line = next(rows, None)
    assert problem is not None
    raise FileRefused(RowCode.MISSING_COLUMN, problem.message) from problem


async def _flush(
    run: ImportRun,
    importer: Importer,
    batch: list[object],
    conflicts: list[Conflict],
    tally: Tally,
    rows_done: int,
    columns: dict[str, tuple[int, str]],
    write: bool,
    final: bool,
    per_batch: bool,
) -> None:
    async def work() -> None:
        outcome = await importer.apply(batch, write=write) if batch else None
        if outcome is not None:
            tally.imported += outcome.imported
            tally.updated += outcome.updated
            tally.unchanged += outcome.unchanged
            tally.ignored += outcome.rejected
            conflicts.extend(outcome.conflicts)
        if conflicts:
            await _store_conflicts(run, conflicts, tally, columns)
        await ImportRun.filter(id=run.id).update(
            rows_done=rows_done,
            heartbeat_at=wall_now(),
            **(_counts(tally) if final else {}),
        )

    if per_batch and write:
        async with in_transaction():
            await work()
    else:
        await work()


def _counts(tally: Tally) -> dict[str, int]:
    return {
        "imported": tally.imported,
        "updated": tally.updated,
        "unchanged": tally.unchanged,
        "ignored": tally.ignored,
        "conflict_count": tally.conflicts,
    }


async def _store_conflicts(
    run: ImportRun, conflicts: list[Conflict], tally: Tally, columns: dict[str, tuple[int, str]]
) -> None:
    rows = []
    for conflict in sorted(conflicts, key=lambda c: c.line):
        column = columns[conflict.field][1] if conflict.field in columns else FIELDS.get(conflict.field, ("",))[0]
        tally.by_code[conflict.code.value] += 1
        if len(tally.shown) < SUMMARY_CONFLICTS:
            tally.shown.append(
                {"line": conflict.line, "column": column, "value": conflict.value, "code": conflict.code.value,
                 "message": conflict.message}
            )  # fmt: skip
        if tally.conflicts < MAX_STORED_CONFLICTS:
            rows.append(
                ImportConflict(
                    run_id=run.id,
                    line=conflict.line,
                    column=column[:100],
                    value=conflict.value[:200],
                    code=conflict.code.value,
                    message=conflict.message[:300],
                )
            )
        tally.conflicts += 1
    if rows:
        await ImportConflict.bulk_create(rows)


async def _finish(run: ImportRun, tally: Tally, status: ImportStatus, code: str, message: str) -> None:
    current = await ImportRun.get(id=run.id)
    counts = {
        "imported": current.imported,
        "updated": current.updated,
        "unchanged": current.unchanged,
        "ignored": current.ignored,
    }
    if status is ImportStatus.REFUSED and tally.rows:  # all-or-nothing: nothing was taken
        counts = {"imported": 0, "updated": 0, "unchanged": 0, "ignored": tally.rows}
    summary = {
        "status": {ImportStatus.DONE: "WARNING" if tally.conflicts else "OK"}.get(status, "ERROR"),
        "dryRun": run.dry_run,
        "atomic": run.atomic,
        "rows": tally.rows or current.rows_done,
        "importCount": {**counts, "deleted": 0},
        "conflictCount": tally.conflicts,
        "conflictsByCode": dict(tally.by_code),
        "conflicts": tally.shown,
        "error": {"code": code, "message": message} if code else None,
    }
    await ImportRun.filter(id=run.id).update(
        status=status,
        finished_at=wall_now(),
        heartbeat_at=wall_now(),
        summary=summary,
        error_code=code,
        error=message,
        rows_total=tally.rows or current.rows_total,
        rows_done=tally.rows or current.rows_done,
        conflict_count=tally.conflicts,
        **counts,
    )


async def pending_runs() -> list[int]:
    """Runs a worker should take: PENDING, or RUNNING with a heartbeat older than STALE_AFTER."""
    stale = wall_now() - STALE_AFTER
    query = ImportRun.filter(Q(status=ImportStatus.PENDING) | Q(status=ImportStatus.RUNNING, heartbeat_at__lt=stale))
    return list(await query.order_by("id").limit(20).values_list("id", flat=True))


async def run_pending() -> int:
    """The sweep's part: every pending import, in order. Returns how many it ran."""
    done = 0
    for run_id in await pending_runs():
        run = await execute(run_id)
        done += run is not None
    return done


def progress_of(run: ImportRun) -> float:
    if run.status in (ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED):
        return 1.0
    return min(run.rows_done / run.rows_total, 0.999) if run.rows_total else 0.0


Progress = Callable[[ImportRun], object]
