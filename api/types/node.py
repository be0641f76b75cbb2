"""The Relay Node interface."""

from __future__ import annotations

import strawberry


@strawberry.interface(description="An object with an opaque global id; fetch any of them with node(id:).")
class Node:
    id: strawberry.ID
