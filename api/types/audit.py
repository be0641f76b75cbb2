"""The audit trail as the office and administrators read it. There is no mutation of it."""

from __future__ import annotations

import datetime as dt

import strawberry
from strawberry.scalars import JSON

from models import clock
from models.audit import AuditAction, AuditEntry

AuditActionEnum = strawberry.enum(AuditAction, name="AuditAction")


@strawberry.type(description="One line of the append-only audit trail.")
class AuditEntryType:
    at: dt.datetime
    action: AuditActionEnum  # type: ignore[valid-type]
    actor_id: strawberry.ID | None = strawberry.field(description="The user's global id; kept even if they are gone.")
    actor_name: str
    source: str = strawberry.field(description="The client's address, or cli for the command line.")
    operation: str
    target: str
    outcome: str = strawberry.field(description="OK, or the code it was refused or failed with.")
    detail: JSON
    request_id: str

    @classmethod
    def from_row(cls, row: AuditEntry) -> AuditEntryType:
        from api.ids import global_id

        return cls(
            at=clock.local(row.at),
            action=row.action,
            actor_id=global_id("User", row.actor_id) if row.actor_id else None,
            actor_name=row.actor_name,
            source=row.source,
            operation=row.operation,
            target=row.target,
            outcome=row.outcome,
            detail=row.detail,
            request_id=row.request_id,
        )


@strawberry.input
class AuditFilter:
    action: AuditActionEnum | None = None  # type: ignore[valid-type]
    actor_id: strawberry.ID | None = None
    operation: str | None = None
    target: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
