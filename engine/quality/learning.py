"""Training the probabilistic duplicate rules of an entity: the level vectors of the pairs their blocks compare,
reviewed pairs as labels (merged = match; dismissed, related = not), EM, the model stored per entity and rule."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import numpy as np

from engine.config.duplicates_model import DuplicateRules, MatchRule
from engine.config.model import Bundle
from engine.errors import NotFound
from engine.quality.fellegi_sunter import MatchModel, train
from engine.quality.matching import comparison_levels, load_models, rules_of
from engine.quality.pair_scoring import Levels, pair_levels
from engine.store.uow import UnitOfWork


def as_matrix(rule: MatchRule, levels: Levels | None) -> np.ndarray:
    """Level vectors as a (pairs × comparisons) matrix (an empty one for no levels)."""
    if levels is None:
        return np.zeros((0, len(rule.comparisons)), dtype=np.int8)
    return levels.matrix


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
        model = train(rule, as_matrix(rule, levels.get(rule.name)), labelled, labels)
        uow.quality.save_model(config.entity, rule.name, model.as_json(), now)
        models[rule.name] = model
        trained.append(rule.name)
    return models, trained


def train_models(uow: UnitOfWork, bundle: Bundle, entity: str, now: datetime) -> dict[str, MatchModel]:
    """Retrain every probabilistic rule of an entity on its current records and reviewed pairs, and store the
    models (`flowcrm duplicates train`)."""
    config = rules_of(bundle, entity)
    if config is None:
        raise NotFound(f"no duplicate rules for {entity!r} (crm_model/duplicates/<entity>.yaml)")
    with uow:
        models = retrain_in(uow, config, now)
        uow.commit()
    return models


def retrain_in(uow: UnitOfWork, config: DuplicateRules, now: datetime) -> dict[str, MatchModel]:
    """`train_models`, inside the caller's transaction (which commits it)."""
    from engine.quality.scan import candidate_pairs

    pairs, values = candidate_pairs(uow, config)
    levels = {rule.name: pair_levels(rule, pairs, values) for rule in config.rules if rule.match == "probabilistic"}
    models, _ = fresh_models(uow, config, levels, now, force=True)
    return models


def decisions_since_training(uow: UnitOfWork, config: DuplicateRules) -> int:
    """How many reviewers' decisions the most outdated probabilistic rule of the entity has not learned from
    (every decision, for a rule never trained); 0 without probabilistic rules."""
    rules = [rule for rule in config.rules if rule.match == "probabilistic"]
    if not rules:
        return 0
    decided, models = uow.quality.reviewed_count(config.entity), load_models(uow, config)
    return max(decided - (models[rule.name].labels if rule.name in models else 0) for rule in rules)
