"""Which existing record a row is by the entity's exact duplicate rules (crm_model/duplicates/<entity>.yaml):
one match-key query per batch of rows, and the records this import wrote remembered in memory."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.config.model import Bundle, Entity
from engine.quality.matching import Candidate, key_value
from engine.quality.normalize import keys_of
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork

Key = tuple[str, str]  # (key name, normalized value)


class ExactDuplicates:
    """Finds the record a row's values are by exact rules; fuzzy similarity is left to the duplicate review."""

    def __init__(self, bundle: Bundle, entity: Entity) -> None:
        from engine.quality.matching import rules_of

        self.bundle, self.entity = bundle, entity
        self.config = rules_of(bundle, entity.name)
        rules = self.config.rules if self.config is not None else ()
        self.exact = {rule.name: str(rule.key) for rule in rules if rule.match == "exact" and rule.key}
        # only the keys the exact rules read: the block keys (names, sounds) are built once, for the match_key rows
        self.exact_keys = [key for key in self.config.keys.values() if key.name in set(self.exact.values())] \
            if self.config is not None else []
        self.stored: dict[Key, set[int]] = {}  # keys of records in the database, for the current batch
        self.written: dict[Key, set[int]] = {}  # keys of records this import created or changed
        self.memo: dict[int, tuple[dict[str, Any], list[Key]]] = {}  # id(row values) -> (values, keys), per batch
        # records the batch's rows may be, held for the batch: the session keeps unchanged rows weakly, and these
        # are the live rows (an update by an earlier row of the batch shows)
        self.records: dict[int, RecordRow] = {}

    def keys(self, data: dict[str, Any]) -> list[Key]:
        """The exact-rule keys of a row's values (those of the batch's file rows are computed once, by
        prefetch)."""
        if not self.exact_keys:
            return []
        known = self.memo.get(id(data))
        if known is not None and known[0] is data:
            return known[1]
        return self.compute_keys(data)

    def compute_keys(self, data: dict[str, Any]) -> list[Key]:
        """The exact-rule keys of a row's values, computed (of the values alone: ahead of the batch too)."""
        if not self.exact_keys:
            return []
        region = self.bundle.settings.default_region
        return sorted({(key.name, value) for key in self.exact_keys
                       for value in keys_of(key.normalize, key_value(key, data), region)})

    def prefetch(self, uow: UnitOfWork, rows: Iterable[dict[str, Any]],
                 ahead: Mapping[int, tuple[dict[str, Any], list[Key]]] | None = None) -> None:
        """Look up the keys of a batch of rows in one query (those `ahead` computed for the same rows taken)."""
        self.memo = {}  # the batch's converted rows stay unchanged (and alive) while it runs
        for data in rows:
            known = ahead.get(id(data)) if ahead is not None else None
            self.memo[id(data)] = known if known is not None and known[0] is data else (data, self.compute_keys(data))
        wanted = sorted({key for _, keys in self.memo.values() for key in keys})
        self.stored = {}
        for record_id, name, value in uow.quality.key_matches(self.entity.name, wanted) if wanted else ():
            self.stored.setdefault((name, value), set()).add(record_id)
        self.records = {}
        self.hold(uow, {record_id for ids in self.stored.values() for record_id in ids} | {
            record_id for _, keys in self.memo.values() for key in keys for record_id in self.written.get(key, ())})

    def hold(self, uow: UnitOfWork, ids: Iterable[int]) -> None:
        """Load the records of these ids not held yet (one query) and hold them for the batch."""
        held = self.records  # asked for every row: no set of all the held ids made each time
        missing = {record_id for record_id in ids if record_id not in held}
        if missing:
            self.records.update(uow.records.by_ids(missing))

    def remember(self, record_id: int, data: dict[str, Any]) -> None:
        """Note the keys of a record this import wrote (later rows of the file may be the same one)."""
        for key in self.keys(data):
            self.written.setdefault(key, set()).add(record_id)

    def __call__(self, uow: UnitOfWork, data: dict[str, Any]) -> Candidate | None:
        """The record `data` is by an exact rule suggesting a merge (best score first, then the lowest id), as a
        candidate naming the rule and the shared values; None when none."""
        from engine.quality.matching import match_pair

        if self.config is None:
            return None
        hits: dict[int, set[str]] = {}  # record id -> names of the keys it shares with the row
        for key in self.keys(data):
            for record_id in self.stored.get(key, set()) | self.written.get(key, set()):
                hits.setdefault(record_id, set()).add(key[0])
        best: tuple[float, int, Candidate] | None = None
        self.hold(uow, hits)
        for record_id in sorted(hits):
            record = self.records.get(record_id)
            if record is None or record.merged_into_id is not None:
                continue
            found = match_pair(self.config, hits[record_id], data, dict(record.data), record_id, record.title)
            if found is not None and found.suggest == "merge" and found.rule in self.exact and (
                    best is None or (-found.score, record_id) < best[:2]):
                best = (-found.score, record_id, found)
        return best[2] if best is not None else None
