"""GraphQL over HTTP: the spec's media type application/graphql-response+json, and the reference audit.

The audit is graphql-http's `auditServer` (the reference implementation's own conformance check), run
with Node against a real server process; graphql-http is installed once into a cache outside the
repository (~/.cache/kongchuo-node, or KONGCHUO_NODE_CACHE).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.processes import ROOT, environment, free_port, manage, running, server_args, wait_http
from tests.support import sign_in

RESPONSE = "application/graphql-response+json"
NODE_CACHE = Path(os.environ.get("KONGCHUO_NODE_CACHE", Path.home() / ".cache" / "kongchuo-node"))
GRAPHQL_HTTP = "graphql-http@1.23.1"


async def post(client, body: dict, accept: str, token: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"Accept": accept, **({"Authorization": f"Bearer {token}"} if token else {})}
    return await client.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"query": "{ viewer { "}, "parse"),
        ({"query": "{ viewer { noSuchField } }"}, "validation"),
        ({"query": "query($n: Int!) { units(first: $n) { totalCount } }", "variables": {"n": "many"}}, "variables"),
    ],
)
async def test_a_request_error_is_a_400_without_data_for_the_specs_media_type(client, body: dict, why: str) -> None:
    token = await sign_in("education")

    spec = await post(client, body, RESPONSE, token)
    legacy = await post(client, body, "application/json", token)

    assert spec.status_code == 400, why
    assert spec.headers["content-type"].startswith(RESPONSE)
    assert "data" not in spec.json() and spec.json()["errors"]
    assert legacy.status_code == 200 and legacy.headers["content-type"] == "application/json"
    assert legacy.json()["data"] is None and legacy.json()["errors"]


async def test_an_answer_has_the_media_type_asked_for_whether_strawberry_or_a_plan_answers(client) -> None:
    token = await sign_in("education")
    body = {"query": "query Units { units(first: 3) { totalCount } }"}

    answers = [await post(client, body, f"{RESPONSE}, application/json;q=0.9", token) for _ in range(3)]
    plain = await post(client, body, "application/json", token)

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert {a.headers["content-type"] for a in answers} == {f"{RESPONSE}; charset=utf-8"}
    assert answers[0].content == answers[2].content  # the first by Strawberry, the later ones by plan
    assert plain.headers["content-type"] == "application/json" and plain.content == answers[0].content


def graphql_http() -> Path | None:
    """graphql-http in the cache, installed with npm on first use; None if that cannot be done."""
    modules = NODE_CACHE / "node_modules"
    if (modules / "graphql-http" / "package.json").exists():
        return modules
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None
    NODE_CACHE.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(NODE_CACHE), "--no-audit", "--no-fund", GRAPHQL_HTTP, "graphql@16"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return modules if done.returncode == 0 and (modules / "graphql-http").exists() else None


@pytest.mark.e2e
@pytest.mark.skipif(os.environ.get("TEST_DATABASE") == "postgres", reason="HTTP does not depend on the backend")
def test_the_graphql_over_http_audit_passes_every_must_and_should(tmp_path: Path) -> None:
    modules = graphql_http()
    if modules is None:
        pytest.skip(f"npm could not install {GRAPHQL_HTTP} into {NODE_CACHE} (no npm or no registry)")
    env = environment(DATABASE_URL=f"sqlite://{tmp_path / 'county.sqlite3'}")
    manage(env, "migrate")
    manage(env, "seed")
    token = manage(env, "demo").strip().splitlines()[-1]
    port = free_port()
    with running("api", server_args(port), env, tmp_path) as server:
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        audit = subprocess.run(
            ["node", str(ROOT / "tests" / "node" / "audit.mjs"), f"http://127.0.0.1:{port}/graphql", token],
            env={**os.environ, "KC_NODE_MODULES": str(modules)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert audit.returncode == 0, audit.stderr
    results = [json.loads(line) for line in audit.stdout.splitlines() if line.startswith("{")]
    assert len(results) > 50, audit.stdout
    not_ok = [r for r in results if r["status"] in ("warn", "error")]
    assert not_ok == [], not_ok
