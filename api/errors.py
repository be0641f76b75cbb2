"""Errors as the contract shows them: userErrors in payloads, coded top-level faults."""

from __future__ import annotations

from enum import StrEnum

import strawberry
from graphql import GraphQLError

from tasks.errors import DomainError, ErrorCode

UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode", description="Why a mutation was refused.")


class FaultCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


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
