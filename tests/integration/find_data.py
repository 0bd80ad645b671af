"""Records for the filter tests (shipped CRM bundle) and the three filters of the issue, as in docs/filters.md."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from engine.services.records import create_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

PHONE_BUYERS = {
    "entity": "Contact",
    "where": {"linked": {
        "entity": "Deal", "via": "client", "aggregate": "exists",
        "where": {"all": [
            {"field": "stage", "op": "eq", "value": "won"},
            {"field": "amount", "op": "gt", "value": 700},
            {"field": "close_date", "op": "between", "value": ["2016-04-01", "2016-05-31"]},
            {"linked": {"via": "product", "aggregate": "exists",
                        "where": {"field": "category", "op": "eq", "value": "phones"}}},
        ]},
    }},
}
IDLE_ORGANIZATIONS = {
    "entity": "Organization",
    "where": {"all": [
        {"field": "industry", "op": "eq", "value": "retail"},
        {"linked": {"entity": "Activity", "via": "organization", "aggregate": "none",
                    "where": {"field": "happened_at", "op": "within_last_days", "value": 30}}},
    ]},
}
PROBABLE_UNANSWERED = {
    "entity": "Contact",
    "where": {"all": [
        {"field": "status", "op": "eq", "value": "probable"},
        {"linked": {"entity": "Activity", "via": "contact", "aggregate": "last",
                    "where": {"field": "kind", "op": "eq", "value": "call"},
                    "field": "result", "order_by": "happened_at", "op": "eq", "value": "no_answer"}},
    ]},
}


def ago(days: float, offset: str = "+00:00") -> str:
    """An ISO datetime `days` before the test clock, written with the given UTC offset."""
    moment = NOW - timedelta(days=days)
    hours = int(offset[:3])
    local = moment + timedelta(hours=hours)
    return local.replace(tzinfo=None).isoformat(timespec="seconds") + offset


def build(make_uow: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> dict[str, int]:
    """Create the test records; returns their ids by nickname."""
    admin = actors["admin"]
    sam, sue = actors["sales"].id, actors["sales2"].id
    ids: dict[str, int] = {}

    def make(nick: str, entity: str, data: dict[str, Any], owner: int | None = None) -> int:
        view = create_record(make_uow(), admin, entity, data, NOW, owner_id=owner, start_processes=False)
        ids[nick] = view.id
        return view.id

    phone = make("phone", "Product", {"name": "Phone X", "category": "phones", "price": "750.00"})
    laptop = make("laptop", "Product", {"name": "Laptop", "category": "computers", "price": "1500"})
    contacts = {
        "alice": {"full_name": "Alice Archer", "email": "alice@example.com", "tags": ["vip", "retail"],
                  "status": "periodic", "region": "south"},
        "bob": {"full_name": "Bob Brown", "email": "bob@example.com", "tags": ["retail"], "status": "probable"},
        "carol": {"full_name": "Carol O'Neil", "email": "carol@example.com", "status": "probable"},
        "dan": {"full_name": "Dan Drake", "email": "dan@example.com", "status": "probable", "tags": ["vip"]},
        "erin": {"full_name": "Erin Evans", "email": "erin@example.com", "status": "interested"},
    }
    owners = {"alice": sam, "bob": sue, "carol": sam, "dan": sam, "erin": None}
    for nick, data in contacts.items():
        make(nick, "Contact", data, owners[nick])
    deals = [
        ("d_alice", "alice", "won", "800.00", "2016-04-15", phone),
        ("d_alice2", "alice", "won", "1500", "2017-01-10", laptop),
        ("d_bob", "bob", "won", "650", "2016-04-20", phone),
        ("d_carol", "carol", "offer", "900", "2016-05-05", phone),
        ("d_dan", "dan", "lost", "1000", "2016-05-01", phone),
        ("d_erin", "erin", "won", "720.5", "2016-06-01", phone),
    ]
    for nick, client, stage, amount, closed, product in deals:
        make(nick, "Deal", {"title": f"Deal {nick}", "client": ids[client], "stage": stage, "amount": amount,
                            "close_date": closed, "product": product})
    acme = make("acme", "Organization", {"name": "Acme retail", "industry": "retail"})
    busy = make("busy", "Organization", {"name": "Busy retail", "industry": "retail"})
    make("quiet", "Organization", {"name": "Quiet retail", "industry": "retail"})
    make("tech", "Organization", {"name": "Tech", "industry": "finance"})
    calls = [
        ("a1", "carol", "call", "agreed", ago(20, "+03:00")),
        ("a2", "carol", "call", "no_answer", ago(2, "-05:00")),
        ("a3", "carol", "meeting", "agreed", ago(1)),
        ("a4", "dan", "call", "no_answer", ago(10)),
        ("a5", "dan", "call", "agreed", ago(3, "+03:00")),
        ("a6", "bob", "call", "no_answer", ago(50)),
    ]
    for nick, who, kind, result, when in calls:
        make(nick, "Activity", {"subject": nick, "contact": ids[who], "kind": kind, "result": result,
                                "happened_at": when})
    make("o1", "Activity", {"subject": "old visit", "organization": acme, "kind": "meeting", "happened_at": ago(40)})
    make("o2", "Activity", {"subject": "recent call", "organization": busy, "kind": "call", "happened_at": ago(5)})
    return ids
