"""Audit log, its exports and the record as-of page: auditors, admins and heads of sales read the log; anyone who
sees a record may see it as of a past moment (lead L1 is in the salesperson's pool)."""

from __future__ import annotations

from tests.web.matrix_parts import LOGIN, row

ROWS = {
    ("GET", "/audit"): row(LOGIN, 403, 200, 403, 200, 200),
    ("GET", "/audit/export.csv"): row(LOGIN, 403, 200, 403, 200, 200),
    ("GET", "/audit/export.xlsx"): row(LOGIN, 403, 200, 403, 200, 200),
    ("GET", "/records/<int:record_id>/as-of"): row(LOGIN, 200, 200, 404, 200, 200),
}
