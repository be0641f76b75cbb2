"""Domain errors: a business failure with a code a client can act on."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    STALE_VERSION = "STALE_VERSION"
    ALREADY_CLAIMED = "ALREADY_CLAIMED"
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_LONG = "TOO_LONG"
    SAME_UNIT = "SAME_UNIT"
    DUPLICATE = "DUPLICATE"
    NOT_A_HEAD_TEACHER = "NOT_A_HEAD_TEACHER"  # not a head teacher (班主任) of that school
    WRONG_SCHOOL = "WRONG_SCHOOL"  # the class, pupil or roster belongs to another school
    ROLL_CONFLICT = "ROLL_CONFLICT"  # a movement that does not fit the pupil's roll status


class DomainError(Exception):
    def __init__(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def optional_text(value: str | None, field: str, max_length: int) -> str:
    """Stripped, "" when not given; TOO_LONG past the column's length (the database would refuse it)."""
    text = (value or "").strip()
    if len(text) > max_length:
        raise DomainError(ErrorCode.TOO_LONG, f"{field} 最多 {max_length} 字 (too long)", field)
    return text


def required_text(value: str | None, field: str, max_length: int = 2000) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError(ErrorCode.REQUIRED, f"{field} 不能为空 (required)", field)
    if len(text) > max_length:
        raise DomainError(ErrorCode.TOO_LONG, f"{field} 最多 {max_length} 字 (too long)", field)
    return text
