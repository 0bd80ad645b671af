"""The card's picker choices and log forms (log a call): readers of records pick, record writers log. The matrix
names entity Lead, which declares no log form, so writers get 404 (tests/web/test_cards.py logs real calls) and
the matrix database stays as it is."""

from __future__ import annotations

from tests.web.matrix_parts import LOGIN, row

ROWS = {
    ("GET", "/records/<entity>/choices"): row(LOGIN, 200, 200, 403, 200, 200),
    ("POST", "/records/<int:record_id>/log/<entity>"): row(LOGIN, 404, 404, 403, 404, 403),
}
