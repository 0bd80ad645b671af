"""Reports: sales, heads of sales, admins and auditors read them (sales over their own records); designers may not.
The placeholder names a shipped report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.web.matrix_parts import LOGIN, row

ROWS = {
    ("GET", "/reports"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/reports/<report>"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/reports/<report>.csv"): row(LOGIN, 200, 200, 403, 200, 200),
    ("GET", "/reports/<report>.xlsx"): row(LOGIN, 200, 200, 403, 200, 200),
}


def prepare(make_uow: Callable[[], Any], actors: dict[str, Any]) -> dict[str, Any]:
    """The report the matrix opens."""
    return {"report": "lead_conversion_by_channel"}
