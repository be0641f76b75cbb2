"""Relay connections with keyset cursors, and the page-size rule every list shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
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
    _cursor: strawberry.Private[Callable[[], str]]

    @strawberry.field
    def cursor(self) -> str:
        return self._cursor()

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
        raise BadUserInput(
            f"first 应在 1 到 {limit} 之间，下一页请用 after: endCursor "
            f"(first must be between 1 and {limit}; ask for the next page with after: endCursor)"
        )
    return first


async def paged(fetch: Callable[[], Awaitable[Page]], wrap: Callable[[object], T]) -> Connection[T]:
    try:
        page = await fetch()
    except CursorError as exc:
        raise BadUserInput(f"after: {exc}") from exc
    return connection_of([wrap(row) for row in page.items], page)


def connection_of(nodes: Sequence[T], page: Page) -> Connection[T]:
    """`nodes` are the page's items as GraphQL objects, in the same order."""
    items = page.items
    return Connection(
        edges=[Edge(_cursor=partial(page.cursor, item), node=n) for item, n in zip(items, nodes, strict=True)],
        nodes=list(nodes),
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=page.cursor(items[0]) if items else None,
            end_cursor=page.cursor(items[-1]) if items else None,
        ),
        _count=page.count,
    )
