"""A record card with 1,000 field changes over HTTP (Flask test client): the page of 50 the card shows against
the whole history (page size 1,000, as the card showed it before), interleaved in one run, with SQL statements per
request. `python -m bench.cards [--postgres URL] [--repeats N]`."""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import NOW, deployed_factory, fresh_sqlite, postgres_schema
from bench.inbox import HttpTimer, inbox_app, signed_in
from engine.bootstrap import UowFactory, prepare_database
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", help="a PostgreSQL URL")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    factory = deployed_factory(fresh_sqlite(Path(tempfile.mkdtemp()) / "cards.sqlite"))
    results = {"sqlite": measure(factory, args.repeats)}
    factory.dispose()
    if args.postgres:
        with postgres_schema(args.postgres, "flowcrm_bench_cards") as url:
            prepare_database(url)
            factory = deployed_factory(url)
            try:
                results["postgresql"] = measure(factory, args.repeats)
            finally:
                factory.dispose()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
