"""A scheduled rule that applies to few records, written two ways over the same 20,000 contacts (5% in Moscow):
`when: "region == 'moscow'"` (baseline: every record is read and the expression evaluated in Python) and
`where: {field: region, op: eq, value: moscow}` (the filter compiler reads only the matching records). Each run
sets one field on the 1,000 matches inside a transaction that is rolled back, so every repeat does the same work;
the two are interleaved and both must leave the same records changed.
`python -m bench.rule_filter [--postgres URL] [--repeats N]`."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import func, select

from bench.common import NOW, ROOT, run_on_both, summary_ms, timed
from engine.bootstrap import UowFactory
from engine.config.loader import load_bundle, read_bundle_dir
from engine.config.model import Bundle
from engine.services.rules import evaluate_for_all
from engine.store.models import RecordRow

CONTACTS, EVERY = 20_000, 20  # one contact in EVERY is in Moscow
RULES = {
    "when_expression": "when: \"region == 'moscow'\"",
    "where_filter": "where: {field: region, op: eq, value: moscow}",
}


def _bundle() -> Bundle:
    files = read_bundle_dir(ROOT)
    for name, condition in RULES.items():
        files[f"crm_model/rules/{name}.yaml"] = (
            f"rule: {name}\nlabel: {{en: Bench, ru: Бенч}}\nentity: Contact\non:\n  - schedule: P1D\n"
            f"{condition}\nactions:\n  - set: {{position: Moscow office}}\n"
        )
    return load_bundle(files)


def _seed(factory: UowFactory) -> None:
    with factory() as uow:
        for start in range(0, CONTACTS, 5000):
            uow.records.insert_many(
                [
                    {
                        "entity": "Contact",
                        "title": f"Contact {n:05d}",
                        "data": {"full_name": f"Contact {n:05d}", "region": "moscow" if n % EVERY == 0 else "south"},
                        "owner_id": None,
                        "created_at": NOW,
                        "created_by": "bench",
                        "updated_at": NOW,
                        "revision": 1,
                    }
                    for n in range(start, min(start + 5000, CONTACTS))
                ]
            )
        uow.commit()


def _run(factory: UowFactory, bundle: Bundle, name: str) -> int:
    """One scheduled run of the rule, rolled back; how many records it changed."""
    with factory() as uow:
        evaluate_for_all(uow, bundle, bundle.rules[name], NOW)
        changed = (
            uow.session.scalar(
                select(func.count(RecordRow.id)).where(
                    RecordRow.entity == "Contact", RecordRow.data["position"].as_string() == "Moscow office"
                )
            )
            or 0
        )
        uow.session.rollback()
    return changed


def measure(factory: UowFactory, repeats: int) -> dict[str, Any]:
    """Both rules `repeats` times, interleaved; medians and the ratio of the filter to the expression."""
    _seed(factory)
    bundle = _bundle()
    changed = {name: _run(factory, bundle, name) for name in RULES}  # warm-up, and the same records changed
    if set(changed.values()) != {CONTACTS // EVERY}:
        raise AssertionError(f"the two rules changed different records: {changed}")
    seconds: dict[str, list[float]] = {name: [] for name in RULES}
    for _ in range(repeats):
        for name in RULES:
            seconds[name].append(timed(functools.partial(_run, factory, bundle, name))[1])
    found = {name: summary_ms(s) for name, s in seconds.items()}
    ratio = found["where_filter"]["median_ms"] / found["when_expression"]["median_ms"]
    return {**found, "records": CONTACTS, "matching": CONTACTS // EVERY, "where_vs_when": round(ratio, 3)}


def main() -> None:
    """Run on SQLite, and on PostgreSQL (a schema dropped afterwards) when --postgres is given."""
    run_on_both("rule_filter", __doc__ or "", measure)


if __name__ == "__main__":
    main()
