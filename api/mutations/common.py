"""What every mutation shares: decoding ids into the domain's terms, and refusing with a userError."""

from __future__ import annotations

import strawberry

from api.ids import BadGlobalId, parse_global_id
from tasks.errors import DomainError, ErrorCode


def pk_of(value: strawberry.ID, type_name: str, field: str) -> int:
    """The row id behind a global id; a malformed or foreign id is NOT_FOUND on that field."""
    try:
        return parse_global_id(value, type_name)[1]
    except BadGlobalId as exc:
        raise DomainError(ErrorCode.NOT_FOUND, f"没有找到 (not found): {exc}", field) from exc
