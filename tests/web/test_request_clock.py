"""The request's clock is its unit of work's: a clock injected through the app's unit-of-work factory is the
moment a web write records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from engine.bootstrap import uow_factory
from engine.services.records import get_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.web.conftest import as_user, settings
from web import create_app

ELECTION_DAY = datetime(2031, 11, 4, 12, 30, tzinfo=UTC)


def test_a_record_created_from_the_web_form_is_stamped_with_the_injected_clock(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    clocked = uow_factory(db_url, lambda: ELECTION_DAY)
    try:
        app = create_app(settings(db_url, UOW_FACTORY=clocked))
        hank = as_user(app, "hank")
        created = hank.post("/records/Lead/new", data={"title": "Desks", "status": "new"})
        assert created.status_code == 302, created.get_data(as_text=True)
        record_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
        record = get_record(deployed(), actors["head"], record_id)
        assert record.created_at.astimezone(UTC) == ELECTION_DAY
    finally:
        clocked.dispose()
