"""Route × role classifications of feature areas, merged into tests/web/test_access_matrix.py.

A part module defines ROWS {(method, rule): row(...)}, optional FORMS {(method, rule): form data} and optional
prepare(make_uow, actors) -> {placeholder: value}, run once on the matrix database."""

from __future__ import annotations

LOGIN = "login"  # a 302 to the login page
ROLES = ("anonymous", "sales", "head", "designer", "admin", "auditor")


def row(anonymous: int | str, sales: int | str, head: int | str, designer: int | str, admin: int | str,
        auditor: int | str) -> dict[str, int | str]:
    """Expected status per role, in ROLES order."""
    return dict(zip(ROLES, (anonymous, sales, head, designer, admin, auditor), strict=True))
