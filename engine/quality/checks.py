"""What a write does with its duplicate candidates: keep match keys current, then warn, link or block.

`on_fields_changed` handles the FieldsChanged event engine.services.records.write_fields publishes, which every path
writing record fields goes through (forms, edits, processes, rules, events, imports)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from engine.config.model import Bundle
from engine.errors import NotFound, ValidationError
from engine.processes.deployed import active_bundle
from engine.quality.matching import Candidate, find_candidates, refresh_keys, rule_named, rules_of
from engine.records.linking import add_link
from engine.store.events import FieldsChanged
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork

DUPLICATE_LINK = "duplicate"  # record_link kind written by on_create: link
# Writers that decide about duplicates themselves (an import's row actions, a merge): keys only, no policy.
SELF_CHECKING_SOURCES = ("import", "merge", "undo")


def record_pairs(uow: UnitOfWork, entity: str, record_id: int, candidates: Iterable[Candidate], *,
                 found_by: str, now: datetime) -> int:
    """Keep an open duplicate pair between a record and each candidate (decided pairs are not reopened);
    how many pairs are new."""
    created = 0
    for candidate in candidates:
        _, new = uow.quality.upsert_pair(entity, record_id, candidate.record_id, score=candidate.score,
                                         rule=candidate.rule, reasons=candidate.reasons, found_by=found_by, now=now)
        created += new
    return created


def _describe(entity: str, candidate: Candidate) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for reason in candidate.reasons:
        word = "same as" if reason["how"] == "exact" else "similar to"
        message = f"{word} {entity} #{candidate.record_id} {candidate.title}".rstrip()
        errors.setdefault(str(reason["field"]), []).append(message)
    return errors


def apply_on_create(uow: UnitOfWork, bundle: Bundle, row: RecordRow, now: datetime, *, found_by: str,
                    actor: str) -> list[Candidate]:
    """Check a saved record against the others and apply the entity's on_create (or the rule's own): block
    raises ValidationError naming the duplicates per field, warn keeps an open pair, link also links the two."""
    config = rules_of(bundle, row.entity)
    if config is None:
        return []
    candidates = find_candidates(uow, bundle, row.entity, row.data, exclude_ids=(row.id,))
    policies: dict[int, str] = {}
    for candidate in candidates:
        rule = rule_named(config, candidate.rule)
        policy = (rule.on_create if rule is not None else None) or config.on_create
        # a related record (same phone, another person) is never a reason to refuse a write
        policies[candidate.record_id] = "warn" if policy == "block" and candidate.suggest != "merge" else policy
    blocking = [c for c in candidates if policies[c.record_id] == "block"]
    if blocking:
        errors: dict[str, list[str]] = {}
        for candidate in blocking:
            for name, messages in _describe(row.entity, candidate).items():
                errors.setdefault(name, []).extend(messages)
        raise ValidationError(errors)
    record_pairs(uow, row.entity, row.id, candidates, found_by=found_by, now=now)
    for candidate in (c for c in candidates if policies[c.record_id] == "link" and c.suggest == "merge"):
        _link(uow, row, candidate.record_id, actor=actor, now=now)
    return candidates


def _link(uow: UnitOfWork, row: RecordRow, other_id: int, *, actor: str, now: datetime) -> None:
    other = uow.records.get(other_id)
    if other is None or uow.links.find(row.id, other_id, DUPLICATE_LINK) or uow.links.find(other_id, row.id,
                                                                                          DUPLICATE_LINK):
        return
    add_link(uow, row, other, DUPLICATE_LINK, actor=actor, source="duplicates", now=now)


def on_fields_changed(uow: UnitOfWork, event: FieldsChanged) -> None:
    """Handler: keep the changed record's match keys current and apply the duplicate policy."""
    on_fields_written(uow, event.record, event.changes, source=event.source, actor=event.actor, now=event.now,
                      created=event.created)


def on_fields_written(uow: UnitOfWork, row: RecordRow, changed: Mapping[str, Any], *, source: str, actor: str,
                      now: datetime, created: bool = False) -> list[Candidate]:
    """After a write: refresh the record's match keys when a field the duplicate rules read changed (`created`:
    the record was inserted in this transaction and has none yet), then apply on_create (found_by create for a
    record created at `now`, else update) unless the writer checks itself."""
    if not changed:
        return []
    try:
        bundle, _ = active_bundle(uow)
    except NotFound:
        return []  # nothing deployed: no rules
    config = rules_of(bundle, row.entity)
    if config is None or not set(changed) & config.fields():
        return []
    refresh_keys(uow, bundle, row, created=created)
    if source.startswith(SELF_CHECKING_SOURCES) or row.merged_into_id is not None:
        return []
    found_by = "create" if row.created_at == now else "update"
    return apply_on_create(uow, bundle, row, now, found_by=found_by, actor=actor)
