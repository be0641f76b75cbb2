"""Auditing what the API does: every mutation (a write, or a refused attempt), as one line each."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import FieldExtension
from strawberry.types import Info

from models import audit
from models.audit import AuditAction


def client_address(info: Info) -> str:
    request = info.context.request
    client = getattr(request, "client", None)
    return client.host if client else ""


async def record(info: Info, action: AuditAction, operation: str, target: str = "", **kwargs: Any) -> None:
    context = info.context
    await audit.record(
        action,
        actor=context.viewer,
        source=client_address(info),
        operation=operation,
        target=target,
        request_id=context.request_id,
        **kwargs,
    )


def _input_fields(info: Info, value: object) -> list[str]:
    """Which input fields were given, by their names in the API; never their values (a child's ID, a phone)."""
    definition = getattr(value, "__strawberry_definition__", None)
    if definition is None or not dataclasses.is_dataclass(value):
        return []
    names = info.schema.config.name_converter
    return sorted(names.get_graphql_name(f) for f in definition.fields if getattr(value, f.python_name) is not None)


class AuditedWrite(FieldExtension):
    """Put on every mutation: records who tried what on which object, and whether it was refused."""

    def resolve(self, next_: Callable[..., Any], source: Any, info: Info, **kwargs: Any) -> Any:
        raise NotImplementedError("mutations are async")

    async def resolve_async(self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any) -> Any:
        operation = info.field_name
        target = str(kwargs.get("id") or "")
        detail = {"input": _input_fields(info, kwargs.get("input"))}
        try:
            result = await next_(source, info, **kwargs)
        except GraphQLError as fault:
            code = (fault.extensions or {}).get("code", "ERROR")
            await record(info, AuditAction.WRITE, operation, target, outcome=str(code), detail=detail)
            raise
        except Exception:  # unforeseen: the attempt is on the record too, under the request id the log shows
            await record(info, AuditAction.WRITE, operation, target, outcome="INTERNAL_SERVER_ERROR", detail=detail)
            raise
        refusals = [e.code.value for e in getattr(result, "user_errors", [])]
        await record(
            info, AuditAction.WRITE, operation, target, outcome=refusals[0] if refusals else "OK", detail=detail
        )
        return result
