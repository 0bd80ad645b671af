"""Training the probabilistic duplicate rules of an entity: the level vectors of the pairs their blocks compare,
reviewed pairs as labels (merged = match; dismissed, related = not), EM, the model stored per entity and rule."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np

from engine.config.duplicates_model import DuplicateRules, MatchRule
from engine.config.model import Bundle
from engine.errors import NotFound
from engine.quality.comparisons import NULL, comparer, prepare, value_of
from engine.quality.fellegi_sunter import MatchModel, train
from engine.quality.matching import comparison_levels, load_models, rules_of
from engine.store.uow import UnitOfWork

Pairs = Mapping[tuple[int, int], set[str]]  # (low id, high id) -> the keys the two records share
Values = Mapping[int, Mapping[str, Any]]  # record id -> the values the rules read


Levels = dict[tuple[int, int], tuple[int, ...]]  # (low id, high id) -> the level of each comparison


def pair_levels(rule: MatchRule, pairs: Pairs, values: Values) -> Levels:
    """The comparison levels of every pair the rule's blocks put together; each record's values are prepared
    (folded, parsed) once."""
    blocks, comparisons = set(rule.block), rule.comparisons
    prepared: dict[int, tuple[Any, ...]] = {}

    def of(record_id: int) -> tuple[Any, ...]:
        found = prepared.get(record_id)
        if found is None:
            data = values[record_id]
            found = prepared[record_id] = tuple(prepare(c, value_of(c, data)) for c in comparisons)
        return found

    levels: Levels = {}
    comparers = [(comparer(c), c) for c in comparisons]
    for (low, high), shared in pairs.items():
        if blocks.isdisjoint(shared) or low not in values or high not in values:
            continue
        a, b = of(low), of(high)
        levels[(low, high)] = tuple(NULL if x is None or y is None else fn(c, x, y)
                                    for (fn, c), x, y in zip(comparers, a, b, strict=True))
    return levels


def as_matrix(rule: MatchRule, levels: Levels) -> np.ndarray:
    """Level vectors as a (pairs × comparisons) matrix."""
    return np.asarray(list(levels.values()), dtype=np.int8).reshape(len(levels), len(rule.comparisons))


def labelled_vectors(uow: UnitOfWork, rule: MatchRule, entity: str) -> tuple[np.ndarray, np.ndarray]:
    """Level vectors of the pairs reviewers decided, and their labels (1 merged, 0 dismissed or related)."""
    reviewed = uow.quality.reviewed_pairs(entity)
    vectors = [comparison_levels(rule, a, b) for _, _, _, a, b in reviewed]
    labels = [1.0 if status == "merged" else 0.0 for _, _, status, _, _ in reviewed]
    return (np.asarray(vectors, dtype=np.int8).reshape(len(vectors), len(rule.comparisons)),
            np.asarray(labels, dtype=float))


def fresh_models(uow: UnitOfWork, config: DuplicateRules, levels: Mapping[str, Levels], now: datetime, *,
                 force: bool = False) -> tuple[dict[str, MatchModel], list[str]]:
    """The models of the entity's probabilistic rules for a scan: a rule without a stored model that fits it,
    or whose reviewed pairs changed since it was trained (or every rule with `force`), is trained on the levels of
    the pairs its blocks compare and stored. Returns the models and the names of the rules trained."""
    models = load_models(uow, config)
    trained: list[str] = []
    for rule in config.rules:
        if rule.match != "probabilistic":
            continue
        labelled, labels = labelled_vectors(uow, rule, config.entity)
        current = models.get(rule.name)
        if current is not None and not force and current.labels == len(labels):
            continue
        model = train(rule, as_matrix(rule, levels.get(rule.name, {})), labelled, labels)
        uow.quality.save_model(config.entity, rule.name, model.as_json(), now)
        models[rule.name] = model
        trained.append(rule.name)
    return models, trained


def train_models(uow: UnitOfWork, bundle: Bundle, entity: str, now: datetime) -> dict[str, MatchModel]:
    """Retrain every probabilistic rule of an entity on its current records and reviewed pairs, and store the
    models (`flowcrm duplicates train`)."""
    from engine.quality.scan import candidate_pairs

    config = rules_of(bundle, entity)
    if config is None:
        raise NotFound(f"no duplicate rules for {entity!r} (crm_model/duplicates/<entity>.yaml)")
    with uow:
        pairs, values = candidate_pairs(uow, config)
        levels = {rule.name: pair_levels(rule, pairs, values) for rule in config.rules
                  if rule.match == "probabilistic"}
        models, _ = fresh_models(uow, config, levels, now, force=True)
        uow.commit()
    return models
