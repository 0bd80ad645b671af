"""The duplicate pairs an import's new records open by the entity's rules (crm_model/duplicates/<entity>.yaml):
after each batch of rows, the pairs a scan would open for the records the batch created — with existing records,
records earlier batches wrote and each other — go to the review queue (found_by `import`). Fuzzy and
probabilistic rules only queue: a row is folded into a record or updates one only by match_on and the exact rules
(engine/imports/duplicates.py, on_match)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.quality.matching import rules_of
from engine.quality.new_pairs import new_record_pairs
from engine.store.duplicate_repos import IMPORT_FOUND_BY
from engine.store.uow import UnitOfWork

if TYPE_CHECKING:
    from engine.imports.rows import Importer

RULE_PAIRS = "rule_pairs"  # the job's count of the pairs its new records opened by the duplicate rules


def queue_rule_pairs(uow: UnitOfWork, importer: Importer) -> int:
    """Open the pairs the duplicate rules find for the records the importer created since the last call, in the
    caller's transaction (a dry run counts them and rolls back); counted on the job; how many."""
    created, importer.created = importer.created, []
    config = rules_of(importer.bundle, importer.entity.name)
    if config is None or not created:
        return 0
    rows = new_record_pairs(uow, config, created, IMPORT_FOUND_BY, importer.now)
    uow.quality.add_pairs(rows)
    importer.counts[RULE_PAIRS] = importer.counts.get(RULE_PAIRS, 0) + len(rows)
    return len(rows)
