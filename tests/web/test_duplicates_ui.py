"""The duplicate review pages: queue, side-by-side compare, merge through the form, undo from the card."""

from __future__ import annotations

import re

from flask import Flask

from engine.services.records import create_record, get_record, list_records
from engine.store.quality_models import DuplicatePairRow
from tests.conftest import NOW
from tests.web.conftest import as_user, settings, text
from web import create_app


def lead(deployed, actors, title, **data):
    return create_record(deployed(), actors["head"], "Lead", {"title": title, **data}, NOW,
                         owner_id=actors["sales"].id).id


def pair_of(deployed, first, second, score=93.0, entity="Lead"):
    """The pair of two records: detection's if it found one, else one stored as a scan would."""
    low, high = sorted((first, second))
    with deployed() as uow:
        row = uow.merges.pair_between(low, high)
        if row is None:
            row = DuplicatePairRow(entity=entity, record_a_id=low, record_b_id=high, found_by="scan", found_at=NOW)
            uow.session.add(row)
        row.score, row.rule, row.status = score, "same_phone", "open"
        row.reasons = [{"field": "phone", "how": "exact", "a": "+79160000001", "b": "+79160000001", "score": 95}]
        uow.commit()
        return row.id


def two_leads(deployed, actors):
    old = lead(deployed, actors, "Ivan, 20 laptops", phone="+7 916 000-00-01", budget="100000")
    new = lead(deployed, actors, "Ivan Petrov", phone="89160000001", email="ivan@example.com")
    return old, new, pair_of(deployed, old, new)


def test_queue_lists_open_pairs_with_score_and_why(app, deployed, actors):
    _old, _new, pair = two_leads(deployed, actors)
    page = as_user(app, "hank").get("/duplicates")
    assert page.status_code == 200
    body = text(page)
    assert "Duplicate review" in body
    assert "93" in body
    assert "Phone same 95" in body  # the field's label and how it matched, in the user's language
    assert "Телефон совпадает 95" in text(as_user(app, "hank").get("/duplicates?lang=ru"))
    assert f'href="/duplicates/{pair}"' in page.get_data(as_text=True)
    assert 'href="/duplicates"' in as_user(app, "hank").get("/tasks").get_data(as_text=True)  # in the header
    assert 'href="/duplicates"' not in as_user(app, "sam").get("/tasks").get_data(as_text=True)
    assert "Ivan Petrov" in text(as_user(app, "sam").get("/duplicates"))  # his own records
    assert "Ivan Petrov" not in text(as_user(app, "sue").get("/duplicates"))
    assert "No pairs here." in text(as_user(app, "hank").get("/duplicates?tab=decided"))
    assert "No pairs here." in text(as_user(app, "hank").get("/duplicates?entity=Contact"))
    assert as_user(app, "hank").get("/duplicates?entity=Nope").status_code == 404
    assert as_user(app, "dina").get("/duplicates").status_code == 403


def test_compare_shows_both_values_with_defaults_and_what_moves(app, deployed, actors):
    _old, _new, pair = two_leads(deployed, actors)
    html = as_user(app, "hank").get(f"/duplicates/{pair}").get_data(as_text=True)
    assert re.search(r'name="pick.email" value="b"[^>]* checked', html)  # only the newer one has an e-mail
    assert re.search(r'name="pick.budget" value="a"[^>]* checked', html)
    assert 'name="pick.status"' not in html  # equal values need no pick
    assert re.search(r'name="survivor" value="a" checked', html)
    assert "Processes: 1" in text(type("R", (), {"get_data": lambda self, as_text: html})())
    auditor = as_user(app, "otto").get(f"/duplicates/{pair}")
    assert auditor.status_code == 200
    assert 'name="pick.' not in auditor.get_data(as_text=True)
    assert "/merge" not in auditor.get_data(as_text=True)


def test_merge_through_the_form_then_undo_from_the_card(app, deployed, actors):
    old, new, pair = two_leads(deployed, actors)
    hank = as_user(app, "hank")
    revisions = {k: get_record(deployed(), actors["head"], i).revision for k, i in (("a", old), ("b", new))}
    response = hank.post(f"/duplicates/{pair}/merge", data={
        "survivor": "a", "pick.email": "b", "pick.budget": "a", "pick.title": "b",
        "revision_a": revisions["a"], "revision_b": revisions["b"]})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/records/{old}")
    survivor = get_record(deployed(), actors["head"], old)
    assert (survivor.title, survivor.data["email"], survivor.data["budget"]) == ("Ivan Petrov", "ivan@example.com",
                                                                                 "100000")
    assert new not in {r.id for r in list_records(deployed(), actors["head"], "Lead")}
    card = hank.get(f"/records/{old}")
    body = text(card)
    assert re.search(rf"Merge #(\d+): #{new} Ivan Petrov into #{old}", body)
    assert "on merged record Ivan Petrov" in body  # the merged record's history, marked, the record by its title
    merge_id = re.search(r'/merges/(\d+)/undo', card.get_data(as_text=True)).group(1)
    merged_card = text(hank.get(f"/records/{new}"))
    assert f"This record was merged into #{old}" in merged_card
    assert "Merged" in text(hank.get("/duplicates?tab=decided"))

    assert as_user(app, "otto").post(f"/merges/{merge_id}/undo").status_code == 403
    undone = hank.post(f"/merges/{merge_id}/undo")
    assert undone.status_code == 302
    assert undone.headers["Location"].endswith(f"/records/{old}")
    assert get_record(deployed(), actors["head"], old).data["budget"] == "100000"
    assert "email" not in get_record(deployed(), actors["head"], old).data
    assert new in {r.id for r in list_records(deployed(), actors["head"], "Lead")}
    assert hank.post(f"/merges/{merge_id}/undo").status_code == 409
    assert "merged into" not in text(hank.get(f"/records/{new}"))


def test_a_stale_compare_is_a_conflict_and_merges_nothing(app, deployed, actors):
    old, _new, pair = two_leads(deployed, actors)
    response = as_user(app, "hank").post(f"/duplicates/{pair}/merge", data={"survivor": "b", "revision_a": 0,
                                                                           "revision_b": 0})
    assert response.status_code == 409
    assert "changed by someone else" in text(response)
    assert old in {r.id for r in list_records(deployed(), actors["head"], "Lead")}


def test_related_and_dismiss_decide_the_pair(app, deployed, actors):
    old, _new, pair = two_leads(deployed, actors)
    other = lead(deployed, actors, "Maria", phone="+7 916 000-00-09")
    second = pair_of(deployed, old, other, score=60.0)
    hank = as_user(app, "hank")
    assert hank.post(f"/duplicates/{pair}/related", data={"relationship": "enemy"}).status_code == 422
    response = hank.post(f"/duplicates/{pair}/related", data={"relationship": "same_household"})
    assert response.status_code == 302
    links = text(hank.get(f"/records/{old}"))
    assert "Same household" in links
    assert hank.post(f"/duplicates/{second}/dismiss").status_code == 302
    decided = text(hank.get("/duplicates?tab=decided"))
    assert "Related" in decided
    assert "Not a duplicate" in decided
    assert hank.post(f"/duplicates/{second}/dismiss").status_code == 409
    assert as_user(app, "otto").post(f"/duplicates/{pair}/dismiss").status_code == 403


def test_forms_need_the_csrf_token(db_url, deployed, actors):
    _old, _new, pair = two_leads(deployed, actors)
    app: Flask = create_app(settings(db_url, UOW_FACTORY=deployed, WTF_CSRF_ENABLED=True))
    browser = app.test_client()
    login_page = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    assert browser.post("/login", data={"username": "hank", "password": "correct-horse-1",
                                        "csrf_token": token}).status_code == 302
    assert browser.post(f"/duplicates/{pair}/dismiss").status_code == 400
    page = browser.get(f"/duplicates/{pair}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert browser.post(f"/duplicates/{pair}/dismiss", data={"csrf_token": token}).status_code == 302


def test_pages_speak_russian(app, deployed, actors):
    two_leads(deployed, actors)
    page = text(as_user(app, "hank").get("/duplicates?lang=ru"))
    assert "Проверка дублей" in page
    assert "Сравнить" in page
