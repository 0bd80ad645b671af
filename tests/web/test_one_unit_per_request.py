"""One unit of work per request: the reads and the write of a request share one session (issue 12, item 1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from engine.services.records import get_record, list_records
from engine.services.tasks import claim_task
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.conftest import as_user, new_lead, pool_task


class Opened:
    """Units of work made and database sessions begun while counting."""

    def __init__(self) -> None:
        self.units = 0
        self.sessions: list[Session] = []  # kept alive, so two sessions never share an id


@contextmanager
def counting(app: Flask) -> Iterator[Opened]:
    """Count the units of work the app makes and the sessions that begin a transaction inside the block."""
    opened = Opened()
    make = app.extensions["flowcrm.uow"]

    def counted() -> UnitOfWork:
        opened.units += 1
        return make()  # type: ignore[no-any-return]

    def began(session: Session, *_args: Any) -> None:
        if all(session is not seen for seen in opened.sessions):
            opened.sessions.append(session)

    app.extensions["flowcrm.uow"] = counted
    event.listen(Session, "after_begin", began)
    try:
        yield opened
    finally:
        event.remove(Session, "after_begin", began)
        app.extensions["flowcrm.uow"] = make


def test_completing_a_task_from_the_web_form_opens_one_unit_of_work(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    sam = as_user(app, "sam")
    lead = new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    claim_task(deployed(), actors["sales"], task.id, NOW)
    with counting(app) as opened:
        done = sam.post(f"/tasks/{task.id}/complete", data={"outcome": "convert", "budget": "5000"})
    assert done.status_code == 302
    assert (opened.units, len(opened.sessions)) == (1, 1)
    assert get_record(deployed(), actors["head"], lead.id).data["status"] == "qualified"  # it was committed


def test_a_record_card_and_a_create_each_open_one_unit_of_work(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    lead = new_lead(deployed, actors, "Chairs")
    hank = as_user(app, "hank")
    with counting(app) as opened:
        card = hank.get(f"/records/{lead.id}")
    assert card.status_code == 200
    assert "Chairs" in card.get_data(as_text=True)
    assert (opened.units, len(opened.sessions)) == (1, 1)
    with counting(app) as opened:
        created = hank.post("/records/Lead/new", data={"title": "Desks", "status": "new"})
    assert created.status_code == 302
    assert (opened.units, len(opened.sessions)) == (1, 1)
    assert "Desks" in [r.title for r in list_records(deployed(), actors["head"], "Lead")]


def test_a_refused_write_leaves_nothing_behind_in_the_requests_unit(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    lead = new_lead(deployed, actors, "Chairs")
    hank = as_user(app, "hank")
    stale = hank.post(f"/records/{lead.id}", data={"expected_revision": lead.revision + 7, "title": "Tables",
                                                   "status": "new"})
    assert stale.status_code == 409
    assert get_record(deployed(), actors["head"], lead.id).title == "Chairs"
