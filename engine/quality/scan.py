"""Batch duplicate detection over all records of an entity, its schedule, and rebuilding match keys."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from engine.config.duplicates_model import DuplicateRules
from engine.config.model import Bundle
from engine.errors import NotFound
from engine.processes.deployed import active_bundle
from engine.quality.candidates import CandidatePairs
from engine.quality.learning import decisions_since_training, fresh_models, retrain_in
from engine.quality.matching import record_keys, rules_of
from engine.quality.pair_scoring import on_match_rules, pair_row, rule_key_names, rule_levels, scored_pairs
from engine.services.rules import ScheduleJob
from engine.store.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 1000  # records per keyset page (and per transaction when rebuilding keys); new pairs per bulk insert
SCHEDULE_PREFIX = "duplicates:"  # schedule row names: duplicates:<Entity>
RETRAIN_PREFIX = "retrain:"  # schedule row names: retrain:<Entity>
RETRAIN_CHECK = timedelta(minutes=5)  # how often the worker counts new decisions


@dataclass(frozen=True)
class ScanReport:
    """What one scan of an entity did."""

    entity: str
    records: int  # unmerged records of the entity
    compared: int  # pairs of records sharing a key that were scored
    found: int  # pairs matching a rule
    new: int  # of those, pairs not known before
    seconds: float
    closed: int = 0  # open pairs this scan no longer found (rules or records changed)
    trained: tuple[str, ...] = ()  # probabilistic rules (re)trained before scoring


def rebuild_keys(uow: UnitOfWork, bundle: Bundle, entity: str) -> int:
    """Recompute the match keys of every record of an entity (records written before the rules existed),
    BATCH records per transaction; how many records were keyed."""
    config = rules_of(bundle, entity)
    with uow:
        uow.quality.delete_entity_keys(entity)
        uow.commit()
    if config is None:
        return 0
    region, after, total = bundle.settings.default_region, 0, 0
    while True:
        with uow:
            batch = uow.quality.record_batch(entity, after, BATCH)
            if not batch:
                return total
            rows = [(record_id, entity, name, value)
                    for record_id, merged_into, data in batch if merged_into is None
                    for name, values in record_keys(config, data, region).items() for value in sorted(values)]
            uow.quality.add_keys(rows)
            uow.commit()
        after, total = batch[-1][0], total + sum(1 for _, merged, _ in batch if merged is None)


def _shared_keys(uow: UnitOfWork, config: DuplicateRules) -> CandidatePairs:
    """Pairs of records (low id first) sharing a key some rule reads, with the names of the keys they share."""
    names = rule_key_names(config)
    groups = ((key, ids) for name in sorted(names)
              for key, _, ids in uow.quality.shared_keys(config.entity, [name], config.block_limit(name)))
    return CandidatePairs.from_groups(names, groups)


def _record_values(uow: UnitOfWork, config: DuplicateRules, wanted: set[int]) -> dict[int, dict[str, Any]]:
    """The values the rules read of the wanted unmerged records, read by keyset pages over the entity."""
    fields, found, after, last = config.fields(), {}, 0, max(wanted, default=0)
    while wanted:
        batch = uow.quality.record_batch(config.entity, after, BATCH)
        if not batch:
            break
        for record_id, merged_into, data in batch:
            if record_id in wanted and merged_into is None:
                found[record_id] = {name: data[name] for name in fields if name in data}
        after = batch[-1][0]
        if after >= last:
            break
    return found


def candidate_pairs(uow: UnitOfWork, config: DuplicateRules) -> tuple[CandidatePairs, dict[int, dict[str, Any]]]:
    """The pairs of records sharing a key some rule reads (with the keys they share) and the values the rules
    read of those records."""
    pairs = _shared_keys(uow, config)
    wanted = set(np.unique(np.concatenate([pairs.lows, pairs.highs])).tolist())
    return pairs, _record_values(uow, config, wanted)


def scan(uow: UnitOfWork, bundle: Bundle, entity: str, now: datetime, *, train: bool = False) -> ScanReport:
    """Compare the records of an entity that share a key or block (blocks larger than max_block are skipped)
    and keep an open pair for each match; pairs already decided (merged, dismissed, related) are not reopened,
    open pairs no longer found are closed. Probabilistic rules are trained first when they have no model yet,
    when reviewers decided pairs since, or with `train`."""
    with uow:
        report = scan_in(uow, bundle, entity, now, train=train)
        uow.commit()
        return report


def scan_in(uow: UnitOfWork, bundle: Bundle, entity: str, now: datetime, *, train: bool = False) -> ScanReport:
    """`scan`, inside the caller's transaction (which commits it)."""
    started = time.perf_counter()
    config = rules_of(bundle, entity)
    if config is None:
        raise NotFound(f"no duplicate rules for {entity!r} (crm_model/duplicates/<entity>.yaml)")
    compared = found = new = 0
    inserts: list[dict[str, Any]] = []
    with uow:
        records = uow.quality.count_records(entity)
        pairs, values = candidate_pairs(uow, config)
        levels = rule_levels(config, pairs, values)
        models, trained = fresh_models(uow, config, levels, now, force=train)
        known = uow.quality.pair_statuses(entity)
        matched: set[tuple[int, int]] = set()
        known_ids = np.fromiter(values, dtype=np.int64, count=len(values))
        compared = int((np.isin(pairs.lows, known_ids) & np.isin(pairs.highs, known_ids)).sum())
        for low, high, candidate in scored_pairs(config, pairs, values, levels, models):
            found += 1
            matched.add((low, high))
            status = known.get((low, high))
            if status is None:
                new += 1
                inserts.append(pair_row(entity, low, high, candidate, "scan", now))
            elif status in ("open", "closed"):
                uow.quality.upsert_pair(entity, low, high, score=candidate.score, rule=candidate.rule,
                                        reasons=candidate.reasons, found_by="scan", now=now)
            if len(inserts) >= BATCH:
                uow.quality.add_pairs(inserts)
                inserts = []
        uow.quality.add_pairs(inserts)
        closed = uow.quality.close_pairs(entity, matched, now, on_match_rules(config))
    return ScanReport(entity, records, compared, found, new, round(time.perf_counter() - started, 3), closed,
                      tuple(trained))


def run_scheduled_scans(make_uow: Callable[[], UnitOfWork], now: datetime) -> list[ScanReport]:
    """Scan every entity whose duplicate rules say `scan: {every: ...}` and are due by `now`; each period runs on
    one worker only (a schedule row `duplicates:<Entity>`, like scheduled rules); a failing scan is retried with
    backoff and then parked as an incident."""
    uow = make_uow()
    try:
        bundle, _ = active_bundle(uow)
    except NotFound:
        return []
    job = ScanJob(bundle)
    if job.periods:
        job.run_all(uow, now)
    retrain = RetrainJob(bundle)
    if retrain.periods:
        retrain.run_all(uow, now)
    return job.reports


class ScanJob(ScheduleJob):
    """Scheduled duplicate scans: one schedule row `duplicates:<Entity>` per entity with `scan: {every: ...}`."""

    kind = "scan"

    def __init__(self, bundle: Bundle) -> None:
        configs = {SCHEDULE_PREFIX + name: config for name, config in bundle.duplicates.items()
                   if config.scan_every is not None}
        super().__init__({name: config.scan_every for name, config in configs.items()
                          if config.scan_every is not None})
        self.bundle, self.configs, self.reports = bundle, configs, list[ScanReport]()

    def work(self, uow: UnitOfWork, name: str, now: datetime) -> None:
        report = scan_in(uow, self.bundle, self.configs[name].entity, now)
        log.info("duplicate scan of %s: %d record(s), %d pair(s) found, %d new, %d closed, trained %s in %.1f s",
                 report.entity, report.records, report.found, report.new, report.closed,
                 ", ".join(report.trained) or "none", report.seconds)
        self.reports.append(report)


class RetrainJob(ScheduleJob):
    """Retraining on reviewers' decisions: every RETRAIN_CHECK one worker looks, per entity with probabilistic
    rules (schedule row `retrain:<Entity>`), how many pairs were merged, dismissed or marked related since the
    rules were trained, and retrains them when that reaches `scan: {retrain_after: N}` (default 20). The reviewer's
    request only records the decision; the learning happens here, or at the next scan."""

    kind = "scan"

    def __init__(self, bundle: Bundle) -> None:
        configs = {RETRAIN_PREFIX + name: config for name, config in bundle.duplicates.items()
                   if any(rule.match == "probabilistic" for rule in config.rules)}
        super().__init__(dict.fromkeys(configs, RETRAIN_CHECK))
        self.configs, self.retrained = configs, list[str]()

    def work(self, uow: UnitOfWork, name: str, now: datetime) -> None:
        config = self.configs[name]
        behind = decisions_since_training(uow, config)
        if behind < config.retrain_after:
            return
        retrain_in(uow, config, now)
        log.info("retrained the probabilistic duplicate rules of %s on %d new decision(s)", config.entity, behind)
        self.retrained.append(config.entity)
