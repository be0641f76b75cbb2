"""GraphiQL offline, in a real browser: the page, its scripts and styles all come from the server itself."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from api import graphiql
from tests.browser import chromium_path, headless_chromium
from tests.processes import ROOT, environment, free_port, manage, running, server_args, wait_http

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("TEST_DATABASE") == "postgres",
        reason="the browser page does not depend on the backend; it runs in the SQLite pass only",
    ),
]

README_QUERY = re.search(r"```graphql\n(\{ viewer .*?)\n```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)

SET_TOKEN = """(() => {
  const tools = document.querySelectorAll('.graphiql-editor-tool .CodeMirror');
  const editors = [...tools].map(e => e.CodeMirror).filter(Boolean);
  const headers = editors.find(cm => cm.getValue().includes('Authorization'));
  if (!headers) return false;
  headers.setValue(JSON.stringify({Authorization: 'Bearer ' + TOKEN}));
  return true;
})()"""
SET_QUERY = """(() => {
  const editors = [...document.querySelectorAll('.graphiql-query-editor .CodeMirror')].map(e => e.CodeMirror);
  if (!editors.length) return false;
  editors[0].setValue(QUERY);
  return true;
})()"""
RESULT = "(document.querySelector('.result-window') || {}).innerText || ''"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("graphiql")
    port = free_port()
    env = environment(DATABASE_URL=f"sqlite://{tmp / 'county.sqlite3'}")
    manage(env, "migrate")
    manage(env, "seed")
    token = manage(env, "user", "create", "--unit", "leading-group-office", "--role", "office", "--name", "马明艳")
    with running("server", server_args(port), env, tmp) as process:
        wait_http(f"http://127.0.0.1:{port}/healthz", process)
        yield f"http://127.0.0.1:{port}", token.strip().splitlines()[-1]


def test_the_page_refers_only_to_the_servers_own_files(server) -> None:  # type: ignore[no-untyped-def]
    base, _ = server

    page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"})

    assert page.status_code == 200
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources, page.text
    for source in sources:
        if source.startswith("data:"):
            continue
        assert source.startswith(graphiql.ASSETS_URL + "/"), source
        asset = httpx.get(base + source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 500, source


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed: apt-get install -y chromium")
async def test_a_newcomer_runs_the_readme_query_in_graphiql_offline(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, token = server
    assert README_QUERY is not None, "the README's first query"
    query = README_QUERY.group(1)

    async with headless_chromium(f"{base}/graphql") as page:
        await page.wait_for("!!document.querySelector('.graphiql-execute-button')", "GraphiQL to render")
        await page.evaluate(f"window.TOKEN = {token!r}; window.QUERY = {query!r}; true")
        await page.wait_for(SET_TOKEN, "the headers editor")
        await page.wait_for(SET_QUERY, "the query editor")
        await page.evaluate("document.querySelector('.graphiql-execute-button').click(); true")
        shown = await page.wait_for(
            f"(() => {{ const t = {RESULT}; return t.includes('totalCount') ? t : ''; }})()", "the answer"
        )
        if os.environ.get("GRAPHIQL_SCREENSHOT"):
            await page.screenshot(Path(os.environ["GRAPHIQL_SCREENSHOT"]))

    assert "马明艳" in shown, shown
    assert "领导小组办公室" in shown or "办公室" in shown, shown
    assert "UNAUTHENTICATED" not in shown
    outside = [
        u for u in page.requested if not u.startswith(("data:", "about:")) and urlsplit(u).hostname != "127.0.0.1"
    ]
    assert outside == [], f"the page reached outside the server: {outside}"
    assert any(u.endswith("/graphql") for u in page.requested)
