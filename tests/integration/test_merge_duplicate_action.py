"""The seed mechanic end to end: a newer lead closed with the final action "duplicate" of another manager's older
lead gives the head of sales a review task; detection's pair of the two stays open in the queue, and merging the
newer lead into the older one (and undoing it) keeps the review, the tasks and the links consistent."""

from __future__ import annotations

from engine.quality.merge import merge_records, undo_merge
from engine.quality.review import get_pair, list_pairs
from engine.services import records, tasks
from engine.services.links import record_links
from tests.conftest import NOW
from tests.integration.test_crm_bundle import lead_in_pipeline
from tests.integration.test_sales_processes import reviews

PHONE = "+7 916 555-44-33"


def test_duplicate_final_action_review_and_merge_of_the_pair(deployed, actors) -> None:
    sam, sue, head = actors["sales"], actors["sales2"], actors["head"]
    original = records.create_record(deployed(), head, "Lead", {"title": "First request", "phone": PHONE,
                                                                "company": "Romashka"}, NOW, owner_id=sue.id).id
    newer, advance = lead_in_pipeline(deployed, actors, request_type="partner_referral", phone="8 916 555 44 33")
    tasks.complete_task(deployed(), sam, advance.id, {"next_step": "duplicate", "duplicate_of": original}, NOW)
    [review] = reviews(deployed, head, original)
    closed = records.get_record(deployed(), head, newer)
    assert (closed.data["request_stage"], closed.data["duplicate_of"]) == ("lost", original)

    [pair] = [p for p in list_pairs(deployed(), head, entity="Lead")
              if {p.record_a_id, p.record_b_id} == {original, newer}]  # detection found it on create
    assert pair.status == "open"
    assert any(r["field"] == "phone" for r in pair.reasons)
    assert get_pair(deployed(), head, pair.id).can_merge
    assert pair.id not in {p.id for p in list_pairs(deployed(), sue)}  # not both hers

    merge_id = merge_records(deployed(), head, original, newer, {"request_type": "merged"}, NOW, pair_id=pair.id)
    assert [r.id for r in reviews(deployed, head, original)] == [review.id]  # the review stays where it was
    survivor = records.get_record(deployed(), head, original)
    assert survivor.data["request_type"] == "partner_referral"
    assert "duplicate_of" not in survivor.data
    assert {t.record_id for t in tasks.record_tasks(deployed(), head, original)} == {original}
    assert len(tasks.record_tasks(deployed(), head, original)) > 1  # the newer lead's finished tasks moved
    assert [link.record_id for link in record_links(deployed(), head, original).incoming] == []  # no self-link
    assert get_pair(deployed(), head, pair.id).pair.status == "merged"

    undo_merge(deployed(), head, merge_id, NOW)
    assert get_pair(deployed(), head, pair.id).pair.status == "open"
    assert [(link.record_id, link.field) for link in record_links(deployed(), head, original).incoming] == [
        (newer, "duplicate_of")]
    assert [r.id for r in reviews(deployed, head, original)] == [review.id]
