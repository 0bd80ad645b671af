"""SQL statements of opening a record card: one request, counted with SQLAlchemy events."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.integration.test_step_statements import statements
from tests.web.conftest import as_user, new_lead

CARD_BUDGET = 20  # session user (1), the record (1), the team (1), configuration (1), history, timeline, processes,
# tasks, links, e-mails, merges, reminders (16); it was 28 when each service read the record and the team again


def test_a_card_reads_its_record_once_and_stays_within_its_statement_budget(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    hank = as_user(app, "hank")
    warm = new_lead(deployed, actors, "warm-up lead")
    assert hank.get(f"/records/{warm.id}").status_code == 200  # the configuration parsed, the templates compiled
    lead = new_lead(deployed, actors)
    with statements(deployed) as seen:
        page = hank.get(f"/records/{lead.id}")
    assert page.status_code == 200
    by_key = [s for s in seen if s.startswith("SELECT record.id AS record_id")]  # a get() by primary key
    teams = [s for s in seen if s.startswith("SELECT user_account.id FROM user_account WHERE user_account.team")]
    assert len(by_key) == 1, "\n".join(seen)  # each service of the card asked for the record: read once, held
    assert len(teams) == 1, "\n".join(seen)  # each visibility check asked for the lead's team: read once
    assert len(seen) <= CARD_BUDGET, "\n".join(seen)
