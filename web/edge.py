"""The edge of every request: ids in paths within what the id columns hold, no NUL or lone surrogate in a path,
query string or form, and JSON bodies of bounded size and depth whose texts and numbers the stores can keep.

Refusals are 4xx naming the parameter or the JSON path; nothing malformed reaches a service or the database."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app, g, request
from werkzeug.exceptions import BadRequest, NotFound, RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from engine.errors import ValidationError
from engine.input_limits import MAX_ID, MAX_JSON_DEPTH, json_depth, json_problems, text_problem

MAX_PAGE = 1_000_000  # pages of an HTML list: far beyond any list, and its offset fits in 64 bits
MAX_JSON_BYTES = 2 * 1024 * 1024  # a task form, a filter or a deployment of changed files: far below this


class IdConverter(IntegerConverter):
    """`<int:...>` in a route: a number that is no id (negative, or beyond what an id column holds) is an unknown
    id (404), not a database error, and not another route (`/records/-5` would list the records of an entity
    named "-5", and a PATCH there answer 405)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("signed", True)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 <= number <= MAX_ID:
            raise NotFound(f"no such id: {value} (ids are whole numbers from 1 to {MAX_ID})")
        return number


def parse_json(raw: bytes) -> Any:
    """A JSON request body, bounded: 413 when too large, 400 when not JSON or nested too deep, 422 naming the
    path of every text or number that cannot be stored."""
    if len(raw) > MAX_JSON_BYTES:
        raise RequestEntityTooLarge(f"the JSON body is {len(raw)} bytes; at most {MAX_JSON_BYTES} are accepted")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"the body is not UTF-8 JSON: {exc}") from exc
    if json_depth(text) > MAX_JSON_DEPTH:
        raise BadRequest(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    problems: dict[str, list[str]] = {}
    for path, message in json_problems(body):
        problems.setdefault(path, []).append(message)
    if problems:
        raise ValidationError(problems)
    return body


def _text_problems(values: Any) -> dict[str, list[str]]:
    return {
        key: [problem]
        for key, value in values.items(multi=True)
        if (problem := text_problem(key) or text_problem(value))
    }


def check_request() -> None:
    """before_request: refuse what no route can use before any view or service sees it."""
    if text_problem(request.path):
        raise NotFound("no such address: the path contains a NUL character or a lone surrogate")
    bad_args = _text_problems(request.args)
    if bad_args:
        name, messages = next(iter(bad_args.items()))
        raise BadRequest(f"query parameter {name!r} {messages[0]}")
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and (request.content_length or 0) > limit:
        return  # the view answers 413 in its own words (an import names `flowcrm import` as the way around)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        problems = _text_problems(request.form)
        if problems:
            raise ValidationError(problems)


def json_body_of_request() -> Any:
    """The request body parsed once with parse_json (routes read it through here)."""
    if "json_body" not in g:
        if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
            raise RequestEntityTooLarge(
                f"the JSON body is {request.content_length} bytes; at most {MAX_JSON_BYTES} are accepted"
            )
        g.json_body = parse_json(request.get_data(cache=True))
    return g.json_body


def page_number() -> int:
    """`?page=` of an HTML list: 1 when absent or not a number; 400 beyond MAX_PAGE (its offset would not fit)."""
    page = request.args.get("page", 1, type=int) or 1
    if page > MAX_PAGE:
        raise BadRequest(f"query parameter 'page' must be at most {MAX_PAGE}, got {page}")
    return max(page, 1)


def id_arg(name: str) -> int | None:
    """An id in the query string (`?segment=3`): None when absent, not a number or beyond the id columns."""
    value = request.args.get(name, type=int)
    return value if value is not None and 1 <= value <= MAX_ID else None


def init_app(app: Flask) -> None:
    """Install the id converter and the request check."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(check_request)
