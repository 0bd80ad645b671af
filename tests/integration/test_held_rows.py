"""A web request's session holds the rows it loads (read each once per request), but only up to HOLD_LIMIT: a
request that reads more — an export of any size, in batches — frees each batch once written, as before."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest

from engine.services.records import create_record
from engine.services.views import Actor
from engine.store import db
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW


def test_a_session_holds_its_rows_up_to_the_limit_and_lets_the_rest_go(
        deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(6):
        create_record(deployed(), actors["admin"], "Contact", {"full_name": f"Held Row {n}"}, NOW)
    monkeypatch.setattr(db, "HOLD_LIMIT", 3)
    uow = deployed()
    with uow:
        session = uow.session
        db.hold_loaded_rows(session)
        ids = [row.id for row in session.query(RecordRow).filter(RecordRow.entity == "Contact").limit(6)]
        gc.collect()
        assert len(ids) == 6
        assert len(session.info[db._HELD]) == 3  # the first three are held for re-use by the request's services
        assert len(session.identity_map) == 3  # the others were freed: nothing else refers to them
