"""Fellegi-Sunter match weights: m and u probabilities per comparison level, learned by EM, and what they say
about one pair (per-field match weights, the total, the match probability).

A probabilistic rule compares the pairs its blocks put together; `train` estimates, over those pairs, the share
that are matches (the prior) and, per field and level, how often matches (m) and non-matches (u) meet it.
Reviewed pairs are labels: a merged pair is a match, a dismissed or related one is not. Pure numpy, no database:
engine/quality/models.py stores what it learns."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from engine.config.duplicates_model import MatchRule
from engine.quality.comparisons import LEVELS, NULL

# Before any training: m and u of each level (null first, unused) and the prior share of matches among the
# pairs a rule's blocks compare. Ordinary values, so that an untrained rule already finds the obvious pairs.
DEFAULT_M: dict[str, tuple[float, ...]] = {
    "exact": (1, 0.95, 0.05),
    "name": (1, 0.70, 0.05, 0.12, 0.06, 0.04, 0.03),
    "text": (1, 0.80, 0.10, 0.05, 0.05),
    "id": (1, 0.85, 0.08, 0.03, 0.04),
    "date": (1, 0.85, 0.03, 0.04, 0.04, 0.04),
    "number": (1, 0.85, 0.05, 0.05, 0.05),
    "phone": (1, 0.85, 0.05, 0.10),
    "email": (1, 0.85, 0.04, 0.03, 0.08),
}
DEFAULT_U: dict[str, tuple[float, ...]] = {
    "exact": (1, 0.01, 0.99),
    "name": (1, 0.002, 0.0005, 0.005, 0.02, 0.1, 0.8725),
    "text": (1, 0.01, 0.02, 0.05, 0.92),
    "id": (1, 0.0001, 0.001, 0.005, 0.9939),
    "date": (1, 0.0005, 0.0001, 0.0005, 0.02, 0.9789),
    "number": (1, 0.01, 0.01, 0.1, 0.88),
    "phone": (1, 0.001, 0.001, 0.998),
    "email": (1, 0.001, 0.001, 0.0005, 0.9975),
}
DEFAULT_PRIOR = 0.05
MAX_ITERATIONS = 100
TOLERANCE = 1e-6
# The defaults weigh as much as this many pairs of each class (a Dirichlet/Beta prior: EM finds the most probable
# model, not the likeliest). On a million pairs that is nothing; on the handful of pairs a new database has, EM alone
# would decide that every pair is a match (3 pairs, 3 matches: prior 1.0) — this keeps such a model near the
# defaults until the data say otherwise. It also keeps a level no pair met from a probability of zero.
PRIOR_PAIRS = 20.0
FLOOR = 1e-6


@dataclass(frozen=True)
class MatchModel:
    """What a probabilistic rule believes: the prior share of matches and m/u per comparison and level."""

    prior: float
    m: tuple[tuple[float, ...], ...]
    u: tuple[tuple[float, ...], ...]
    pairs: int = 0  # pairs it was trained on (0: the defaults)
    labels: int = 0  # of those, reviewed pairs
    iterations: int = 0

    @property
    def trained(self) -> bool:
        """Learned from data rather than the defaults."""
        return self.pairs > 0

    def weights(self) -> list[list[float]]:
        """Match weights log2(m/u) per comparison and level; the null level weighs 0."""
        return [list(levels) for levels in self.weight_table]

    @cached_property
    def weight_table(self) -> tuple[tuple[float, ...], ...]:
        """`weights`, computed once per model: a scan reads them for every pair."""
        return tuple(tuple(0.0 if level == NULL else math.log2(max(m, FLOOR) / max(u, FLOOR))
                 for level, (m, u) in enumerate(zip(ms, us, strict=True)))
                     for ms, us in zip(self.m, self.u, strict=True))

    def total_weight(self, levels: Sequence[int]) -> float:
        """The prior's weight plus the weights of the levels met."""
        table = self.weight_table
        return self.prior_weight() + sum(table[k][level] for k, level in enumerate(levels))

    def prior_weight(self) -> float:
        """log2 of the prior odds of a match."""
        return math.log2(self.prior / (1 - self.prior))

    def fits(self, rule: MatchRule) -> bool:
        """Whether the model's shape is the rule's (same comparisons and levels): a changed rule is retrained."""
        shape = [len(LEVELS[c.compare]) for c in rule.comparisons]
        return [len(levels) for levels in self.m] == shape and [len(levels) for levels in self.u] == shape

    def as_json(self) -> dict[str, Any]:
        """The model as stored (match_model.params)."""
        return {"prior": self.prior, "m": [list(x) for x in self.m], "u": [list(x) for x in self.u],
                "pairs": self.pairs, "labels": self.labels, "iterations": self.iterations}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MatchModel:
        """A stored model."""
        return cls(float(data["prior"]), tuple(tuple(float(v) for v in x) for x in data["m"]),
                   tuple(tuple(float(v) for v in x) for x in data["u"]), int(data.get("pairs", 0)),
                   int(data.get("labels", 0)), int(data.get("iterations", 0)))


def default_model(rule: MatchRule) -> MatchModel:
    """The model of a rule never trained: the default m and u of its comparisons' levels."""
    return MatchModel(DEFAULT_PRIOR, tuple(DEFAULT_M[c.compare] for c in rule.comparisons),
                      tuple(DEFAULT_U[c.compare] for c in rule.comparisons))


@dataclass(frozen=True)
class Explanation:
    """Why a pair scores what it does: the prior weight, one (level, weight) per comparison, the total and the
    match probability."""

    prior_weight: float
    levels: tuple[int, ...]
    weights: tuple[float, ...]
    total: float
    probability: float


def explain(model: MatchModel, levels: Sequence[int]) -> Explanation:
    """The match weight of each comparison's level, their total with the prior, and the match probability."""
    table = model.weight_table
    weights = tuple(table[k][level] for k, level in enumerate(levels))
    total = model.prior_weight() + sum(weights)
    return Explanation(model.prior_weight(), tuple(levels), weights, total, probability(total))


def probability(total_weight: float) -> float:
    """The match probability of a total match weight (log2 odds)."""
    if total_weight > 60:
        return 1.0
    return 1.0 / (1.0 + math.pow(2.0, -total_weight))


def probabilities(model: MatchModel, vectors: np.ndarray) -> np.ndarray:
    """The match probability of every row of a (pairs × comparisons) level matrix."""
    total = np.full(len(vectors), model.prior_weight())
    for k, levels in enumerate(model.weights()):
        total += np.asarray(levels)[vectors[:, k]]
    found: np.ndarray = 1.0 / (1.0 + np.exp2(-np.clip(total, -60, 60)))
    return found


def train(rule: MatchRule, vectors: np.ndarray, labelled: np.ndarray | None = None,
          labels: np.ndarray | None = None, start: MatchModel | None = None) -> MatchModel:
    """m, u and the prior by expectation-maximisation over the compared pairs' level vectors (pairs ×
    comparisons); labelled pairs (vectors with 1 = match, 0 = not) keep their class. The defaults (or `start`)
    are the starting point; with no pairs at all they are returned unchanged."""
    sizes = [len(LEVELS[c.compare]) for c in rule.comparisons]
    begin = start if start is not None and start.fits(rule) else default_model(rule)
    if labelled is None or labels is None:
        labelled, labels = np.zeros((0, len(sizes)), dtype=np.int8), np.zeros(0)
    if not len(vectors) and not len(labelled):
        return begin
    patterns, counts = _patterns(vectors.reshape(-1, len(sizes)), sizes)
    fixed, fixed_counts = labelled.reshape(-1, len(sizes)), np.ones(len(labelled))
    every = np.concatenate([patterns, fixed]).astype(np.int64)
    weight = np.concatenate([counts.astype(float), fixed_counts])
    free = np.concatenate([np.ones(len(patterns), dtype=bool), np.zeros(len(fixed), dtype=bool)])
    known = np.concatenate([np.zeros(len(patterns)), labels.astype(float)])
    prior = begin.prior
    m = [np.asarray(x, dtype=float) for x in begin.m]
    u = [np.asarray(x, dtype=float) for x in begin.u]
    base = default_model(rule)
    m_prior, u_prior = _prior_counts(base.m), _prior_counts(base.u)
    iterations = 0
    for iterations in range(1, MAX_ITERATIONS + 1):  # noqa: B007 - the count is reported
        log_m = np.full(len(every), math.log(prior))
        log_u = np.full(len(every), math.log(1 - prior))
        for k in range(len(sizes)):
            seen = every[:, k] != NULL
            log_m[seen] += np.log(np.maximum(m[k][every[seen, k]], FLOOR))
            log_u[seen] += np.log(np.maximum(u[k][every[seen, k]], FLOOR))
        share = 1.0 / (1.0 + np.exp(np.clip(log_u - log_m, -700, 700)))
        share = np.where(free, share, known)
        matched, unmatched = weight * share, weight * (1 - share)
        new_prior = float(np.clip((matched[free].sum() + PRIOR_PAIRS * base.prior)
                                  / (weight[free].sum() + PRIOR_PAIRS), 1e-6, 1 - 1e-6)) if free.any() else prior
        new_m, new_u = [], []
        for k, size in enumerate(sizes):
            column = every[:, k]
            m_counts = np.bincount(column, weights=matched, minlength=size)[:size]
            u_counts = np.bincount(column, weights=unmatched, minlength=size)[:size]
            m_counts[NULL] = u_counts[NULL] = 0.0
            m_counts = m_counts.astype(float) + m_prior[k]
            u_counts = u_counts.astype(float) + u_prior[k]
            m_level, u_level = m_counts / m_counts[1:].sum(), u_counts / u_counts[1:].sum()
            m_level[NULL] = u_level[NULL] = 1.0
            new_m.append(m_level)
            new_u.append(u_level)
        change = max([abs(new_prior - prior)] + [float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)]
                     + [float(np.abs(a - b).max()) for a, b in zip(new_u, u, strict=True)])
        prior, m, u = new_prior, new_m, new_u
        if change < TOLERANCE:
            break
    return MatchModel(prior, tuple(tuple(float(v) for v in x) for x in m), tuple(tuple(float(v) for v in x) for x in u),
                      int(counts.sum()) + len(fixed), len(fixed), iterations)


def _prior_counts(levels: tuple[tuple[float, ...], ...]) -> list[np.ndarray]:
    """PRIOR_PAIRS pairs spread over each comparison's levels (null excluded) as the defaults share them."""
    found = []
    for shares in levels:
        counts = np.asarray(shares, dtype=float)
        counts[NULL] = 0.0
        found.append(PRIOR_PAIRS * counts / counts.sum())
    return found


def _patterns(vectors: np.ndarray, sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct level vectors and how often each occurs: rows packed into one integer each (mixed radix),
    since a 1-D unique is far faster than a row-wise one over a million pairs."""
    if not len(vectors):
        return vectors.astype(np.int64), np.zeros(0, dtype=np.int64)
    radix = np.cumprod([1, *sizes[:-1]], dtype=np.int64)
    codes, counts = np.unique(vectors.astype(np.int64) @ radix, return_counts=True)
    rows = (codes[:, None] // radix[None, :]) % np.asarray(sizes, dtype=np.int64)[None, :]
    return rows, counts
