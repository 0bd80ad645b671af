"""A small hand-made dataset with fixed timestamps for the report tests (integration and web)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from engine.services.records import create_record, update_record
from engine.services.views import Actor
from engine.store.models import FieldChangeRow, TaskRow
from engine.store.uow import UnitOfWork

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MakeUow = Callable[[], UnitOfWork]


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def _create(make_uow: MakeUow, actor: Actor, entity: str, data: dict[str, Any], when: datetime,
            owner: Actor | None = None) -> int:
    view = create_record(make_uow(), actor, entity, data, when, owner_id=owner.id if owner else None,
                         start_processes=False)
    return view.id


def _stages(make_uow: MakeUow, actor: Actor, record_id: int, steps: list[tuple[str, datetime]]) -> None:
    for stage, when in steps:
        update_record(make_uow(), actor, record_id, {"request_stage": stage}, when)


def _task(uow: UnitOfWork, task_id: str, state: str, assignee: int | None, due: datetime,
          done_by: str | None = None, done_at: datetime | None = None) -> None:
    uow.session.add(TaskRow(id=task_id, instance_id=None, record_id=None, spec_name="t", title=task_id,
                            candidate_groups="", candidate_users="", assignee_id=assignee, state=state, due_at=due,
                            created_at=at(1, 1), completed_at=done_at, completed_by=done_by))


def build_dataset(deployed: MakeUow, actors: dict[str, Actor]) -> dict[str, int]:
    """Two campaigns, four leads with stage histories, three deals, activities, tasks and claims."""
    head, sam, sue = actors["head"], actors["sales"], actors["sales2"]
    ids: dict[str, int] = {}
    ids["p1"] = _create(deployed, head, "Product", {"name": "Laptop", "category": "computers"}, at(1, 1))
    ids["p2"] = _create(deployed, head, "Product", {"name": "Support", "category": "support"}, at(1, 1))
    ids["c1"] = _create(deployed, head, "Campaign", {"name": "Spring", "budget": "1000"}, at(1, 1))
    ids["c2"] = _create(deployed, head, "Campaign", {"name": "Autumn", "budget": "500"}, at(1, 1))
    ids["k1"] = _create(deployed, head, "Contact", {"full_name": "Ivan"}, at(1, 1))
    ids["k2"] = _create(deployed, head, "Contact", {"full_name": "Maria"}, at(1, 1))
    web = {"request_type": "web_inquiry"}
    ids["l1"] = _create(deployed, head, "Lead", {"title": "L1", "campaign": ids["c1"], "channel": "website",
                        "product": ids["p1"], "contact": ids["k1"], "budget": "100", **web}, at(1, 10, 9), sam)
    ids["l2"] = _create(deployed, head, "Lead", {"title": "L2", "campaign": ids["c1"], "channel": "website",
                        "product": ids["p1"], "contact": ids["k1"], "budget": "50.5", **web}, at(1, 20, 9), sam)
    ids["l3"] = _create(deployed, head, "Lead", {"title": "L3", "campaign": ids["c2"], "channel": "advertising",
                        "product": ids["p2"], "contact": ids["k2"], "budget": "30", **web}, at(2, 5, 9), sam)
    ids["l4"] = _create(deployed, head, "Lead", {"title": "L4", "channel": "phone_call", "product": ids["p2"]},
                        at(2, 7, 9), sue)
    _stages(deployed, head, ids["l1"], [("new", at(1, 10)), ("qualified", at(1, 11)), ("offer_sent", at(1, 13)),
                                        ("won", at(1, 14))])
    _stages(deployed, head, ids["l2"], [("new", at(1, 20)), ("qualified", at(1, 20, 22)), ("lost", at(1, 21, 22))])
    _stages(deployed, head, ids["l3"], [("new", at(2, 5)), ("offer_sent", at(2, 6))])
    for title, campaign, product, stage, amount, closed in (("D1", "c1", "p1", "won", "1500.50", "2026-01-20"),
                                                             ("D2", "c1", "p2", "lost", "700", None),
                                                             ("D3", "c2", "p2", "won", "200", "2026-02-10")):
        deal = {"title": title, "campaign": ids[campaign], "product": ids[product], "stage": stage, "amount": amount}
        _create(deployed, head, "Deal", {**deal, "close_date": closed} if closed else deal, at(2, 1), sam)
    for subject, kind, owner in (("a", "call", sam), ("b", "call", sam), ("c", "meeting", sam), ("d", "call", sue)):
        _create(deployed, head, "Activity", {"subject": subject, "kind": kind}, at(2, 2), owner)
    with deployed() as uow:
        _task(uow, "t-done", "completed", sam.id, at(2, 1), "sam", at(2, 1))
        _task(uow, "t-late", "open", sam.id, at(2, 1))
        _task(uow, "t-fine", "open", sue.id, datetime(2099, 4, 1, tzinfo=UTC))
        for lead in ("l1", "l2"):
            uow.session.add(FieldChangeRow(record_id=ids[lead], at=at(1, 21), actor="sam", source="claim",
                                           field="owner", old_value=None, new_value="sam"))
        uow.commit()
    return ids
