"""Scheduled rules: the worker re-evaluates a rule with a `schedule:` trigger for every record of its entity."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from engine.config.automation import Rule
from engine.config.expressions import parse_duration
from engine.config.model import Bundle
from engine.errors import ConflictError, NotFound
from engine.processes.deployed import active_bundle
from engine.rules.dispatch import evaluate_rule, where_matches
from engine.services.jobs import Concerns, Job, PartlyFailed, describe, run_due
from engine.store.filter_spec import Filter
from engine.store.filter_sql import FindScope
from engine.store.models import RuleScheduleRow
from engine.store.uow import UnitOfWork

log = logging.getLogger(__name__)

BATCH = 200  # records evaluated per savepoint


def scheduled_rules(bundle: Bundle) -> dict[str, tuple[Rule, timedelta]]:
    """Rules with a schedule trigger and their period, by name."""
    found: dict[str, tuple[Rule, timedelta]] = {}
    for rule in bundle.rules.values():
        for trigger in rule.triggers:
            every = parse_duration(trigger.every) if trigger.kind == "schedule" else None
            if every is not None and every > timedelta(0) and rule.name not in found:
                found[rule.name] = (rule, every)
    return found


class ScheduleJob(Job[RuleScheduleRow]):
    """Periodic work named by a schedule row (a rule, a duplicate scan): due at its period or at the retry of a
    failed run; one worker runs each period."""

    kind = "rule"

    def __init__(self, periods: dict[str, timedelta]) -> None:
        self.periods = periods

    def due(self, uow: UnitOfWork, now: datetime, skip: set[str]) -> RuleScheduleRow | None:
        return uow.schedules.next_due(self.periods, now, skip)

    def due_condition(self, uow: UnitOfWork, now: datetime) -> Any:
        return uow.schedules.due_condition(now)

    def find(self, uow: UnitOfWork, key: str) -> RuleScheduleRow | None:
        return uow.schedules.get(key)

    def key(self, row: RuleScheduleRow) -> str:
        return row.rule

    def concerns(self, row: RuleScheduleRow) -> Concerns:
        return Concerns()

    def run(self, uow: UnitOfWork, row: RuleScheduleRow, now: datetime) -> bool | PartlyFailed:
        result = self.work(uow, row.rule, now)
        row.next_run_at, row.last_run_at = now + self.periods[row.rule], now
        return result or True

    def work(self, uow: UnitOfWork, name: str, now: datetime) -> PartlyFailed | None:
        """One period's work of the schedule `name`, in the caller's transaction."""
        raise NotImplementedError

    def run_all(self, uow: UnitOfWork, now: datetime) -> int:
        """Create missing schedule rows (due at once), then run every due period; how many ran."""
        with uow:
            missing = uow.schedules.missing(self.periods)
        for name in sorted(missing):
            try:
                with uow:
                    uow.schedules.ensure(name, now)
                    uow.commit()
            except ConflictError:
                pass  # another worker created the row a moment ago
        return run_due(self, uow, now).taken


class RuleJob(ScheduleJob):
    """Scheduled rules: the rule re-evaluated for every record of its entity."""

    def __init__(self, bundle: Bundle, rules: dict[str, tuple[Rule, timedelta]]) -> None:
        super().__init__({name: every for name, (_, every) in rules.items()})
        self.bundle, self.rules = bundle, rules

    def work(self, uow: UnitOfWork, name: str, now: datetime) -> PartlyFailed | None:
        rule = self.rules[name][0]
        count, failures = evaluate_for_all(uow, self.bundle, rule, now)
        log.info("scheduled rule %s evaluated %d record(s)", name, count)
        if not failures:
            return None
        shown = "; ".join(f"record #{record_id}: {error}" for record_id, error in failures[:3])
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        return PartlyFailed(f"rule {name!r} failed on {len(failures)} record(s): {shown}{more}")


def _evaluate_one_by_one(uow: UnitOfWork, bundle: Bundle, rule: Rule, ids: list[int],
                         now: datetime) -> list[tuple[int, str]]:
    """A batch failed: evaluate its records one savepoint each, so one bad record does not hold up the rest."""
    failures = []
    for record_id in ids:
        try:
            with uow.savepoint():
                record = uow.records.get(record_id)
                if record is not None:
                    evaluate_rule(uow, bundle, rule, record, now)
        except Exception as exc:  # any failure of one record: reported with the rule's run
            if uow.lost_race(exc):
                raise
            log.warning("scheduled rule %s failed on record %s: %s", rule.name, record_id, exc)
            failures.append((record_id, describe(exc)))
    return failures


def _batch(uow: UnitOfWork, rule: Rule, after: int, now: datetime) -> tuple[list[int], set[int]]:
    """The next BATCH record ids a scheduled run evaluates, and which of them match the rule's `where` (read by
    SQL when the batch is read). A rule with a filter and no `else` reads only the matching records: the others
    would do nothing."""
    if rule.where is not None and not rule.otherwise:
        ids = uow.find.id_batch(Filter(rule.entity, rule.where), now, FindScope(), after_id=after, limit=BATCH)
        return ids, set(ids)
    ids = [row.id for row in uow.records.batch(rule.entity, after, BATCH)]
    return ids, where_matches(uow, rule, ids, now)


def evaluate_for_all(uow: UnitOfWork, bundle: Bundle, rule: Rule, now: datetime) -> tuple[int, list[tuple[int, str]]]:
    """Evaluate a rule on every record of its entity (only the matching ones when its `where` filter leaves
    nothing for the others to do), BATCH records per savepoint of the caller's transaction; how many were
    evaluated, and the records that failed with their errors."""
    after, total = 0, 0
    failures: list[tuple[int, str]] = []
    while True:
        ids, matching = _batch(uow, rule, after, now)
        if not ids:
            return total, failures
        try:
            with uow.savepoint():
                for record_id in ids:
                    record = uow.records.get(record_id)
                    assert record is not None  # noqa: S101 - read in this transaction
                    evaluate_rule(uow, bundle, rule, record, now, matched=record_id in matching)
        except Exception as exc:
            if uow.lost_race(exc):
                raise
            failures += _evaluate_one_by_one(uow, bundle, rule, ids, now)
        after, total = ids[-1], total + len(ids)


def run_scheduled_rules(uow_or_factory: UnitOfWork | Callable[[], UnitOfWork], now: datetime) -> int:
    """Run every scheduled rule that is due by `now` (a rule seen for the first time is due at once), then move
    it one period on. Several workers may call this at once: each period runs on one of them. A rule failing on
    some records keeps its work on the others, is retried with backoff and then parked as an incident. Returns
    how many rules ran."""
    uow = uow_or_factory if isinstance(uow_or_factory, UnitOfWork) else uow_or_factory()
    try:
        bundle, _ = active_bundle(uow)
    except NotFound:
        return 0
    rules = scheduled_rules(bundle)
    if not rules:
        return 0
    return RuleJob(bundle, rules).run_all(uow, now)
