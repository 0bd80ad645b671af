"""OpenAPI part: the global search (web/blueprints/api/search.py, docs/search.md)."""

from __future__ import annotations

from typing import Any

from web.openapi import Schema, _errors, _object, _ok, _op, _param, _ref

TAGS = ("search",)

SCHEMAS: dict[str, Schema] = {
    "SearchHit": _object({"id": {"type": "integer"}, "entity": {"type": "string"}, "title": {"type": "string"}}),
    "SearchGroup": _object({
        "entity": {"type": "string"},
        "label": {"type": "object", "additionalProperties": {"type": "string"}},
        "hits": {"type": "array", "items": _ref("SearchHit")},
        "more": {"type": "boolean", "description": "more records of this entity match than are listed"}}),
    "SearchResults": _object({
        "query": {"type": "string"}, "groups": {"type": "array", "items": _ref("SearchGroup")},
        "stale_index": {"type": "boolean",
                        "description": "records exist but the search keys were never built (flowcrm search-index)"}}),
}

PATHS: dict[str, Any] = {
    "/search": {"get": _op(
        "Search names, phones and e-mails of every entity", "search", "search",
        {**_ok("The matches, grouped by entity", _ref("SearchResults")), **_errors(400, 403)},
        parameters=[_param("q", "query", {"type": "string", "minLength": 1},
                           "a name in any script or transliteration, a phone in any format, or an e-mail")],
        description="Every word of a name must start a word of the title or of a searchable field (Иванов = "
                    "Ivanov = Iwanow); a phone matches its E.164 form (or, when it is not a whole number, the "
                    "start of the digits); an e-mail matches by its start. Only records the token holder may see.")},
}
