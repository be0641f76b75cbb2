"""Keyset pagination over one or more disjoint querysets.

A cursor holds the sort values of the row it points at, so a page stays stable while
rows are added before or after it. Several querysets (a unit's own tasks and the tasks
it cooperates on) are paged as one ordered list by merging their ordered heads.
"""

from __future__ import annotations

import base64
import bisect
import heapq
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

import orjson
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)


class CursorError(ValueError):
    """A cursor this listing did not hand out."""


@dataclass(frozen=True)
class SortKey:
    field: str
    descending: bool = False


@dataclass
class Page(Generic[M]):
    items: list[M]
    keys: Sequence[SortKey]
    has_next: bool
    has_previous: bool
    count: Callable[[], Awaitable[int]]

    def cursor(self, item: M) -> str:
        """Made when asked for: most pages are read without their edges' cursors."""
        return encode_cursor(item, self.keys)


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"dt": value.isoformat()}
    return {"d": value.isoformat()} if isinstance(value, date) else value


def _decode_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    return date.fromisoformat(value["d"]) if "d" in value else datetime.fromisoformat(value["dt"])


def encode_cursor(row: Model, keys: Sequence[SortKey]) -> str:
    values = [_encode_value(getattr(row, k.field)) for k in keys]
    return base64.urlsafe_b64encode(orjson.dumps(values)).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise CursorError("游标无效，不是本列表给出的 (this cursor is not one this list handed out)") from exc
    if not isinstance(values, list) or len(values) != len(keys):
        raise CursorError("游标属于另一种排序的列表 (this cursor belongs to a list in another order)")
    try:
        return [_decode_value(v) for v in values]
    except (TypeError, ValueError, KeyError) as exc:
        raise CursorError("游标无效，不是本列表给出的 (this cursor is not one this list handed out)") from exc


def _check_types(model: type[Model], keys: Sequence[SortKey], values: Sequence[Any]) -> None:
    """A cursor's values must have the types of the sort fields: a forged or foreign cursor is refused here,
    not by the database."""
    for key, value in zip(keys, values, strict=True):
        field = model._meta.fields_map[key.field]
        wrong_type = isinstance(value, bool) or not isinstance(value, field.field_type)  # type: ignore[arg-type]
        wrong_type = wrong_type or (isinstance(value, datetime) and field.field_type is date)  # a moment for a day
        if wrong_type or (isinstance(value, datetime) and value.tzinfo is None):
            raise CursorError("游标属于另一个列表 (this cursor belongs to another list)")
        low, high = field.constraints.get("ge"), field.constraints.get("le")
        if (low is not None and value < low) or (high is not None and value > high):  # past the column's range
            raise CursorError("这个游标不是本列表给出的 (this cursor is not one this list handed out)")


def after_condition(keys: Sequence[SortKey], values: Sequence[Any]) -> Q:
    """(a, b) > (va, vb) in the order's own directions, spelled out for every backend."""
    alternatives: list[Q] = []
    for i, key in enumerate(keys):
        equal = {k.field: v for k, v in zip(keys[:i], values[:i], strict=True)}
        op = "lt" if key.descending else "gt"
        alternatives.append(Q(**equal, **{f"{key.field}__{op}": values[i]}))
    return Q(*alternatives, join_type="OR")


def _sort_tuple(row: Model, keys: Sequence[SortKey]) -> tuple[Any, ...]:
    return _sort_values([getattr(row, key.field) for key in keys], keys)


def _sort_values(values: Sequence[Any], keys: Sequence[SortKey]) -> tuple[Any, ...]:
    parts: list[Any] = []
    for key, value in zip(keys, values, strict=True):
        if isinstance(value, datetime):
            value = value.timestamp()
        elif isinstance(value, date):
            value = value.toordinal()
        parts.append(-value if key.descending else value)
    return tuple(parts)


def cursor_values(model: type[Model], keys: Sequence[SortKey], after: str) -> list[Any]:
    """The sort values a cursor of this listing holds, checked; datetimes in UTC, as stored (models/clock.py)."""
    values = decode_cursor(after, keys)
    _check_types(model, keys, values)
    try:
        return [v.astimezone(UTC) if isinstance(v, datetime) else v for v in values]
    except OverflowError as exc:  # a moment before year 1 or after 9999 in UTC
        raise CursorError("this cursor is not one this list handed out") from exc


async def keyset_page(
    queries: Sequence[QuerySet[M]], keys: Sequence[SortKey], first: int, after: str | None
) -> Page[M]:
    """One page of `first` rows after `after`, from querysets whose rows do not overlap."""
    order = [f"-{k.field}" if k.descending else k.field for k in keys]
    heads = list(queries)
    if after:
        condition = after_condition(keys, cursor_values(heads[0].model, keys, after))
        heads = [q.filter(condition) for q in heads]
    fetched = [await q.order_by(*order).limit(first + 1) for q in heads]
    rows = fetched[0] if len(fetched) == 1 else list(heapq.merge(*fetched, key=lambda r: _sort_tuple(r, keys)))
    items = rows[:first]

    async def count() -> int:
        return sum([await q.count() for q in queries])

    return Page(
        items=items,
        keys=keys,
        has_next=len(rows) > first,
        has_previous=after is not None,
        count=count,
    )


def listed_page(model: type[M], rows: Sequence[M], keys: Sequence[SortKey], first: int, after: str | None) -> Page[M]:
    """One page of a list computed rather than queried, its rows already in `keys` order, with the cursors
    keyset_page hands out: the page after a cursor starts at the first row past the cursor's values."""
    start = 0
    if after:
        past = _sort_values(cursor_values(model, keys, after), keys)
        start = bisect.bisect_right(rows, past, key=lambda row: _sort_tuple(row, keys))

    async def count() -> int:
        return len(rows)

    return Page(
        items=list(rows[start : start + first]),
        keys=keys,
        has_next=len(rows) > start + first,
        has_previous=after is not None,
        count=count,
    )
