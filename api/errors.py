"""Errors as the contract shows them: userErrors in payloads, coded top-level faults."""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from typing import Any

import strawberry
from graphql import GraphQLError

from config import settings
from models.db import database_unavailable
from tasks.errors import DomainError, ErrorCode

log = logging.getLogger("kongchuo.api")
UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode", description="Why a mutation was refused.")


class FaultCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"  # the database is out of reach for a moment: retry


UNAVAILABLE_MESSAGE = "数据库暂时无法访问，请稍后重试 (database unavailable, retry shortly)"


class ApiFault(GraphQLError):
    """A top-level error with `extensions.code`."""

    code: FaultCode = FaultCode.BAD_USER_INPUT

    def __init__(self, message: str, code: FaultCode | None = None) -> None:
        self.code = code or self.code
        super().__init__(message, extensions={"code": self.code.value})


class Unauthenticated(ApiFault):
    code = FaultCode.UNAUTHENTICATED


class BadUserInput(ApiFault):
    code = FaultCode.BAD_USER_INPUT


class Forbidden(ApiFault):
    code = FaultCode.FORBIDDEN


@strawberry.type(description="A business rule refused the mutation; nothing was changed.")
class UserError:
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    message: str
    code: UserErrorCode  # type: ignore[valid-type]


def user_error(error: DomainError) -> UserError:
    return UserError(field=error.field, message=error.message, code=error.code)


SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def without_suggestions(message: str) -> str:
    """graphql-core's "Did you mean 'taskQueue'?" names fields and types: with introspection off, it must not."""
    return SUGGESTION.sub("", message)


def public_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """Our faults keep their code; input faults say what was wrong; the unforeseen is masked behind a request id."""
    original = error.original_error
    fault = error if isinstance(error, ApiFault) else original if isinstance(original, ApiFault) else None
    formatted = error.formatted
    if not settings().introspection:
        formatted["message"] = without_suggestions(formatted["message"])
    if fault is not None:
        formatted["extensions"] = {"code": fault.code.value}
        return formatted
    # An exception with neither a path nor a place in the document escaped from outside the resolvers (a
    # subscription's source, an extension): unforeseen too.
    escaped = original is not None and not isinstance(original, GraphQLError) and not error.nodes
    if error.path is None and not escaped:  # before execution: syntax, validation, limits, a variable that won't coerce
        if "code" not in (formatted.get("extensions") or {}):
            code = FaultCode.BAD_USER_INPUT.value if original is not None else "GRAPHQL_VALIDATION_FAILED"
            formatted["extensions"] = {"code": code}
        return formatted
    if database_unavailable(original):
        log.warning("database unavailable %s at %s: %r", request_id, error.path, original)
        unavailable: dict[str, Any] = {"message": UNAVAILABLE_MESSAGE, "path": error.path}
        unavailable["extensions"] = {"code": FaultCode.SERVICE_UNAVAILABLE.value, "requestId": request_id}
        return unavailable
    log.error("internal error %s at %s", request_id, error.path, exc_info=original)
    masked: dict[str, Any] = {"message": f"服务器内部错误，请把编号 {request_id} 告诉管理员 (internal error)"}
    if error.path is not None:
        masked["path"] = error.path
    masked["extensions"] = {"code": FaultCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id}
    return masked
