"""Global search over the shipped CRM: names across scripts and spellings, phones in any format, e-mails,
grouped by entity, within the actor's visibility; keys follow edits, merges and bulk imports; a rebuild."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import text

from engine.errors import Forbidden, Problem
from engine.search.keys import query_keys, record_keys
from engine.services import records, search
from engine.services.deployments import deploy_bundle
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]


def found(make_uow: MakeUow, who: Actor, text: str) -> dict[str, list[str]]:
    result = search.search(make_uow(), who, text)
    return {g.entity: [h.title for h in g.hits] for g in result.groups}


def test_keys_meet_across_scripts_spellings_and_phone_formats(bundle_files: dict[str, str]) -> None:
    from engine.config.loader import load_bundle

    contact = load_bundle(bundle_files).entities["Contact"]
    keys = record_keys(contact, {"full_name": "Иванов Пётр", "phone": "+7 (912) 345-67-89",
                                 "email": "P.Ivanov@Mail.ru"}, "RU")
    assert keys == ["ivanov", "petr", "+79123456789", "9123456789", "p.ivanov@mail.ru", "p"]
    assert query_keys("Iwanow", "RU").words == ("ivanov",)
    assert query_keys("Sergei Nikolai", "RU").words == query_keys("Сергей Николай", "RU").words
    assert query_keys("8 912 345 67 89", "RU").exact == ("+79123456789",)
    assert query_keys("912-345", "RU").prefixes == ("912345", "+912345")
    assert query_keys("P.IVANOV@mail", "RU").prefixes == ("p.ivanov@mail",)
    assert query_keys("и", "RU").empty()


def test_search_finds_names_phones_and_emails_grouped_within_visibility(deployed: MakeUow, actors: dict) -> None:
    sam, sue, head, dina = actors["sales"], actors["sales2"], actors["head"], actors["designer"]
    records.create_record(deployed(), sam, "Contact", {"full_name": "Иванов Пётр", "phone": "+7 912 345-67-89",
                                                       "email": "petr@example.ru"}, NOW)
    records.create_record(deployed(), sue, "Contact", {"full_name": "Ivanova Anna", "phone": "89001112233"}, NOW)
    records.create_record(deployed(), sam, "Lead", {"title": "Laptops", "contact_name": "Пётр Иванов"}, NOW)
    assert found(deployed, head, "ivanov") == {"Contact": ["Ivanova Anna", "Иванов Пётр"], "Lead": ["Laptops"]}
    assert found(deployed, sam, "ivanov") == {"Contact": ["Иванов Пётр"], "Lead": ["Laptops"]}  # not sue's
    assert found(deployed, sam, "Петр Ivanov") == {"Contact": ["Иванов Пётр"], "Lead": ["Laptops"]}
    assert found(deployed, head, "8 (912) 3456789") == {"Contact": ["Иванов Пётр"]}
    assert found(deployed, head, "+7 900 111-22-33") == {"Contact": ["Ivanova Anna"]}
    assert found(deployed, head, "PETR@example") == {"Contact": ["Иванов Пётр"]}
    assert found(deployed, head, "smirnov") == {}
    with pytest.raises(Forbidden):
        search.search(deployed(), dina, "ivanov")


def test_a_reassigned_record_is_found_by_its_new_owner_only(deployed: MakeUow, actors: dict) -> None:
    from engine.services.assignment import reassign_records

    sam, sue, head = actors["sales"], actors["sales2"], actors["head"]
    firm = records.create_record(deployed(), sam, "Organization", {"name": "Гаврилов Групп"}, NOW)
    records.create_record(deployed(), head, "Organization", {"name": "Gavrilova Trade"}, NOW, owner_id=None)
    assert found(deployed, sam, "гаврилов") == {"Organization": ["Гаврилов Групп"]}
    assert found(deployed, sue, "гаврилов") == {}
    assert found(deployed, head, "гаврилов") == {"Organization": ["Gavrilova Trade", "Гаврилов Групп"]}  # unowned
    reassign_records(deployed(), head, [firm.id], "sue", NOW)  # the key rows' owner follows (a trigger)
    assert found(deployed, sam, "гаврилов") == {}
    assert found(deployed, sue, "gavrilov grupp") == {"Organization": ["Гаврилов Групп"]}
    with deployed() as uow:  # an owner changed by SQL by hand is followed as well
        uow.session.execute(text("UPDATE record SET owner_id = :sam WHERE id = :id"), {"sam": sam.id, "id": firm.id})
        uow.commit()
    assert found(deployed, sam, "групп") == {"Organization": ["Гаврилов Групп"]}
    assert found(deployed, sue, "групп") == {}


def test_keys_follow_edits_and_a_rebuild_restores_them(deployed: MakeUow, actors: dict) -> None:
    sam, admin = actors["sales"], actors["admin"]
    contact = records.create_record(deployed(), sam, "Contact", {"full_name": "Smirnov Oleg"}, NOW)
    records.update_record(deployed(), sam, contact.id, {"full_name": "Kuznetsov Oleg"}, NOW)
    assert found(deployed, sam, "smirnov") == {}
    assert found(deployed, sam, "кузнецов") == {"Contact": ["Kuznetsov Oleg"]}
    with deployed() as uow:
        uow.session.execute(text("DELETE FROM search_key"))
        uow.commit()
    result = search.search(deployed(), sam, "kuznetsov")
    assert (result.groups, result.stale_index) == ([], True)
    assert search.rebuild_index(deployed(), admin) >= 1
    assert found(deployed, sam, "kuznetsov") == {"Contact": ["Kuznetsov Oleg"]}
    assert not search.search(deployed(), sam, "kuznetsov").stale_index
    with pytest.raises(Forbidden):
        search.rebuild_index(deployed(), sam)


def test_a_deploy_that_makes_a_field_searchable_says_the_keys_need_a_rebuild(
        deployed: MakeUow, actors: dict, bundle_files: dict[str, str]) -> None:
    path = "crm_model/entities/contact.yaml"
    line = next(x for x in bundle_files[path].splitlines() if x.lstrip().startswith("position:"))
    assert "searchable" not in line
    files = {**bundle_files, path: bundle_files[path].replace(line, line.replace("{type: string,",
                                                                                  "{type: string, searchable: true,"))}
    warnings: list[Problem] = []
    deploy_bundle(deployed(), actors["designer"], files, NOW, warnings=warnings)
    assert [(w.file, w.element, w.message) for w in warnings if "search keys" in w.message] == [
        (path, "Contact", "search keys of existing Contact records do not hold position yet: run "
                          "`flowcrm search-index --entity Contact` so the search finds them by it")]


def test_an_edit_replaces_its_keys_by_core_statements_not_the_orms(deployed: MakeUow, actors: dict) -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import ORMExecuteState, Session

    from engine.store.search_models import SearchKeyRow

    sam = actors["sales"]
    contact = records.create_record(deployed(), sam, "Contact", {"full_name": "Smirnov Oleg"}, NOW)
    orm_writes: list[str] = []

    def note(state: ORMExecuteState) -> None:
        mapper = state.bind_mapper
        if (state.is_delete or state.is_insert) and mapper is not None and mapper.class_ is SearchKeyRow:
            orm_writes.append("DELETE" if state.is_delete else "INSERT")

    # the ORM's DELETE of an entity's rows walks every object the session holds to find those it deletes (an
    # import's batch holds thousands of records); no search key is ever loaded as an object
    event.listen(Session, "do_orm_execute", note)
    try:
        records.update_record(deployed(), sam, contact.id, {"full_name": "Kuznetsov Oleg"}, NOW)
    finally:
        event.remove(Session, "do_orm_execute", note)
    assert orm_writes == []
    assert found(deployed, sam, "smirnov") == {}
    assert found(deployed, sam, "кузнецов") == {"Contact": ["Kuznetsov Oleg"]}
