"""Typed duplicate-detection settings of one entity (crm_model/duplicates/<entity>.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

ON_CREATE = ("warn", "link", "block")  # what a create/update that matches another record does
SUGGESTIONS = ("merge", "related")
SCORERS = ("ratio", "partial_ratio", "token_sort_ratio", "token_set_ratio", "jaro_winkler", "token_match",
           "token_align", "exact")
DEFAULT_SCORER = "token_align"  # word by word, in the best order: a typo in a first letter does not reorder words
MATCH_KINDS = ("exact", "fuzzy", "probabilistic")
# How a probabilistic rule compares a field (engine.quality.comparisons holds their levels)
COMPARISONS = ("exact", "name", "text", "id", "date", "number", "phone", "email")
DEFAULT_PROBABILITY = 0.95  # a probabilistic rule's threshold: the least match probability that is a pair
COMPARE_AS = ("name", "company", "text")
# Key kinds (`normalize:`), implemented by engine.quality.normalize.NORMALIZERS
NORMALIZERS = ("phone", "email", "name", "name_tokens", "company", "digits", "text", "name_prefix", "name_sound",
               "name_initials", "name_pairs", "name_sounds")  # how a fuzzy field's values are folded before scoring


@dataclass(frozen=True)
class MatchKey:
    """A named, normalized key of one field (stored as match_key rows): exact rules compare it, fuzzy rules
    block on it."""

    name: str
    field: str
    normalize: str  # a kind of engine.quality.normalize.NORMALIZERS
    max_block: int | None = None  # overrides the entity's max_block for this key
    also: tuple[str, ...] = ()  # more fields whose values join `field`'s (space-separated) before normalizing

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the key reads."""
        return (self.field, *self.also)


@dataclass(frozen=True)
class FuzzyField:
    """One field a fuzzy rule scores, with its scorer and weight."""

    field: str
    scorer: str = DEFAULT_SCORER
    weight: float = 1.0
    compare_as: str = "name"
    required: bool = False  # both records need a value, else the rule does not apply to the pair
    kind: str = "string"  # the entity field's type

    @property
    def cheap(self) -> bool:
        """Compared by equality (or by normalized key): fast, so scored before the text fields."""
        return self.kind not in ("string", "text", "url") or self.scorer == "exact"


@dataclass(frozen=True)
class Comparison:
    """One field (or several joined, like given name + surname) a probabilistic rule compares, by levels
    (engine.quality.comparisons): `compare` picks the levels, `days` the window of the date level "near"."""

    field: str
    compare: str  # one of COMPARISONS
    also: tuple[str, ...] = ()  # more fields joined to `field` (space-separated) before comparing
    days: int = 30  # date: "within N days"
    region: str = "RU"

    @property
    def name(self) -> str:
        """The name explanations show: the field, or the fields joined by '+'."""
        return "+".join((self.field, *self.also))


@dataclass(frozen=True)
class MatchRule:
    """One way two records may be the same (or related): an exact key, or a weighted fuzzy score over blocks."""

    name: str
    match: str  # exact | fuzzy | probabilistic
    score: float = 100.0  # exact: the pair's score; fuzzy: the most a pair scores (the weighted mean, capped)
    key: str | None = None  # exact: the key compared
    block: tuple[str, ...] = ()  # fuzzy: keys of which one must be shared for a pair to be compared
    fields: tuple[FuzzyField, ...] = ()  # fuzzy: scored fields
    threshold: float = 0.0  # fuzzy: the least weighted score that matches; probabilistic: the least probability
    comparisons: tuple[Comparison, ...] = ()  # probabilistic: the fields compared by levels
    unless_fuzzy: FuzzyField | None = None  # exact: applies only when this field scores below `below`
    below: float = 0.0
    suggest: str = "merge"  # merge | related
    on_create: str | None = None  # overrides the entity's on_create for this rule
    line: int | None = None
    label: Mapping[str, str] = field(default_factory=dict, hash=False)  # {locale: text}; none: shown by its name

    @cached_property
    def cheap_first(self) -> tuple[FuzzyField, ...]:
        """The fuzzy fields, those compared by equality first: they may end a comparison early."""
        return tuple(sorted(self.fields, key=lambda spec: not spec.cheap))


RETRAIN_AFTER = 20  # default of scan.retrain_after


@dataclass(frozen=True)
class DuplicateRules:
    """How duplicates of one entity are found and what a matching create/update does."""

    entity: str
    on_create: str
    keys: dict[str, MatchKey]
    rules: tuple[MatchRule, ...]
    scan_every: timedelta | None = None
    max_block: int = 200  # a shared block key with more records than this is too common to compare on
    region: str = "RU"  # settings.default_region: how phone numbers without a country code are read
    file: str = ""
    line: int | None = None
    retrain_after: int = RETRAIN_AFTER  # reviewers' decisions since training that make the worker retrain

    def block_limit(self, key: str) -> int:
        """The most records sharing one value of `key` that a scan still compares."""
        spec = self.keys.get(key)
        return spec.max_block if spec is not None and spec.max_block is not None else self.max_block

    def fields(self) -> frozenset[str]:
        """Every record field the keys and rules read: writing another field needs no new check."""
        return self._fields

    @cached_property
    def _fields(self) -> frozenset[str]:
        # asked at every record write: worked out once per loaded configuration's rules (they never change)
        used = {name for key in self.keys.values() for name in key.fields}
        for rule in self.rules:
            used.update(f.field for f in rule.fields)
            used.update(name for c in rule.comparisons for name in (c.field, *c.also))
            if rule.unless_fuzzy is not None:
                used.add(rule.unless_fuzzy.field)
        return frozenset(used)
