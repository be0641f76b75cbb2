"""Opaque global ids: base64 of "Type:pk"."""

from __future__ import annotations

from base64 import b64encode

from strawberry.relay import from_base64

MAX_PK = 2**31 - 1


class BadGlobalId(ValueError):
    pass


def global_id(type_name: str, pk: int) -> str:
    """Strawberry's to_base64(type_name, pk), without its checks of the type: every list makes many."""
    return b64encode(f"{type_name}:{pk}".encode()).decode()


def parse_global_id(value: str, expected: str | None = None) -> tuple[str, int]:
    """(type name, pk); raises BadGlobalId if the id is malformed or of another type."""
    try:
        type_name, raw = from_base64(value)
        pk = int(raw)
    except Exception as exc:
        raise BadGlobalId(f"{value!r} 不是有效的编号 (not a valid id)") from exc
    if not 0 < pk <= MAX_PK:  # beyond the id columns (PostgreSQL integer): no such row, and no database error
        raise BadGlobalId(f"{value!r} 不是有效的编号 (not a valid id)")
    if expected is not None and type_name != expected:
        raise BadGlobalId(f"{value!r} 不是 {expected} 的编号 (not the id of a {expected})")
    return type_name, pk
