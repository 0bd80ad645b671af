"""A record card with 1,000 field changes over HTTP (Flask test client): the page of 50 the card shows against
the whole history (page size 1,000, as the card showed it before), interleaved in one run, with SQL statements per
request. `python -m bench.cards [--postgres URL] [--repeats N]`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bench.common import NOW, run_on_both
from bench.inbox import HttpTimer, inbox_app, signed_in
from engine.bootstrap import UowFactory
from engine.services import records
from engine.services.users import create_user, get_actor
from engine.store.models import FieldChangeRow

CHANGES = 1000
MODES = {"page_of_50": 50, "whole_history": CHANGES}


def measure(factory: UowFactory, repeats: int) -> dict[str, Any]:
    """Time GET /records/<id> of a lead with CHANGES field changes, each mode in turn."""
    user = create_user(factory(), "bench_admin", "bench-password-1", ["admin"], NOW)
    admin = get_actor(factory(), user.id)
    lead = records.create_record(factory(), admin, "Lead", {"title": "long history"}, NOW)
    with factory() as uow:
        uow.session.add_all(
            FieldChangeRow(
                record_id=lead.id,
                at=NOW + timedelta(seconds=n),
                actor="bench_admin",
                source="edit",
                field="company",
                old_value=f"v{n - 1}",
                new_value=f"v{n}",
            )
            for n in range(CHANGES)
        )
        uow.commit()
    client = signed_in(inbox_app(factory), admin)
    timer = HttpTimer(factory)
    try:
        for size in MODES.values():  # warm-up
            records.HISTORY_PAGE = size
            client.get(f"/records/{lead.id}")
        for _ in range(repeats):
            for mode, size in MODES.items():
                records.HISTORY_PAGE = size
                timer.get(client, mode, f"/records/{lead.id}")
    finally:
        records.HISTORY_PAGE = MODES["page_of_50"]
    return timer.summary()


def main() -> None:
    """Run on SQLite, and on PostgreSQL (a schema dropped afterwards) when --postgres is given."""
    run_on_both("cards", __doc__ or "", measure)


if __name__ == "__main__":
    main()
