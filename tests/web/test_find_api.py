"""Finding records over the REST API: every documented path checked against the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.integration.find_data import PHONE_BUYERS, PROBABLE_UNANSWERED, build
from tests.web.conformance import Conformance
from web.apidoc.find import PATHS


def test_every_documented_find_path_answers_as_documented(api: dict[str, Any], deployed: Callable[[], UnitOfWork],
                                                          actors: dict[str, Actor]) -> None:
    ids = build(deployed, actors)
    c = Conformance()
    ada, sam, sue, dina = api["admin"], api["sales"], api["sales2"], api["designer"]

    page = c.check(ada, "post", "/find", 200, {"filter": PHONE_BUYERS})
    assert [r["id"] for r in page["items"]] == [ids["alice"]]
    assert (page["total"], page["limit"], page["offset"]) == (1, 50, 0)
    page = c.check(ada, "post", "/find", 200, {"filter": {"entity": "Contact", "sort": [{"field": "title"}]},
                                                "limit": 2, "offset": 1})
    assert ([r["title"] for r in page["items"]], page["total"]) == (["Bob Brown", "Carol O'Neil"], 5)
    assert c.check(sam, "post", "/find", 200, {"filter": {"entity": "Contact"}})["total"] == 3
    assert c.check(sam, "post", "/find", 200, {"filter": PROBABLE_UNANSWERED})["items"][0]["id"] == ids["carol"]
    assert c.check(sue, "post", "/find", 200, {"filter": PROBABLE_UNANSWERED})["items"] == []
    c.check(dina, "post", "/find", 403, {"filter": {"entity": "Contact"}})
    c.check(ada, "post", "/find", 400, {"filter": {"entity": "Contact"}, "limit": 0})
    c.check(ada, "post", "/find", 400, {"filter": "Contact"})
    c.check(ada, "post", "/find", 400, {"filter": {"entity": "Contact"}, "page": 2})
    bad = c.check(ada, "post", "/find", 422, {"filter": {"entity": "Contact", "where": {"all": [
        {"field": "status", "op": "eq", "value": "vip"}, {"field": "phone", "op": "gt", "value": 1}]}}})
    assert set(bad["fields"]) == {"where.all[0].value", "where.all[1].op"}
    c.check(ada, "post", "/find", 422, {"filter": {"entity": "Nope"}})
    assert ada.raw("POST", "/find", "{not json", "application/json").status_code == 400
    assert ada.raw("POST", "/find", "entity=Contact", "text/plain").status_code == 400

    assert c.check(ada, "post", "/find/count", 200, {"filter": {"entity": "Deal"}}) == {
        "count": 6, "exact": True, "total": 6}
    assert c.check(sue, "post", "/find/count", 200, {"filter": {"entity": "Contact"}})["count"] == 1
    c.check(dina, "post", "/find/count", 403, {"filter": {"entity": "Deal"}})
    c.check(ada, "post", "/find/count", 400, {})
    c.check(ada, "post", "/find/count", 422, {"filter": {"entity": "Deal", "where": {"linked": {"via": "nope"}}}})
    assert set(PATHS) <= {p for p, _, _ in c.checked}
