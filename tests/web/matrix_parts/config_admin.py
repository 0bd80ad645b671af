"""Configuration versions and browser edits: readers of definitions see the versions, admins change fields and
catalog values, designers and admins roll back; nobody else. The requests change nothing: empty forms, a rollback
that names a stale active version."""

from __future__ import annotations

from typing import Any

from tests.web.matrix_parts import LOGIN, row

ROWS = {
    ("GET", "/admin/config"): row(LOGIN, 403, 200, 200, 200, 200),
    ("GET", "/admin/config/versions/<int:version_id>"): row(LOGIN, 403, 200, 200, 200, 200),
    ("POST", "/admin/config/versions/<int:version_id>/rollback"): row(LOGIN, 403, 403, 302, 302, 403),
    ("GET", "/admin/config/entities/<entity>"): row(LOGIN, 403, 403, 403, 200, 403),
    ("POST", "/admin/config/entities/<entity>"): row(LOGIN, 403, 403, 403, 422, 403),  # empty form
    ("GET", "/admin/config/catalogs/<catalog>"): row(LOGIN, 403, 403, 403, 200, 403),
    ("POST", "/admin/config/catalogs/<catalog>"): row(LOGIN, 403, 403, 403, 422, 403),  # empty form
}


def prepare(make_uow: Any, actors: Any) -> dict[str, Any]:
    """The catalog whose form is asked for."""
    return {"catalog": "tag"}
