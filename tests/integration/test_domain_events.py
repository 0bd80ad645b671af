"""Domain events: record writes publish them in the unit of work, and the handler table runs what follows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, get_args

import pytest
from sqlalchemy.orm import sessionmaker

from engine.services.handlers import HANDLERS
from engine.services.records import create_record, update_record
from engine.services.views import Actor
from engine.store.events import Event, FieldsChanged, RecordChanged, RecordCreated
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW


def test_every_event_has_handlers_in_the_table() -> None:
    assert set(get_args(Event)) == set(HANDLERS)
    assert all(HANDLERS[kind] for kind in HANDLERS)


def test_a_unit_without_the_handler_table_refuses_an_event_rather_than_drop_it() -> None:
    bare = UnitOfWork(sessionmaker())
    with pytest.raises(LookupError, match="no handlers are registered for FieldsChanged"):
        bare.publish(FieldsChanged(RecordRow(), {"title": (None, "x")}, "edit", "sam", NOW))


def test_record_writes_publish_fields_then_the_change_the_rules_react_to(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def spy(_uow: UnitOfWork, event: Any) -> None:
        seen.append((type(event).__name__, dict(event.changes)))

    for kind in (FieldsChanged, RecordCreated, RecordChanged):
        monkeypatch.setitem(HANDLERS, kind, [spy, *HANDLERS[kind]])
    lead = create_record(deployed(), actors["head"], "Lead", {"title": "Chairs"}, NOW)
    assert [name for name, _ in seen][:2] == ["FieldsChanged", "RecordCreated"]
    assert seen[1][1]["title"] == (None, "Chairs")
    seen.clear()
    update_record(deployed(), actors["head"], lead.id, {"title": "Desks"}, NOW)
    assert seen[:2] == [("FieldsChanged", {"title": ("Chairs", "Desks")}),
                        ("RecordChanged", {"title": ("Chairs", "Desks")})]
