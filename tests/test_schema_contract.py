"""schema.graphql at the root is the published contract: it must equal the schema the server serves."""

from __future__ import annotations

import difflib
from pathlib import Path

from api.schema import schema_sdl

PUBLISHED = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_the_published_schema_is_the_served_schema() -> None:
    published = PUBLISHED.read_text(encoding="utf-8")
    served = schema_sdl()

    diff = "".join(
        difflib.unified_diff(
            published.splitlines(keepends=True), served.splitlines(keepends=True), "schema.graphql", "served", n=1
        )
    )
    assert published == served, (
        "schema.graphql differs from the served schema; if the change is intended, run\n"
        "    ./scripts/manage export-schema > schema.graphql\n"
        "and remember that removing or changing a field goes through @deprecated first.\n" + diff[:4000]
    )


def test_the_contract_names_the_foundation_needs() -> None:
    served = schema_sdl()

    for name in (
        "node(id: ID!): Node",
        "nodes(ids: [ID!]!): [Node]!",
        "viewer: Viewer!",
        "unit(code: String!): Unit",
        "taskQueue(",
        "totalCount: Int!",
        "userErrors: [UserError!]!",
    ):
        assert name in served, name
    for mutation in (
        "taskClaim",
        "taskStart",
        "taskComplete",
        "taskComment",
        "taskReassign",
        "taskCancel",
        "taskReopen",
    ):
        assert f"{mutation}(id: ID!, input: " in served, mutation
    for status in ("OPEN", "IN_PROGRESS", "DONE", "CANCELLED"):
        assert f"  {status}\n" in served.split("enum TaskStatus {", 1)[1].split("}", 1)[0], status
