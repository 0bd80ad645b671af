"""Tuning duplicate rules without guessing: the score distribution of the pairs the rules compare, precision and
recall against the pairs reviewers decided, and a dry run of a rule or threshold change (which pairs would open,
which open ones would close) before it is deployed. Reads only; nothing is written or trained."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from engine.config.duplicates_model import DuplicateRules, MatchRule
from engine.config.model import Bundle
from engine.errors import NotFound, ValidationError
from engine.quality.comparisons import LEVELS
from engine.quality.fellegi_sunter import MatchModel, default_model
from engine.quality.matching import KeyCache, Models, load_models, match_pair, record_keys, rules_of
from engine.quality.pair_scoring import on_match_rules, rule_levels
from engine.store.uow import UnitOfWork

BUCKETS = 10  # histogram bars over scores 0..100
CUTOFFS = (50.0, 80.0, 90.0, 95.0, 99.0)  # scores at which precision and recall are shown
SHOWN = 50  # pairs listed per side of a dry run
Pair = tuple[int, int, float, str]  # low id, high id, score, rule


@dataclass(frozen=True)
class Quality:
    """Precision and recall of merge suggestions against reviewed pairs (merged = duplicate; dismissed and
    related = not) at one score cutoff."""

    cutoff: float
    predicted: int
    true_positives: int
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class RuleWeights:
    """What a probabilistic rule has learned (or its defaults, untrained): the prior share of matches and, per
    comparison and level, m, u and the match weight log2(m/u)."""

    rule: str
    trained: bool
    pairs: int
    labels: int
    prior: float
    levels: list[tuple[str, str, float, float, float]]  # (comparison, level, m, u, weight); null left out


@dataclass(frozen=True)
class TuningReport:
    """What the (proposed) rules would do to an entity's records."""

    entity: str
    compared: int  # pairs sharing a key or block
    histogram: list[tuple[int, int, int]]  # (from, to, pairs): the best score of each compared pair
    found: int  # pairs the rules match
    would_open: int  # found, not known yet (or closed by a rescan)
    would_close: int  # open now, not found any more
    opening: list[Pair]  # the first SHOWN of them, best score first
    closing: list[Pair]
    reviewed: int  # decided pairs (labels)
    duplicates: int  # of those, merged
    quality: list[Quality]  # at the rules' own thresholds (cutoff 0) and at CUTOFFS
    weights: list[RuleWeights]  # of each probabilistic rule


def with_thresholds(config: DuplicateRules, thresholds: Mapping[str, float]) -> DuplicateRules:
    """The rules with some thresholds changed (a probabilistic rule's is a probability 0..1, a fuzzy rule's a
    score 0..100); an unknown rule or a threshold out of range is a ValidationError naming it."""
    names = {rule.name: rule for rule in config.rules}
    problems: dict[str, list[str]] = {}
    for name, value in thresholds.items():
        rule = names.get(name)
        if rule is None or rule.match == "exact":
            known = ", ".join(r.name for r in config.rules if r.match != "exact")
            problems[name] = [f"no fuzzy or probabilistic rule {name!r} in {config.entity} (rules: {known})"]
        elif rule.match == "probabilistic" and not 0 < value < 1:
            problems[name] = [f"a probabilistic threshold is a match probability between 0 and 1, not {value}"]
        elif rule.match == "fuzzy" and not 0 <= value <= 100:
            problems[name] = [f"a fuzzy threshold is a score from 0 to 100, not {value}"]
    if problems:
        raise ValidationError(problems)
    return replace(config, rules=tuple(replace(r, threshold=thresholds.get(r.name, r.threshold))
                                       for r in config.rules))


def _relaxed(rule: MatchRule) -> MatchRule:
    return replace(rule, threshold=0.0) if rule.match != "exact" else rule


def _quality(labelled: list[tuple[float | None, bool]], cutoff: float) -> Quality:
    predicted = [is_duplicate for score, is_duplicate in labelled if score is not None and score >= cutoff]
    tp, duplicates = sum(predicted), sum(1 for _, is_duplicate in labelled if is_duplicate)
    return Quality(cutoff, len(predicted), tp, round(tp / len(predicted), 4) if predicted else None,
                   round(tp / duplicates, 4) if duplicates else None)


def tune(uow: UnitOfWork, bundle: Bundle, entity: str, proposed: DuplicateRules | None = None) -> TuningReport:
    """The report of the entity's deployed rules, or of `proposed` ones (a changed file, other thresholds)."""
    from engine.quality.scan import candidate_pairs

    config = proposed or rules_of(bundle, entity)
    if config is None:
        raise NotFound(f"no duplicate rules for {entity!r} (crm_model/duplicates/<entity>.yaml)")
    relaxed = replace(config, rules=tuple(_relaxed(rule) for rule in config.rules))
    with uow:
        pairs, values = candidate_pairs(uow, config)
        models: Models = load_models(uow, config)
        levels = rule_levels(config, pairs, values)
        known = uow.quality.pair_statuses(entity)
        closable = {(a, b) for _, a, b in uow.quality.closable_pairs(entity, on_match_rules(config))}
        reviewed = uow.quality.reviewed_pairs(entity)
    histogram = [0] * BUCKETS
    found: dict[tuple[int, int], tuple[float, str]] = {}
    cache: KeyCache = {}
    for (low, high), shared in pairs.items():
        a, b = values.get(low), values.get(high)
        if a is None or b is None:
            continue
        met = {name: by_pair[(low, high)] for name, by_pair in levels.items() if (low, high) in by_pair}
        best = match_pair(relaxed, shared, a, b, high, cache=cache, models=models, levels=met)
        histogram[min(int((best.score if best else 0.0) // (100 / BUCKETS)), BUCKETS - 1)] += 1
        if best is None:
            continue
        matched = match_pair(config, shared, a, b, high, cache=cache, models=models, levels=met)
        if matched is not None:
            found[(low, high)] = (matched.score, matched.rule)
    opening = sorted(((low, high, score, rule) for (low, high), (score, rule) in found.items()
                      if known.get((low, high)) in (None, "closed")), key=lambda p: (-p[2], p[0], p[1]))
    closing = sorted(((low, high, 0.0, "") for low, high in closable if (low, high) not in found),
                     key=lambda p: (p[0], p[1]))
    region = bundle.settings.default_region
    labelled: list[tuple[float | None, bool]] = []
    strict: list[tuple[float | None, bool]] = []
    for _, high, status, a, b in reviewed:
        keys_a, keys_b = record_keys(config, a, region), record_keys(config, b, region)
        shared = {name for name, mine in keys_a.items() if mine & keys_b.get(name, set())}
        loose = match_pair(relaxed, shared, a, b, high, models=models)
        kept = match_pair(config, shared, a, b, high, models=models)
        labelled.append((loose.score if loose and loose.suggest == "merge" else None, status == "merged"))
        strict.append((kept.score if kept and kept.suggest == "merge" else None, status == "merged"))
    return TuningReport(entity, sum(histogram), [(n * 100 // BUCKETS, (n + 1) * 100 // BUCKETS, count)
                                                 for n, count in enumerate(histogram)],
                        len(found), len(opening), len(closing), opening[:SHOWN], closing[:SHOWN], len(reviewed),
                        sum(1 for _, is_duplicate in strict if is_duplicate),
                        [_quality(strict, 0.0)] + [_quality(labelled, cutoff) for cutoff in CUTOFFS],
                        [_weights(rule, models.get(rule.name) or default_model(rule)) for rule in config.rules
                         if rule.match == "probabilistic"])


def _weights(rule: MatchRule, model: MatchModel) -> RuleWeights:
    table = model.weights()
    levels = [(comparison.name, LEVELS[comparison.compare][level], model.m[k][level], model.u[k][level],
               table[k][level])
              for k, comparison in enumerate(rule.comparisons) for level in range(1, len(table[k]))]
    return RuleWeights(rule.name, model.trained, model.pairs, model.labels, model.prior, levels)

