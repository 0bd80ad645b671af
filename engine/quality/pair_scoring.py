"""Scoring candidate pairs the way a scan does, for any set of them: the comparison levels of every pair a
probabilistic rule's blocks hold (computed at once, engine/quality/level_batch.py), then each hopeful pair's best
rule (`match_pair`). The scan scores all pairs of an entity with it; an import scores the pairs of the records it
just wrote (engine/quality/new_pairs.py), so both open the same pairs for the same records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from engine.config.duplicates_model import DuplicateRules, FuzzyField, MatchRule
from engine.quality.candidates import CandidatePairs, row_of
from engine.quality.fellegi_sunter import MatchModel, default_model, probabilities
from engine.quality.field_batch import field_scores
from engine.quality.level_batch import level_matrix
from engine.quality.matching import Candidate, KeyCache, match_pair

Values = Mapping[int, Mapping[str, Any]]  # record id -> the values the rules read


class Levels:
    """The pairs a probabilistic rule's blocks put together, (low id, high id) sorted, and the level of each
    comparison for each pair as a (pairs × comparisons) matrix."""

    def __init__(self, lows: np.ndarray, highs: np.ndarray, matrix: np.ndarray) -> None:
        self.lows, self.highs, self.matrix = lows, highs, matrix

    def __len__(self) -> int:
        return len(self.lows)

    def __contains__(self, pair: object) -> bool:
        return isinstance(pair, tuple) and row_of(self.lows, self.highs, pair) is not None

    def __getitem__(self, pair: tuple[int, int]) -> tuple[int, ...]:
        row = row_of(self.lows, self.highs, pair)
        if row is None:
            raise KeyError(pair)
        return tuple(self.matrix[row].tolist())

    def pairs_where(self, chosen: np.ndarray) -> list[tuple[int, int]]:
        """The pairs of the rows `chosen` (a boolean mask) selects."""
        return list(zip(self.lows[chosen].tolist(), self.highs[chosen].tolist(), strict=True))


def pair_levels(rule: MatchRule, pairs: CandidatePairs, values: Values) -> Levels:
    """The comparison levels of every pair the rule's blocks put together, computed for all pairs at once
    (engine/quality/level_batch.py)."""
    known = np.fromiter(values, dtype=np.int64, count=len(values))
    chosen = pairs.sharing(rule.block) & np.isin(pairs.lows, known) & np.isin(pairs.highs, known)
    lows, highs = pairs.lows[chosen], pairs.highs[chosen]
    return Levels(lows, highs, level_matrix(rule, lows, highs, values))


def rule_key_names(config: DuplicateRules) -> set[str]:
    """The names of the keys some rule reads: an exact rule's key, a fuzzy or probabilistic rule's blocks."""
    return {rule.key for rule in config.rules if rule.key} | {b for rule in config.rules for b in rule.block}


def on_match_rules(config: DuplicateRules) -> list[str]:
    """The rules an import's on_match pairs can name besides match_on (the exact merge rules): such a pair waits
    for a person even when a rescan no longer finds it; the pairs an import opened by other rules close."""
    return [rule.name for rule in config.rules if rule.match == "exact" and rule.suggest == "merge"]


def rule_levels(config: DuplicateRules, pairs: CandidatePairs, values: Values) -> dict[str, Levels]:
    """The levels of the pairs each probabilistic rule of the entity compares, by rule name."""
    return {rule.name: pair_levels(rule, pairs, values) for rule in config.rules if rule.match == "probabilistic"}


def scored_pairs(
    config: DuplicateRules,
    pairs: CandidatePairs,
    values: Values,
    levels: Mapping[str, Levels],
    models: Mapping[str, MatchModel],
) -> Iterator[tuple[int, int, Candidate]]:
    """(low id, high id, best candidate) of every pair some rule matches, as a scan scores them: pairs whose
    records are not in `values` (merged, gone) are left out. The fields' scores and the probabilistic rules'
    probabilities are computed for all pairs at once (engine/quality/field_batch.py); `match_pair` then scores,
    with those scores, only the pairs some rule may match (for any other pair it gives None)."""
    cache: KeyCache = {}
    models = {rule.name: models.get(rule.name) or default_model(rule)  # one object per rule: its weights once
              for rule in config.rules if rule.match == "probabilistic"}
    hopeful = hopeful_pairs(config, levels, models)
    rows = np.arange(len(pairs)) if hopeful is None else pairs.rows_of(sorted(hopeful))
    known = np.fromiter(values, dtype=np.int64, count=len(values))
    rows = rows[np.isin(pairs.lows[rows], known) & np.isin(pairs.highs[rows], known)]
    # each rule's level row of every candidate pair (-1: its blocks do not hold the pair), found at once
    level_rows = {name: pairs.rows_in(found.lows, found.highs) for name, found in levels.items()}
    scores = _field_scores(config, pairs, rows, values, cache)
    rows = rows[_may_match(config, pairs, rows, scores, levels, level_rows, models)]
    for row in rows.tolist():
        low, high = int(pairs.lows[row]), int(pairs.highs[row])
        met = {
            name: tuple(levels[name].matrix[at].tolist())
            for name, at in ((name, int(where[row])) for name, where in level_rows.items())
            if at >= 0
        }
        memo = {how: None if np.isnan(column[row]) else float(column[row]) for how, column in scores.items()}
        candidate = match_pair(config, pairs.shared(row), values[low], values[high], high, cache=cache,
                               models=models, levels=met, scores=memo)
        if candidate is not None:
            yield low, high, candidate


SLACK = 0.5  # a pair whose batched mean is this close below a fuzzy threshold still goes to match_pair
# (match_pair rounds the mean to 0.1 and sums the fields in its own order)


def _specs(config: DuplicateRules) -> dict[tuple[str, str, str], FuzzyField]:
    """The fields the rules score, by (field, scorer, compare_as): fuzzy rules' fields and `unless_fuzzy`."""
    found: dict[tuple[str, str, str], FuzzyField] = {}
    for rule in config.rules:
        for spec in (*rule.fields, *((rule.unless_fuzzy,) if rule.unless_fuzzy is not None else ())):
            found.setdefault(_how(spec), spec)
    return found


def _how(spec: FuzzyField) -> tuple[str, str, str]:
    return spec.field, spec.scorer, spec.compare_as


def _field_scores(config: DuplicateRules, pairs: CandidatePairs, rows: np.ndarray, values: Values,
                  cache: KeyCache) -> dict[tuple[str, str, str], np.ndarray]:
    """`score_field` of every field the rules score for the pairs at `rows`, as columns over all the candidate
    pairs (NaN: None, or a row not scored)."""
    lows, highs = pairs.lows[rows], pairs.highs[rows]
    ids = np.unique(np.concatenate([lows, highs])) if len(rows) else np.zeros(0, dtype=np.int64)
    records = [values[record_id] for record_id in ids.tolist()]
    ia, ib = np.searchsorted(ids, lows), np.searchsorted(ids, highs)
    found: dict[tuple[str, str, str], np.ndarray] = {}
    for how, spec in _specs(config).items():
        column = np.full(len(pairs), np.nan)
        column[rows] = field_scores(spec, records, ia, ib, config.region, cache)
        found[how] = column
    return found


def _may_match(config: DuplicateRules, pairs: CandidatePairs, rows: np.ndarray,
               scores: Mapping[tuple[str, str, str], np.ndarray], levels: Mapping[str, Levels],
               level_rows: Mapping[str, np.ndarray], models: Mapping[str, MatchModel]) -> np.ndarray:
    """Which pairs at `rows` some rule may match: every pair `match_pair` matches, and a few more near a
    threshold (a superset, so that the result is `match_pair`'s own)."""
    hopeful = np.zeros(len(rows), dtype=bool)
    for rule in config.rules:
        if rule.match == "exact":
            hit = pairs.sharing([rule.key] if rule.key else [])[rows]
            if rule.unless_fuzzy is not None:
                other = scores[_how(rule.unless_fuzzy)][rows]
                hit &= ~np.isnan(other) & (other < rule.below + SLACK)
        elif rule.match == "fuzzy":
            hit = pairs.sharing(rule.block)[rows]
            total, weights = np.zeros(len(rows)), np.zeros(len(rows))
            for spec in rule.fields:
                score = scores[_how(spec)][rows]
                present = ~np.isnan(score)
                if spec.required:
                    hit &= present
                total += np.where(present, score, 0.0) * spec.weight
                weights += np.where(present, spec.weight, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                hit &= (weights > 0) & (total / weights >= rule.threshold - SLACK)
        else:
            hit = pairs.sharing(rule.block)[rows]
            where = level_rows.get(rule.name)
            if where is not None:  # a pair its blocks do not hold is scored by match_pair itself
                at = where[rows]
                inside = at >= 0
                chance = np.ones(len(rows))
                chance[inside] = probabilities(models[rule.name], levels[rule.name].matrix[at[inside]])
                hit &= chance >= rule.threshold - 1e-6
        hopeful |= hit
    return hopeful


def hopeful_pairs(
    config: DuplicateRules, levels: Mapping[str, Levels], models: Mapping[str, MatchModel]
) -> set[tuple[int, int]] | None:
    """When every rule is probabilistic: the pairs some rule's probability reaches its threshold for, computed
    for all pairs at once (numpy), so that only those are scored one by one. None when other rules need every
    pair."""
    if any(rule.match != "probabilistic" for rule in config.rules):
        return None
    found: set[tuple[int, int]] = set()
    for rule in config.rules:
        by_pair = levels.get(rule.name)
        if by_pair is None or not len(by_pair):
            continue
        chances = probabilities(models.get(rule.name) or default_model(rule), by_pair.matrix)
        found.update(by_pair.pairs_where(chances >= rule.threshold - 1e-9))
    return found


def pair_row(entity: str, low: int, high: int, candidate: Candidate, found_by: str, now: datetime) -> dict[str, Any]:
    """The columns of a new open duplicate pair for a scored candidate (for a bulk insert)."""
    return {
        "entity": entity,
        "record_a_id": low,
        "record_b_id": high,
        "score": candidate.score,
        "rule": candidate.rule[:100],
        "reasons": candidate.reasons,
        "status": "open",
        "found_by": found_by,
        "found_at": now,
        "decided_at": None,
        "decided_by": None,
    }
