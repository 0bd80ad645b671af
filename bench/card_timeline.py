"""The card's timeline and reference picker against the reads they sit beside, interleaved in one run: the first
timeline page (30 entries) of a contact with 1,000 field changes, 300 calls and 100 tasks done against its first
history page (50 changes); the picker's choices over 20,000 contacts against one page of the contact list (25).
`python -m bench.card_timeline [--postgres URL] [--repeats N]`."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from bench.common import NOW, run_on_both, summary_ms, timed
from engine.bootstrap import UowFactory
from engine.services import records
from engine.services.timeline import record_timeline
from engine.services.titles import reference_choices
from engine.services.users import create_user, get_actor
from engine.store.models import FieldChangeRow, RecordLinkRow, TaskRow

CHANGES, CALLS, TASKS, CONTACTS = 1000, 300, 100, 20_000


def _seed(factory: UowFactory, admin: Any) -> int:
    contact = records.create_record(factory(), admin, "Contact", {"full_name": "Анна Long History"}, NOW).id
    with factory() as uow:
        uow.session.add_all(FieldChangeRow(record_id=contact, at=NOW + timedelta(seconds=n), actor="bench",
                                           source="edit", field="position", old_value=None, new_value=f"p{n}")
                            for n in range(CHANGES))
        calls = uow.records.insert_many([
            {"entity": "Activity", "title": f"Call {n}", "data": {"subject": f"Call {n}", "kind": "call",
                                                                  "contact": contact, "agreed": f"agreed {n}"},
             "owner_id": None, "created_at": NOW + timedelta(seconds=2 * n), "created_by": "bench",
             "updated_at": NOW, "revision": 1} for n in range(CALLS)])
        uow.session.add_all(RecordLinkRow(from_record_id=i, to_record_id=contact, kind="reference", field="contact",
                                          created_at=NOW, created_by="bench") for i in calls)
        uow.session.add_all(TaskRow(id=str(uuid.uuid4()), instance_id=None, record_id=contact, spec_name="bench",
                                    title=f"Task {n}", form_key=None, lane=None, candidate_groups="",
                                    candidate_users="", assignee_id=None, state="completed", due_at=None,
                                    created_at=NOW, completed_at=NOW + timedelta(seconds=3 * n), completed_by="bench")
                            for n in range(TASKS))
        for start in range(0, CONTACTS, 5000):
            uow.records.insert_many([
                {"entity": "Contact", "title": f"Контакт {n:05d}", "data": {"full_name": f"Контакт {n:05d}"},
                 "owner_id": None, "created_at": NOW, "created_by": "bench", "updated_at": NOW, "revision": 1}
                for n in range(start, min(start + 5000, CONTACTS))])
        uow.commit()
    return contact


def measure(factory: UowFactory, repeats: int) -> dict[str, Any]:
    """Each read `repeats` times, interleaved; medians and the ratios to their baselines."""
    user = create_user(factory(), "bench_admin", "bench-password-1", ["admin"], NOW)
    admin = get_actor(factory(), user.id)
    contact = _seed(factory, admin)
    reads = {
        "timeline_page_30": lambda: record_timeline(factory(), admin, contact, limit=30),
        "history_page_50": lambda: records.record_history_page(factory(), admin, contact),
        "choices_20_of_20k": lambda: reference_choices(factory(), admin, "Contact", "такт 123"),
        "list_page_25": lambda: records.list_records(factory(), admin, "Contact", limit=25),
    }
    seconds: dict[str, list[float]] = {name: [] for name in reads}
    for read in reads.values():  # warm-up
        read()
    for _ in range(repeats):
        for name, read in reads.items():
            seconds[name].append(timed(read)[1])
    found = {name: summary_ms(s) for name, s in seconds.items()}
    med = {name: found[name]["median_ms"] for name in found}
    return {**found, "timeline_vs_history": round(med["timeline_page_30"] / med["history_page_50"], 2),
            "choices_vs_list_page": round(med["choices_20_of_20k"] / med["list_page_25"], 2)}


def main() -> None:
    """Run on SQLite, and on PostgreSQL (a schema dropped afterwards) when --postgres is given."""
    run_on_both("card_timeline", __doc__ or "", measure)


if __name__ == "__main__":
    main()
