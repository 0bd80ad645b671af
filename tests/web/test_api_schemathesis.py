"""Schemathesis over the served OpenAPI document, in process on the WSGI app with an admin token: no server
error, and every answer's status code, content type, headers and body as the document declares them.

Each operation gets EXAMPLES positive and EXAMPLES negative generated requests (derandomized: the same cases on
every run); every failed check is collected, so one run reports all of them rather than the first."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.web.api_client import API, ApiUser, create_lead
from web.openapi import openapi_document

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# per operation and generation mode: 8 keeps the run within a minute per database on a shared 2-core machine
EXAMPLES = int(os.environ.get("FLOWCRM_SCHEMATHESIS_EXAMPLES", "8"))
Failures = dict[tuple[str, str], list[str]]
SERVED_ELSEWHERE = {path: item["servers"][0]["url"] for path, item in openapi_document()["paths"].items()
                    if "servers" in item}


def run_operation(app: Flask, operation: Any, mode: GenerationMode, token: str, failures: Failures) -> int:
    """Send EXAMPLES generated requests to one operation; collect every failed check instead of stopping."""
    calls = 0
    # a path item's own `servers` (the Camunda-compatible /engine-rest): schemathesis reads only the document's
    base_url = "http://localhost" + SERVED_ELSEWHERE.get(operation.path, API)

    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case: Any) -> None:
        nonlocal calls
        calls += 1
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        sent = f"{case.method} {case.formatted_path} {case.query} {str(case.body)[:200]}"
        try:
            response = case.call(app=app, base_url=base_url)  # schemathesis re-raises what the app raised (a 500)
        except Exception as exc:  # every server error is reported, none stops the run
            failures.setdefault((operation.label, "ServerError"), []).append(f"{exc!r}"[:300] + f" <- {sent}")
            return
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                key = (operation.label, type(failure).__name__)
                failures.setdefault(key, []).append(f"{failure.title}: {failure.message[:300]} <- {sent}")

    send()
    return calls


def test_every_operation_answers_as_documented_without_server_errors(api_app: Flask, api: dict[str, ApiUser]) -> None:
    api_app.config["PROPAGATE_EXCEPTIONS"] = False  # a server error is an answer to check, not a test crash
    create_lead(api["admin"], "Schemathesis lead")  # record 1 exists: some generated ids find it
    schema = schemathesis.openapi.from_wsgi(API + "/openapi.json", api_app)
    failures: Failures = {}
    calls = operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            calls += run_operation(api_app, operation, mode, api["admin"].token, failures)
    report = "\n".join(f"{label} {kind} x{len(items)}: {items[0]}" for (label, kind), items in sorted(failures.items()))
    assert not failures, f"{len(failures)} failing (operation, check) pairs over {calls} calls:\n{report}"
    assert operations >= 40  # the whole document was read...
    assert calls >= 2 * operations  # ...and every operation tried in both modes
