"""GraphQL over HTTP media types: application/json, and the spec's application/graphql-response+json.

A client that accepts `application/graphql-response+json` gets it, with the spec's status codes: 400
and no `data` entry when the request fails before execution (a document that does not parse or
validate, variables that do not coerce, a refused cost). Clients that ask for `application/json`
(or anything else) get JSON with status 200 as before.
"""

from __future__ import annotations

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


def _weights(accept: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        weights[media.lower()] = max(q, weights.get(media.lower(), 0.0))
    return weights


def wants_graphql_response(accept: str | bytes | None) -> bool:
    """Whether the answer should be application/graphql-response+json (it is accepted, and JSON is not preferred)."""
    if not accept:
        return False
    text = accept.decode("latin-1") if isinstance(accept, bytes) else accept
    if GRAPHQL_RESPONSE not in text.lower():
        return False
    weights = _weights(text)
    ours = weights.get(GRAPHQL_RESPONSE, 0.0)
    return ours > 0 and ours >= weights.get(JSON, 0.0)


def content_type(graphql_response: bool) -> str:
    return f"{GRAPHQL_RESPONSE}; charset=utf-8" if graphql_response else JSON
