"""SQL statements of completing a task through the web form: one request, counted with SQLAlchemy events."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from engine.services.tasks import claim_task
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_step_statements import statements
from tests.web.conftest import as_user, new_lead, pool_task

WEB_COMPLETION_BUDGET = 13  # session user (1), task page data (get_task, 1), the completion (8), next steps shown (3:
# the rows the completion read are held for the request, not read again)


def test_completing_a_lead_task_from_the_web_form_stays_within_its_statement_budget(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    sam = as_user(app, "sam")
    new_lead(deployed, actors, "warm-up lead")
    warm = pool_task(deployed, actors["sales"])
    claim_task(deployed(), actors["sales"], warm.id, NOW)
    sam.post(f"/tasks/{warm.id}/complete", data={"outcome": "convert", "budget": "100"})
    new_lead(deployed, actors)
    task = pool_task(deployed, actors["sales"])
    claim_task(deployed(), actors["sales"], task.id, NOW)
    with statements(deployed) as seen:
        done = sam.post(f"/tasks/{task.id}/complete", data={"outcome": "convert", "budget": "5000"})
    assert done.status_code == 302
    assert len(seen) <= WEB_COMPLETION_BUDGET, "\n".join(seen)
