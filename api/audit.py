"""Auditing what the API does: every mutation (a write, or a refused attempt), as one line each."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    ObjectValueNode,
    OperationType,
    StringValueNode,
    VariableNode,
    get_operation_ast,
)
from strawberry.extensions import FieldExtension, SchemaExtension
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
        info.context.writes_audited += 1
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


def _root_writes(
    document: DocumentNode, operation_name: str | None, variables: Mapping[str, Any] | None
) -> list[tuple[str, str, list[str]]]:
    """(mutation, target id, input field names) for each root field of the document's mutation, as far as
    the document says them: the id as written or as its variable holds it."""
    try:
        operation = get_operation_ast(document, operation_name)
    except GraphQLError:
        return []
    if operation is None or operation.operation is not OperationType.MUTATION:
        return []
    values = variables or {}

    def given(node: Any) -> Any:
        return values.get(node.name.value) if isinstance(node, VariableNode) else node

    writes = []
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            continue
        arguments = {a.name.value: given(a.value) for a in selection.arguments or ()}
        target = arguments.get("id")
        target = target.value if isinstance(target, StringValueNode) else target if isinstance(target, str) else ""
        shape = arguments.get("input")
        if isinstance(shape, ObjectValueNode):
            names = sorted(f.name.value for f in shape.fields)
        elif isinstance(shape, Mapping):
            names = sorted(str(k) for k in shape)
        else:
            names = []
        writes.append((selection.name.value, target, names))
    return writes


async def record_refused_writes(
    context: Any,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    outcome: str,
) -> None:
    """A mutation refused before any resolver ran (no valid token, invalid, a NUL, too costly, over a
    WebSocket) is on the record like one refused by its resolver: one WRITE line per root field."""
    request = getattr(context, "request", None)
    client = getattr(request, "client", None)
    for operation, target, names in _root_writes(document, operation_name, variables):
        await audit.record(
            AuditAction.WRITE,
            actor=context.viewer,
            source=client.host if client else "",
            operation=operation,
            target=target,
            outcome=outcome,
            detail={"input": names},
            request_id=context.request_id,
        )


class AuditRefusedWrites(SchemaExtension):
    """AuditedWrite records the mutations that reach their resolver; this records the others."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        run = self.execution_context
        context = run.context
        result = run.result
        if run.graphql_document is None or getattr(context, "writes_audited", 1) or result is None:
            return
        errors = getattr(result, "errors", None) or run.pre_execution_errors
        if not errors:
            return
        code = (errors[0].extensions or {}).get("code") or "GRAPHQL_VALIDATION_FAILED"
        await record_refused_writes(context, run.graphql_document, run.operation_name, run.variables, str(code))
