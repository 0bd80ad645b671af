"""Imports: sales (their own jobs), heads of sales and admins import; auditors read; designers may not.
The placeholder job is sam's pending import of a fixture file. POSTs are empty forms (422 changes nothing); a
user who may read the job but not change it is sent from the mapping page to the report (302); an auditor's POST
is refused (403)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import NOW, ROOT
from tests.web.matrix_parts import LOGIN, row

ROWS = {
    ("GET", "/imports"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/imports/new"): row(LOGIN, 200, 200, 403, 200, 403),
    ("POST", "/imports/new"): row(LOGIN, 422, 422, 403, 422, 403),  # no file
    ("GET", "/imports/<int:job_id>/mapping"): row(LOGIN, 200, 302, 403, 200, 302),
    ("POST", "/imports/<int:job_id>/mapping"): row(LOGIN, 422, 302, 403, 422, 403),  # no mode chosen
    ("GET", "/imports/<int:job_id>"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/imports/<int:job_id>/progress.json"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/imports/<int:job_id>/rejects.csv"): row(LOGIN, 200, 200, 403, 200, 200),
    # the job is pending, not failed: its owner and admins are sent back to it with the reason; a head may not
    ("POST", "/imports/<int:job_id>/resume"): row(LOGIN, 302, 403, 403, 302, 403),
    ("POST", "/imports/<int:job_id>/rerun"): row(LOGIN, 302, 403, 403, 302, 403),
}


def prepare(make_uow: Callable[[], Any], actors: dict[str, Any]) -> dict[str, Any]:
    """sam's pending import of the mixed contacts fixture (the file is read in place, never copied)."""
    from engine.services.imports import create_job

    path = ROOT / "tests" / "fixtures" / "imports" / "contacts_mixed.csv"
    job = create_job(make_uow(), actors["sales"], "Contact", path.name, path, NOW)
    return {"job_id": job.id}
