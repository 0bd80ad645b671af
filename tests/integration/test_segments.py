"""Segments (saved filters) and mass actions on what they find: permissions, all-or-nothing, history, rules, cap."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.errors import Forbidden, NotFound, ValidationError
from engine.services import mass_actions
from engine.services.mass_actions import parse_action, run_action, run_segment_action
from engine.services.records import create_record, get_record, record_history
from engine.services.segments import (
    create_segment,
    delete_segment,
    find_segment,
    get_segment,
    list_segments,
    run_segment,
    update_segment,
)
from engine.services.views import Actor, FieldChangeView, RecordView
from engine.store.models import InstanceRow, TaskRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]
VIP = {"entity": "Contact", "where": {"all": [{"field": "tags", "op": "has_any", "value": ["vip"]}]}}
ALL_CONTACTS = {"entity": "Contact"}
AUDITOR = Actor(None, "check", "check", frozenset({"auditor"}))


def contact(make_uow: MakeUow, actors: dict[str, Actor], name: str, owner: str | None = None,
            **data: Any) -> RecordView:
    """A Contact (reachable by e-mail unless told otherwise) created by the admin, owned by the actor of key
    `owner` (None: unowned)."""
    owner_id = actors[owner].id if owner else None
    data.setdefault("email", f"{name.lower().replace(' ', '.')}@example.com")
    return create_record(make_uow(), actors["admin"], "Contact", {"full_name": name, **data}, NOW,
                         owner_id=owner_id)


def history(make_uow: MakeUow, record_id: int, field: str) -> list[FieldChangeView]:
    """The record's history rows of one field, oldest first."""
    return [c for c in record_history(make_uow(), AUDITOR, record_id) if c.field == field]


def test_sales_saves_a_segment_everyone_reading_records_sees_it(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    saved = create_segment(deployed(), actors["sales"], "Contact", "VIP clients", VIP, NOW, description="top")
    assert saved.filter == VIP
    assert saved.created_by == "sam"
    for key in ("sales2", "head", "admin", "auditor"):
        assert [s.name for s in list_segments(deployed(), actors[key])] == ["VIP clients"]
    assert get_segment(deployed(), actors["auditor"], saved.id).description == "top"
    assert find_segment(deployed(), actors["head"], "VIP clients").id == saved.id
    assert find_segment(deployed(), actors["head"], str(saved.id)).name == "VIP clients"
    with pytest.raises(Forbidden):
        list_segments(deployed(), actors["designer"])


def test_names_are_unique_per_entity_and_filters_are_checked_at_save(deployed: MakeUow,
                                                                      actors: dict[str, Actor]) -> None:
    create_segment(deployed(), actors["sales"], "Contact", "VIP", VIP, NOW)
    with pytest.raises(ValidationError) as exc:
        create_segment(deployed(), actors["head"], "Contact", "VIP", VIP, NOW)
    assert "already exists" in exc.value.errors["name"][0]
    create_segment(deployed(), actors["head"], "Deal", "VIP", {"entity": "Deal"}, NOW)  # another entity: fine
    bad = {"entity": "Contact", "where": {"all": [{"field": "tags", "op": "has_any", "value": ["vip"]},
                                                  {"field": "nosuch", "op": "eq", "value": 1},
                                                  {"field": "status", "op": "gt", "value": "x"}]}}
    with pytest.raises(ValidationError) as exc:
        create_segment(deployed(), actors["sales"], "Contact", "", bad, NOW)
    assert set(exc.value.errors) == {"name", "filter.where.all[1].field", "filter.where.all[2].op"}
    with pytest.raises(ValidationError) as exc:
        create_segment(deployed(), actors["sales"], "Contact", "Deals", {"entity": "Deal"}, NOW)
    assert "filter.entity" in exc.value.errors
    with pytest.raises(NotFound):
        create_segment(deployed(), actors["sales"], "Nothing", "x", {}, NOW)


def test_only_the_creator_or_an_admin_changes_a_segment(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    saved = create_segment(deployed(), actors["sales"], "Contact", "Mine", VIP, NOW)
    for key in ("sales2", "head", "auditor", "designer"):
        with pytest.raises(Forbidden):
            update_segment(deployed(), actors[key], saved.id, NOW, name="Taken over")
        with pytest.raises(Forbidden):
            delete_segment(deployed(), actors[key], saved.id)
    with pytest.raises(Forbidden):
        create_segment(deployed(), actors["auditor"], "Contact", "Audit", VIP, NOW)
    changed = update_segment(deployed(), actors["sales"], saved.id, NOW, name="Mine, renamed",
                             filter=ALL_CONTACTS, description="all of them")
    assert (changed.name, changed.filter, changed.description) == ("Mine, renamed", ALL_CONTACTS, "all of them")
    with pytest.raises(ValidationError) as exc:
        update_segment(deployed(), actors["admin"], saved.id, NOW, filter={"where": {"field": "x"}})
    assert "filter.where.field" in exc.value.errors
    delete_segment(deployed(), actors["admin"], saved.id)
    with pytest.raises(NotFound):
        get_segment(deployed(), actors["sales"], saved.id)


def test_segment_results_are_limited_by_record_visibility(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    mine = contact(deployed, actors, "Anna VIP", "sales", tags=["vip"])
    contact(deployed, actors, "Other VIP", "sales2", tags=["vip"])
    contact(deployed, actors, "Unowned VIP", tags=["vip"])
    contact(deployed, actors, "Plain", "sales")
    saved = create_segment(deployed(), actors["sales"], "Contact", "VIP", VIP, NOW)
    page = run_segment(deployed(), actors["sales"], saved.id, NOW)
    assert ([r.id for r in page.items], page.total) == ([mine.id], 1)
    assert run_segment(deployed(), actors["head"], saved.id, NOW).total == 3
    two = run_segment(deployed(), actors["auditor"], saved.id, NOW, limit=2)
    assert (len(two.items), two.total) == (2, 3)


def test_tagging_a_segment_writes_history_and_skips_records_already_tagged(deployed: MakeUow,
                                                                           actors: dict[str, Actor]) -> None:
    first = contact(deployed, actors, "First", "sales", phone="+74951234567")
    second = contact(deployed, actors, "Second", "sales", phone="+74951234568", tags=["partner"])
    third = contact(deployed, actors, "Third", "sales", phone="+74951234569", tags=["vip"])
    saved = create_segment(deployed(), actors["sales"], "Contact", "All", ALL_CONTACTS, NOW)
    summary = run_segment_action(deployed(), actors["sales"], saved.id, parse_action({"action": "tag", "code": "vip"}),
                                 NOW)
    assert (summary.records, summary.changed, summary.skipped, summary.errors) == (3, 2, 1, [])
    assert get_record(deployed(), actors["sales"], second.id).data["tags"] == ["partner", "vip"]
    (change,) = history(deployed, first.id, "tags")[-1:]
    assert (change.old_value, change.new_value, change.actor) == (None, ["vip"], "sam")
    assert change.source == "mass action: segment All"
    assert len(history(deployed, third.id, "tags")) == 1  # only its creation
    removed = run_action(deployed(), actors["sales"], VIP, parse_action({"action": "untag", "code": "vip",
                                                                          "field": "tags"}), NOW)
    assert (removed.records, removed.changed) == (3, 3)
    assert get_record(deployed(), actors["sales"], second.id).data["tags"] == ["partner"]


def test_setting_a_field_runs_the_rules_as_an_ordinary_edit(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    ids = [contact(deployed, actors, f"C{i}", "sales", phone=f"+7495123456{i}", email=None).id for i in range(3)]
    with deployed() as uow:
        before = {t.record_id for t in uow.session.query(TaskRow).all()}
    summary = run_action(deployed(), actors["sales"], ALL_CONTACTS,
                         parse_action({"action": "set", "field": "phone", "value": None}), NOW)
    assert (summary.records, summary.changed) == (3, 3)
    with deployed() as uow:  # the contact_without_phone_or_email rule gave each one a task
        tasks = {t.record_id for t in uow.session.query(TaskRow).all() if t.title == "Добавить телефон или e-mail"}
    assert set(ids) <= tasks - before
    assert history(deployed, ids[0], "phone")[-1].new_value is None


def test_bad_action_values_are_refused_before_anything_changes(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    contact(deployed, actors, "One", "sales")
    cases = [({"action": "set", "field": "status", "value": "nonsense"}, "value"),
             ({"action": "set", "field": "full_name", "value": None}, "value"),
             ({"action": "set", "field": "nosuch", "value": 1}, "field"),
             ({"action": "tag", "code": "nosuch"}, "code"),
             ({"action": "tag", "code": "vip", "field": "status"}, "field"),
             ({"action": "start", "process": "deal"}, "process"),
             ({"action": "start", "process": "nosuch"}, "process")]
    for data, key in cases:
        with pytest.raises(ValidationError) as exc:
            run_action(deployed(), actors["sales"], ALL_CONTACTS, parse_action(data), NOW)
        assert key in exc.value.errors, (data, exc.value.errors)
    for data in ({"action": "explode"}, {"action": "assign"}, {"action": "tag", "code": "vip", "extra": 1}, []):
        with pytest.raises(ValidationError):
            parse_action(data)


def test_a_record_that_fails_leaves_every_record_unchanged(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    ids = [contact(deployed, actors, f"C{i}", "sales").id for i in range(4)]
    with deployed() as uow:  # a tag code the catalog no longer has: this record's new tag list is refused
        row = uow.records.get(ids[2])
        assert row is not None
        row.data = {**row.data, "tags": ["retired-code"]}
        uow.commit()
    with pytest.raises(ValidationError) as exc:
        run_action(deployed(), actors["sales"], ALL_CONTACTS, parse_action({"action": "tag", "code": "vip"}), NOW)
    messages = exc.value.errors["records"]
    assert "nothing was changed" in messages[0]
    assert any(f"#{ids[2]} C2" in m and "tags: must be one of" in m for m in messages), messages
    for record_id in ids:
        assert "vip" not in get_record(deployed(), actors["sales"], record_id).data.get("tags", [])
        assert history(deployed, record_id, "tags") == []
    preview = run_action(deployed(), actors["sales"], ALL_CONTACTS, parse_action({"action": "tag", "code": "vip"}),
                         NOW, dry_run=True)
    assert (preview.records, preview.changed, len(preview.errors), preview.dry_run) == (4, 3, 1, True)
    assert all("vip" not in get_record(deployed(), actors["sales"], i).data.get("tags", []) for i in ids)


def test_a_write_a_rule_refuses_mid_way_leaves_every_record_unchanged(deployed: MakeUow, actors: dict[str, Actor],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A field rules watch is written record by record (a rule may change the next record's plan)."""
    ids = [contact(deployed, actors, f"C{i}", "sales", phone=f"+7495123456{i}").id for i in range(4)]
    real = mass_actions.write_fields

    def failing_on_third(uow: UnitOfWork, row: Any, values: dict[str, Any], **kwargs: Any) -> Any:
        if row.id == ids[2]:
            raise ValidationError({"phone": ["refused for this one"]})
        return real(uow, row, values, **kwargs)

    monkeypatch.setattr(mass_actions, "write_fields", failing_on_third)
    with pytest.raises(ValidationError) as exc:
        run_action(deployed(), actors["sales"], ALL_CONTACTS,
                   parse_action({"action": "set", "field": "phone", "value": "+74959999999"}), NOW)
    assert any(f"#{ids[2]} C2" in m and "refused for this one" in m for m in exc.value.errors["records"])
    for i, record_id in enumerate(ids):
        assert get_record(deployed(), actors["sales"], record_id).data["phone"] == f"+7495123456{i}"


def test_more_records_than_the_cap_asks_to_narrow_the_segment(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    for i in range(3):
        contact(deployed, actors, f"C{i}", "sales")
    with pytest.raises(ValidationError) as exc:
        run_action(deployed(), actors["sales"], ALL_CONTACTS, parse_action({"action": "tag", "code": "vip"}), NOW,
                   limit=2)
    assert "finds 3 records" in exc.value.errors[""][0]
    assert "narrow" in exc.value.errors[""][0]
    assert mass_actions.MAX_RECORDS == 5000


def test_head_of_sales_assigns_an_owner_with_history(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    owned = contact(deployed, actors, "Owned by sue", "sales2")
    free = contact(deployed, actors, "Unowned")
    already = contact(deployed, actors, "Sam's", "sales")
    action = parse_action({"action": "assign", "to": "sam"})
    with pytest.raises(Forbidden):
        run_action(deployed(), actors["sales"], ALL_CONTACTS, action, NOW)
    summary = run_action(deployed(), actors["head"], ALL_CONTACTS, action, NOW)
    assert (summary.records, summary.changed, summary.skipped) == (3, 2, 1)
    for record in (owned, free, already):
        assert get_record(deployed(), actors["admin"], record.id).owner == "sam"
    (change,) = history(deployed, owned.id, "owner")
    assert (change.old_value, change.new_value, change.actor) == ("sue", "sam", "hank")
    with pytest.raises(ValidationError) as exc:
        run_action(deployed(), actors["head"], ALL_CONTACTS, parse_action({"action": "assign", "to": "otto"}), NOW)
    assert "to" in exc.value.errors


def test_starting_a_process_for_each_record_skips_those_already_in_it(deployed: MakeUow,
                                                                      actors: dict[str, Actor]) -> None:
    ids = [contact(deployed, actors, f"C{i}", "sales").id for i in range(2)]
    action = parse_action({"action": "start", "process": "account_management"})
    first = run_action(deployed(), actors["sales"], ALL_CONTACTS, action, NOW)
    assert (first.changed, first.skipped) == (2, 0)
    again = run_action(deployed(), actors["sales"], ALL_CONTACTS, action, NOW)
    assert (again.changed, again.skipped) == (0, 2)
    with deployed() as uow:
        started = sorted(i.record_id for i in uow.session.query(InstanceRow).all() if i.record_id in ids)
    assert started == ids
    with pytest.raises(Forbidden):
        run_action(deployed(), actors["auditor"], ALL_CONTACTS, action, NOW)


def test_command_line_saves_lists_exports_and_acts_on_segments(db_url: str, deployed: MakeUow,
                                                               actors: dict[str, Actor], tmp_path: Any) -> None:
    import json

    from click.testing import CliRunner

    import cli

    ids = [contact(deployed, actors, f"C{i}", "sales").id for i in range(2)]
    runner = CliRunner()
    base = ["--database-url", db_url, "segment"]
    (tmp_path / "f.json").write_text(json.dumps(ALL_CONTACTS), encoding="utf-8")
    saved = runner.invoke(cli.main, [*base, "save", "Everyone", "--entity", "Contact", "--filter",
                                     f"@{tmp_path / 'f.json'}", "--as", "sam"])
    assert saved.exit_code == 0, saved.output
    assert "Contact / Everyone" in saved.output
    assert runner.invoke(cli.main, [*base, "list"]).output.split() == ["1", "Contact", "Everyone", "sam"]
    out = tmp_path / "everyone.csv"
    exported = runner.invoke(cli.main, [*base, "export", "Everyone", "--format", "csv", "-o", str(out),
                                        "--columns", "full_name"])
    assert exported.exit_code == 0, exported.output
    assert "2 record(s) written" in exported.output
    assert out.read_text(encoding="utf-8").splitlines() == ["\ufeffFull name", "C0", "C1"]
    tagged = runner.invoke(cli.main, [*base, "action", "Everyone", "--tag", "vip", "--as", "sam"])
    assert tagged.exit_code == 0, tagged.output
    assert "2 record(s), 2 changed" in tagged.output
    assert all(get_record(deployed(), actors["sales"], i).data["tags"] == ["vip"] for i in ids)
    refused = runner.invoke(cli.main, [*base, "action", "Everyone", "--assign", "sue", "--as", "sam"])
    assert refused.exit_code == 1
    assert "may not assign owners" in refused.output
    both = runner.invoke(cli.main, [*base, "action", "Everyone", "--tag", "vip", "--start", "x", "--as", "sam"])
    assert both.exit_code == 1
    assert "exactly one" in both.output
    missing = runner.invoke(cli.main, [*base, "export", "Nobody", "-o", str(out)])
    assert missing.exit_code == 1
    assert "no segment named 'Nobody'" in missing.output


def test_demo_seed_ships_example_segments_once(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    from engine.demo import seed
    from tests.conftest import ROOT

    assert seed(deployed, ROOT / "demo" / "seed.yaml", NOW)["segments"] == 3
    assert seed(deployed, ROOT / "demo" / "seed.yaml", NOW)["segments"] == 0
    by_name = {s.name: s for s in list_segments(deployed(), AUDITOR)}
    assert set(by_name) == {"Клиенты с выигранной сделкой", "Контакты без телефона и e-mail",
                            "Открытые сделки больше 100 000"}
    buyers = run_segment(deployed(), AUDITOR, by_name["Клиенты с выигранной сделкой"].id, NOW, limit=100)
    assert "Иван Соколов" in [r.title for r in buyers.items]
    unreachable = run_segment(deployed(), AUDITOR, by_name["Контакты без телефона и e-mail"].id, NOW)
    assert "Светлана Кузьмина" in [r.title for r in unreachable.items]
