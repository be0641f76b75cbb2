"""GraphiQL on GET /graphql in a browser, from the product's own files: nothing comes from the internet.

The bundles (React, GraphiQL, its explorer plugin) are committed under api/static/graphiql/ at the
versions in its VERSIONS file, with their licences; ./scripts/refresh-graphiql fetches new ones.
The page opens with the README's first query and the headers editor showing where the token goes.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS_URL = "/static/graphiql"

FIRST_QUERY = """# 控辍保学 GraphQL. Put your token in Headers below: {"Authorization": "Bearer <token>"}
# (./scripts/manage user create ... prints one). Run with Ctrl-Enter or the ▶ button.
{
  viewer {
    user { name }
    unit { name }
    taskQueue(first: 20) { totalCount nodes { title dueAt overdue } }
  }
}
"""
HEADERS_HINT = '{"Authorization": "Bearer <token>"}'


def assets() -> StaticFiles:
    return StaticFiles(directory=ASSETS)


def _asset_version() -> str:
    """A short tag from VERSIONS, so a refresh changes every asset URL (browsers cache them)."""
    try:
        return hashlib.sha256((ASSETS / "VERSIONS").read_bytes()).hexdigest()[:10]
    except OSError:
        return "0"


@lru_cache(maxsize=1)
def page() -> str:
    v = _asset_version()
    # json.dumps makes safe JS string literals; "</" is escaped so nothing can close the script early.
    query = json.dumps(FIRST_QUERY).replace("</", "<\\/")
    hint = json.dumps(HEADERS_HINT).replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8" />
    <title>控辍保学 GraphiQL</title>
    <link rel="icon" href="data:," />
    <style>
      body {{ height: 100%; margin: 0; width: 100%; overflow: hidden; }}
      #graphiql {{ height: 100vh; display: flex; }}
    </style>
    <link rel="stylesheet" href="{ASSETS_URL}/graphiql.min.css?v={v}" />
    <link rel="stylesheet" href="{ASSETS_URL}/plugin-explorer.css?v={v}" />
    <script src="{ASSETS_URL}/react.production.min.js?v={v}"></script>
    <script src="{ASSETS_URL}/react-dom.production.min.js?v={v}"></script>
  </head>
  <body>
    <div id="graphiql">正在加载 GraphiQL (loading)…</div>
    <script src="{ASSETS_URL}/graphiql.min.js?v={v}"></script>
    <script src="{ASSETS_URL}/plugin-explorer.umd.js?v={v}"></script>
    <script>
      const url = window.location.origin + window.location.pathname;
      const ws = new URL(url);
      ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
      const send = GraphiQL.createFetcher({{ url: url, subscriptionUrl: ws.toString() }});
      const hint = {hint};
      // Until a real token replaces the hint, send no Authorization header (not a failed sign-in).
      const fetcher = (params, options) => {{
        const headers = Object.assign({{}}, (options && options.headers) || {{}});
        if (headers.Authorization === JSON.parse(hint).Authorization) delete headers.Authorization;
        return send(params, Object.assign({{}}, options, {{ headers: headers }}));
      }};
      const explorer = GraphiQLPluginExplorer.explorerPlugin();
      ReactDOM.createRoot(document.getElementById("graphiql")).render(
        React.createElement(GraphiQL, {{
          fetcher: fetcher,
          plugins: [explorer],
          defaultQuery: {query},
          defaultHeaders: hint,
          defaultEditorToolsVisibility: "headers",
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: true,
          inputValueDeprecation: true,
        }}),
      );
    </script>
  </body>
</html>
"""
