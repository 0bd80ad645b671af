"""The duplicate pairs a scan would open for records just written in bulk (an import's batch): the candidate
pairs naming one of them (records sharing a key value with them, existing ones and each other), scored by the
scan's own machinery (engine/quality/pair_scoring.py) with the stored match models, never training them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from engine.config.duplicates_model import DuplicateRules
from engine.quality.candidates import CandidatePairs
from engine.quality.matching import load_models
from engine.quality.pair_scoring import pair_row, rule_key_names, rule_levels, scored_pairs
from engine.store.uow import UnitOfWork


def new_record_pairs(
    uow: UnitOfWork,
    config: DuplicateRules,
    ids: Collection[int],
    found_by: str,
    now: datetime,
    *,
    held: Collection[int] = (),
) -> list[dict[str, Any]]:
    """The open pairs (columns of duplicate_pair) a scan would add for these records, whose match keys are
    written: every pair naming one of them that a rule matches and that is not known yet (a pair a person
    decided, or that an import's on_match opened, is left as it is). Probabilistic rules score by their stored
    models (the defaults before the first scan trains them). `held`: records of this transaction whose rows the
    session holds loaded with their values written (an import's own), read from there."""
    if not ids:
        return []
    names = rule_key_names(config)
    # the records were written in the order of their ids, after the others: a key value they pushed beyond its
    # limit keeps those that joined it within the limit (as one by one)
    groups = uow.quality.groups_of(
        config.entity, ids, {name: config.block_limit(name) for name in names}, in_order=True
    )
    pairs = CandidatePairs.from_groups(names, ((key, members) for key, _, members in groups)).involving(ids)
    if not len(pairs):
        return []
    wanted = set(pairs.lows.tolist()) | set(pairs.highs.tolist())
    fields = config.fields()
    values = {
        record_id: {name: data[name] for name in fields if name in data}
        for record_id, (_, data) in sorted(uow.quality.record_data(wanted, loaded=held).items())
    }
    known = uow.quality.statuses_of(config.entity, ids)
    levels = rule_levels(config, pairs, values)
    return [
        pair_row(config.entity, low, high, candidate, found_by, now)
        for low, high, candidate in scored_pairs(config, pairs, values, levels, load_models(uow, config))
        if (low, high) not in known
    ]
