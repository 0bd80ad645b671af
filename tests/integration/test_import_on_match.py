"""A row matching an existing record never folds silently: on_match update | update_empty | skip | review, history
per row, the review queue, and dates read by a per-column format."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.config.loader import load_bundle, read_bundle_dir
from engine.quality.scan import scan
from engine.services.imports import ImportJobView, create_job, get_job, job_rejects
from engine.services.records import create_record, get_record
from engine.services.views import Actor
from engine.store.models import RecordRow
from engine.store.quality_models import DuplicatePairRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT

Factory = Callable[[], UnitOfWork]


def clock() -> datetime:
    return NOW


def run(make_uow: Factory, actor: Actor, path: Path, **options: Any) -> ImportJobView:
    from engine.imports.run import run_import

    job = create_job(make_uow(), actor, "Contact", path.name, path, NOW, **options)
    run_import(make_uow, job.id, clock)
    return get_job(make_uow(), actor, job.id)


def contacts(make_uow: Factory) -> list[RecordRow]:
    uow = make_uow()
    with uow:
        found = uow.session.query(RecordRow).filter(RecordRow.entity == "Contact").order_by(RecordRow.id).all()
        uow.session.expunge_all()
        return found


def open_pairs(make_uow: Factory) -> list[tuple[int, int, str, str]]:
    uow = make_uow()
    with uow:
        return [(p.record_a_id, p.record_b_id, p.found_by, p.rule)
                for p in uow.session.query(DuplicatePairRow).filter(DuplicatePairRow.status == "open")]


def history(make_uow: Factory, record_id: int) -> list[tuple[str, str, Any]]:
    uow = make_uow()
    with uow:
        return [(c.source, c.field, c.new_value) for c in uow.records.changes(record_id)]


def existing_ivan(make_uow: Factory, sam: Actor) -> int:
    return create_record(make_uow(), sam, "Contact", {"full_name": "Ivan Ivanov", "email": "ivan@example.com",
                                                      "position": "CTO", "relationship": "client"}, NOW,
                         owner_id=sam.id).id  # not the default relationship: a row without one does not disagree


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "contacts.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_match_with_differing_values_goes_to_review_instead_of_losing_them(deployed: Factory,
                                                                             actors: dict[str, Actor],
                                                                             tmp_path: Path) -> None:
    # the exact rule same_phone matches; the row disagrees on position: update_empty (the default) may not keep
    # the record's value and drop the file's, so the row becomes a record of its own with a pair to review
    sam = actors["sales"]
    ivan = create_record(deployed(), sam, "Contact", {"full_name": "Ivan Ivanov", "phone": "8 (912) 345-67-89",
                                                      "position": "CTO"}, NOW, owner_id=sam.id).id
    path = _file(tmp_path, "Name,Phone,Position\nIvan Ivanov,+7 912 345-67-89,CEO\n")
    job = run(deployed, sam, path, mode="valid_only")
    assert job.counts == {"created": 0, "updated": 0, "merged": 0, "skipped": 0, "rejected": 0, "review": 1,
                          "rule_pairs": 0}
    records = contacts(deployed)
    assert [r.data.get("position") for r in records] == ["CTO", "CEO"]
    new = records[1].id
    assert open_pairs(deployed) == [(ivan, new, "import", "same_phone")]
    assert (f"import #{job.id} row 2", "position", "CEO") in history(deployed, new)


def test_two_rows_of_a_file_that_disagree_are_both_kept_and_paired(deployed: Factory, actors: dict[str, Actor],
                                                                    tmp_path: Path) -> None:
    path = _file(tmp_path, "Name,Email\nAnna Petrova,anna@example.com\nAnna Smirnova,anna@example.com\n")
    job = run(deployed, actors["sales"], path)
    assert (job.counts["created"], job.counts["review"], job.counts["merged"]) == (1, 1, 0)
    first, second = (r.id for r in contacts(deployed))
    assert open_pairs(deployed) == [(first, second, "import", "match_on email")]


def test_on_match_update_takes_the_files_values_with_history_per_row(deployed: Factory, actors: dict[str, Actor],
                                                                     tmp_path: Path) -> None:
    sam = actors["sales"]
    ivan = existing_ivan(deployed, sam)
    path = _file(tmp_path, "Name,Email,Position\nNobody,nobody@example.com,\nIvan Ivanov,ivan@example.com,CEO\n")
    job = run(deployed, sam, path, on_match="update")
    assert job.counts == {"created": 1, "updated": 1, "merged": 0, "skipped": 0, "rejected": 0, "review": 0,
                          "rule_pairs": 0}
    assert get_record(deployed(), sam, ivan).data["position"] == "CEO"
    assert (f"import #{job.id} row 3", "position", "CEO") in history(deployed, ivan)
    assert open_pairs(deployed) == []


def test_on_match_skip_leaves_the_record_and_counts_the_row(deployed: Factory, actors: dict[str, Actor],
                                                             tmp_path: Path) -> None:
    sam = actors["sales"]
    ivan = existing_ivan(deployed, sam)
    path = _file(tmp_path, "Name,Email,Position\nIvan Ivanov,ivan@example.com,CEO\n")
    job = run(deployed, sam, path, on_match="skip")
    assert job.counts == {"created": 0, "updated": 0, "merged": 0, "skipped": 1, "rejected": 0, "review": 0,
                          "rule_pairs": 0}
    assert get_record(deployed(), sam, ivan).data["position"] == "CTO"
    assert len(contacts(deployed)) == 1


def test_on_match_review_queues_even_an_agreeing_row(deployed: Factory, actors: dict[str, Actor],
                                                     tmp_path: Path) -> None:
    sam = actors["sales"]
    ivan = existing_ivan(deployed, sam)
    path = _file(tmp_path, "Name,Email,Phone\nIvan Ivanov,ivan@example.com,+7 912 345-67-89\n")
    job = run(deployed, sam, path, on_match="review")
    assert job.counts["review"] == 1
    assert get_record(deployed(), sam, ivan).data.get("phone") is None
    (new,) = (r.id for r in contacts(deployed) if r.id != ivan)
    assert open_pairs(deployed) == [(ivan, new, "import", "match_on email")]
    uow = deployed()
    with uow:
        (pair,) = uow.session.query(DuplicatePairRow).all()
        assert pair.reasons == [{"field": "email", "how": "exact", "a": "ivan@example.com", "b": "ivan@example.com",
                                 "score": 100.0}]


def test_update_empty_fills_empty_fields_when_nothing_disagrees(deployed: Factory, actors: dict[str, Actor],
                                                                tmp_path: Path) -> None:
    sam = actors["sales"]
    ivan = existing_ivan(deployed, sam)
    path = _file(tmp_path, "Name,Email,Phone\nivan  ivanov,ivan@example.com,+7 912 345-67-89\n")
    job = run(deployed, sam, path)
    assert (job.counts["updated"], job.counts["review"]) == (1, 0)
    record = get_record(deployed(), sam, ivan)
    assert (record.data["full_name"], record.data["phone"]) == ("Ivan Ivanov", "+7 912 345-67-89")
    assert (f"import #{job.id} row 2", "phone", "+7 912 345-67-89") in history(deployed, ivan)


def test_an_unknown_on_match_is_refused_when_the_job_is_made(deployed: Factory, actors: dict[str, Actor],
                                                             tmp_path: Path) -> None:
    import pytest

    from engine.errors import ValidationError

    path = _file(tmp_path, "Name\nX\n")
    with pytest.raises(ValidationError, match="on_match"):
        create_job(deployed(), actors["sales"], "Contact", path.name, path, NOW, on_match="fold")


def test_a_date_column_reads_by_its_format_and_names_the_row_otherwise(deployed: Factory,
                                                                       actors: dict[str, Actor],
                                                                       tmp_path: Path) -> None:
    path = _file(tmp_path, "Name,Repeat sale offered for purchase of\nA One,19560409\nB Two,1956-04-09\n")
    job = run(deployed, actors["sales"], path, mode="valid_only",
              date_formats={"Repeat sale offered for purchase of": "%Y%m%d"})
    assert (job.counts["created"], job.counts["rejected"]) == (1, 1)
    assert contacts(deployed)[0].data["repeat_sale_for"] == "1956-04-09"
    (reject,) = job_rejects(deployed(), actors["sales"], job.id)
    assert reject.row_number == 3
    assert reject.errors == [{"column": "Repeat sale offered for purchase of",
                              "reason": "'1956-04-09' is not a date in the format %Y%m%d (like 20260301)",
                              "code": "import.not_date_in_format",
                              "params": {"value": "1956-04-09", "format": "%Y%m%d", "sample": "20260301"}}]


def test_a_date_format_of_a_column_that_is_not_a_date_is_refused(deployed: Factory, actors: dict[str, Actor],
                                                                  tmp_path: Path) -> None:
    import pytest

    from engine.errors import ValidationError

    path = _file(tmp_path, "Name,Email\nA,a@example.com\n")
    with pytest.raises(ValidationError, match="Email"):
        create_job(deployed(), actors["sales"], "Contact", path.name, path, NOW, date_formats={"Email": "%Y%m%d"})
    with pytest.raises(ValidationError, match="Nope"):
        create_job(deployed(), actors["sales"], "Contact", path.name, path, NOW, date_formats={"Nope": "%Y%m%d"})


def test_a_rescan_leaves_open_the_pairs_an_import_queued_for_review(deployed: Factory, actors: dict[str, Actor],
                                                                     tmp_path: Path) -> None:
    sam = actors["sales"]
    ivan = existing_ivan(deployed, sam)
    job = run(deployed, sam, _file(tmp_path, "Name,Email\nIvan Ivanov,ivan@example.com\n"), on_match="review")
    assert job.counts["review"] == 1
    queued = open_pairs(deployed)
    assert [(a, found_by) for a, _, found_by, _ in queued] == [(ivan, "import")]
    # rules that cannot find this pair again (an import's match_on key is no rule): the scan must not close it
    files = read_bundle_dir(ROOT)
    files["crm_model/duplicates/contact.yaml"] = (
        "entity: Contact\nkeys:\n  phone: {field: phone, normalize: phone}\n"
        "rules:\n  - {name: same_phone, match: exact, key: phone, score: 95}\n")
    uow = deployed()
    with uow:
        report = scan(uow, load_bundle(files), "Contact", NOW)
        uow.commit()
    assert report.closed == 0
    assert open_pairs(deployed) == queued


def test_a_row_is_the_oldest_of_the_records_holding_its_match_on_key(deployed: Factory, actors: dict[str, Actor],
                                                                      tmp_path: Path) -> None:
    # two records hold one e-mail (an earlier import sent a row to review: the pair waits for a person); the row
    # is the oldest of them, whatever order the database returns them in. Here both SQLite (through the index on
    # entity and owner) and PostgreSQL (the changed record's new version lands after the other in the table)
    # return the newer one first: the row was sent to review with it instead of being the record it repeats.
    from engine.services.records import update_record

    sam, ada = actors["sales"], actors["admin"]
    assert sam.id is not None
    assert ada.id is not None
    assert sam.id < ada.id  # the newer record, owned by sam, comes first in the index on (entity, owner)
    anna = create_record(deployed(), ada, "Contact", {"full_name": "Anna Petrova", "email": "anna@example.com"},
                         NOW, owner_id=ada.id).id
    other = create_record(deployed(), ada, "Contact", {"full_name": "Anna Smirnova", "email": "anna@example.com"},
                          NOW, owner_id=sam.id).id
    update_record(deployed(), ada, anna, {"position": "CFO"}, NOW)
    path = _file(tmp_path, "Name,Email,Position\nAnna Petrova,anna@example.com,CFO\n")
    for dry_run in (True, False):
        job = run(deployed, ada, path, mode="valid_only", dry_run=dry_run)
        assert job.counts == {"created": 0, "updated": 0, "merged": 0, "skipped": 1, "rejected": 0, "review": 0,
                              "rule_pairs": 0}, dry_run
    assert [r.id for r in contacts(deployed)] == [anna, other]
