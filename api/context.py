"""The per-request context: who is asking, and the request's data loaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from starlette.requests import Request
from strawberry.types import Info as StrawberryInfo

from api.errors import Unauthenticated
from api.loaders import Loaders
from models.users import User


@dataclass
class Context:
    request: Request | None
    viewer: User | None
    auth_problem: str | None = None
    loaders: Loaders = field(default_factory=Loaders)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    token: str | None = None
    connection_params: dict[str, object] | None = None
    shown: dict[tuple[type, int], object] = field(default_factory=dict)  # one GraphQL object per row (api.types)
    writes_audited: int = 0  # mutation fields AuditedWrite recorded; none: AuditRefusedWrites records them


Info = StrawberryInfo[Context, None]


def require_viewer(info: Info) -> User:
    viewer = info.context.viewer
    if viewer is None:
        raise Unauthenticated(
            info.context.auth_problem
            or "请先登录：在请求头加入 Authorization: Bearer <token> (sign in with a bearer token)"
        )
    return viewer
