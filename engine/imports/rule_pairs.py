"""The duplicate pairs an import's new records open by the entity's rules (crm_model/duplicates/<entity>.yaml):
the pairs a scan would open for the records the import created — with existing records, records earlier rows
wrote and each other — go to the review queue (found_by `import`). Fuzzy and probabilistic rules only queue: a row
is folded into a record or updates one only by match_on and the exact rules (engine/imports/duplicates.py,
on_match).

Each new record meets the rules as the database was when its row was written, as importing the file one row at a
time leaves it, whatever the batch size: the pairs are opened after each batch, and also before a row changes a
field the rules read of a record (on_match update, update_empty: a phone filled in) while records written before
it still wait for theirs — so those are compared with the record as it was, and a record the change brings into a
key group is not paired with them (a change opens no pair of its own). Key groups beyond their `max_block` are
cut in the order the records were written (engine/store/duplicate_repos.py, groups_of)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.quality.matching import Keys, record_keys, rules_of
from engine.quality.new_pairs import new_record_pairs
from engine.records.schema import is_empty
from engine.store.duplicate_repos import IMPORT_FOUND_BY
from engine.store.uow import UnitOfWork

if TYPE_CHECKING:
    from engine.imports.ahead import Prepared
    from engine.imports.rows import Importer

RULE_PAIRS = "rule_pairs"  # the job's count of the pairs its new records opened by the duplicate rules


def queue_rule_pairs(uow: UnitOfWork, importer: Importer) -> int:
    """Open the pairs the duplicate rules find for the records the importer created since the last call, in the
    caller's transaction (a dry run counts them and rolls back); counted on the job; how many."""
    created, importer.created = importer.created, []
    importer.fresh_keys = set()
    config = rules_of(importer.bundle, importer.entity.name)
    if config is None or not created:
        return 0
    ids = [row.id for row in created]
    # the batch's new records, held here and with nothing staged for them, are read from their rows
    rows = new_record_pairs(uow, config, ids, IMPORT_FOUND_BY, importer.now, held=() if importer.pending else ids)
    uow.quality.add_pairs(rows)
    importer.counts[RULE_PAIRS] = importer.counts.get(RULE_PAIRS, 0) + len(rows)
    return len(rows)


def paired_fields(importer: Importer) -> frozenset[str]:
    """The fields the entity's duplicate rules read (none without rules)."""
    config = rules_of(importer.bundle, importer.entity.name)
    return frozenset(config.fields()) if config is not None else frozenset()


def _keys(importer: Importer, data: Mapping[str, Any]) -> set[tuple[str, str]]:
    return _pairs_of(_by_name(importer, data))


def rule_keys(importer: Importer, data: Mapping[str, Any]) -> Keys:
    """The duplicate rules' keys of a record's values by key name (none without rules)."""
    return _by_name(importer, data)


def _by_name(importer: Importer, data: Mapping[str, Any]) -> Keys:
    config = rules_of(importer.bundle, importer.entity.name)
    return record_keys(config, data, importer.bundle.settings.default_region) if config is not None else {}


def _pairs_of(found: Keys) -> set[tuple[str, str]]:
    return {(name, value) for name, values in found.items() for value in values}


def note_new(importer: Importer, data: Mapping[str, Any], prepared: Prepared | None = None) -> Keys | None:
    """Note the key values of a record the import creates, until its pairs are opened; its keys by name (for its
    match_key rows: computed once; taken from `prepared` when it computed them for these very values), None when
    the entity has no duplicate rules reading a field."""
    if not importer.paired:
        return None
    ahead = prepared.keyed.pop(id(data), None) if prepared is not None else None
    found = ahead[2] if ahead is not None and ahead[0] is data and ahead[1] == data and ahead[2] is not None \
        else _by_name(importer, data)
    importer.fresh_keys |= _pairs_of(found)
    return found


def changes_paired_fields(uow: UnitOfWork, importer: Importer, data: dict[str, Any]) -> bool:
    """Whether a row (its converted values) may change, by the import's on_match, a field the duplicate rules
    read of a record that shares a key value — before or after the change — with a record created since the
    pairs were last opened (only then could it change one of their pairs). Erring on yes only costs an earlier
    look at the pairs; a rule on change that may write fields (not `watched_together`) makes any change count."""
    if importer.policy in ("skip", "review") or not importer.fresh_keys:
        return False
    fields = list(data) if not importer.watched_together else importer.paired.intersection(data)
    if not fields:
        return False
    match = importer.find(uow, data)
    record = uow.records.get(match.record_id) if match is not None else None
    if record is None:
        return False
    current = record.data
    if importer.policy == "update_empty" and importer._conflicts(record, data):
        return False  # it goes to review: a record of its own, the matched one unchanged
    changed = {
        name: data[name]
        for name in fields
        if data[name] != current.get(name) and (importer.policy != "update_empty" or is_empty(current.get(name)))
    }
    if not changed:
        return False
    if not importer.watched_together:
        return True
    touched = _keys(importer, current) | _keys(importer, {**current, **changed})
    return not touched.isdisjoint(importer.fresh_keys)
