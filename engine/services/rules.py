"""Scheduled rules: the worker re-evaluates a rule with a `schedule:` trigger for every record of its entity."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from engine.config.automation import Rule
from engine.config.expressions import parse_duration
from engine.config.model import Bundle
from engine.errors import ConflictError, FlowError, NotFound
from engine.rules.dispatch import evaluate_rule
from engine.services.deployments import active_bundle
from engine.store.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 200  # records evaluated per transaction


def scheduled_rules(bundle: Bundle) -> dict[str, tuple[Rule, timedelta]]:
    """Rules with a schedule trigger and their period, by name."""
    found: dict[str, tuple[Rule, timedelta]] = {}
    for rule in bundle.rules.values():
        for trigger in rule.triggers:
            every = parse_duration(trigger.every) if trigger.kind == "schedule" else None
            if every is not None and every > timedelta(0) and rule.name not in found:
                found[rule.name] = (rule, every)
    return found


def claim_period(uow: UnitOfWork, rule: str, now: datetime, next_run_at: datetime) -> bool:
    """Take this period's run of a rule; exactly one of several workers gets True."""
    try:
        with uow:
            uow.schedules.ensure(rule, now)  # first sight: due at once
            uow.commit()
    except ConflictError:
        pass  # another worker created the row a moment ago
    try:
        with uow:
            if not uow.schedules.claim(rule, now, next_run_at):
                return False
            uow.commit()
            return True
    except ConflictError:
        return False  # a backend without row locks refused our concurrent write: another worker has the run


def _evaluate_one_by_one(uow: UnitOfWork, bundle: Bundle, rule: Rule, ids: list[int], now: datetime) -> None:
    """A batch failed: evaluate its records one transaction each, so one bad record does not hold up the rest."""
    for record_id in ids:
        try:
            with uow:
                record = uow.records.get(record_id)
                if record is not None:
                    evaluate_rule(uow, bundle, rule, record, now)
                    uow.commit()
        except FlowError as exc:
            log.warning("scheduled rule %s failed on record %s: %s", rule.name, record_id, exc)


def evaluate_for_all(uow: UnitOfWork, bundle: Bundle, rule: Rule, now: datetime) -> int:
    """Evaluate a rule on every record of its entity, BATCH records per transaction; how many were evaluated."""
    after, total = 0, 0
    while True:
        failed = False
        with uow:
            ids = [row.id for row in uow.records.batch(rule.entity, after, BATCH)]
            if not ids:
                return total
            try:
                for record_id in ids:
                    record = uow.records.get(record_id)
                    assert record is not None  # noqa: S101 - read in this transaction
                    evaluate_rule(uow, bundle, rule, record, now)
                uow.commit()
            except FlowError:
                failed = True
        if failed:
            _evaluate_one_by_one(uow, bundle, rule, ids, now)
        after, total = ids[-1], total + len(ids)


def run_scheduled_rules(uow_or_factory: UnitOfWork | Callable[[], UnitOfWork], now: datetime) -> int:
    """Run every scheduled rule that is due by `now` (a rule seen for the first time is due at once), then move
    it one period on. Several workers may call this at once: each period runs on one of them. Returns how many
    rules ran."""
    uow = uow_or_factory if isinstance(uow_or_factory, UnitOfWork) else uow_or_factory()
    try:
        bundle, _ = active_bundle(uow)
    except NotFound:
        return 0
    rules = scheduled_rules(bundle)
    if not rules:
        return 0
    with uow:
        due = uow.schedules.due_names(rules, now)
    ran = 0
    for name in sorted(due):
        rule, every = rules[name]
        if not claim_period(uow, name, now, now + every):
            continue
        count = evaluate_for_all(uow, bundle, rule, now)
        log.info("scheduled rule %s evaluated %d record(s)", name, count)
        ran += 1
    return ran
