"""Relay connections with keyset cursors, and the page-size rule every list shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import strawberry

from api.errors import BadUserInput
from config import settings
from models.paging import CursorError, Page

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 20


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    nodes: list[T]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many items the whole list holds, across every page.")
    async def total_count(self) -> int:
        return await self._count()


def page_size(first: int | None) -> int:
    limit = settings().max_page_size
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 1 or first > limit:
        raise BadUserInput(f"first must be between 1 and {limit}; ask for the next page with after: endCursor")
    return first


async def paged(fetch: Callable[[], Awaitable[Page]], wrap: Callable[[object], T]) -> Connection[T]:
    try:
        page = await fetch()
    except CursorError as exc:
        raise BadUserInput(f"after: {exc}") from exc
    return connection_of([wrap(row) for row in page.items], page.cursors, page)


def connection_of(nodes: Sequence[T], cursors: Sequence[str], page: Page) -> Connection[T]:
    return Connection(
        edges=[Edge(cursor=c, node=n) for c, n in zip(cursors, nodes, strict=True)],
        nodes=list(nodes),
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
        _count=page.count,
    )
