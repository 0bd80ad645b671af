"""Duplicate candidates of a record: derived match keys, exact and fuzzy rules, scores and reasons.

The rules come from the bundle (`bundle.duplicates[entity]`, crm_model/duplicates/<entity>.yaml). Keys are
stored as match_key rows so that a lookup is one indexed query per write; see engine/quality/checks.py for what a
create/update does with the candidates and engine/quality/scan.py for the batch scan."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from engine.config.duplicates_model import DuplicateRules, FuzzyField, MatchKey, MatchRule
from engine.config.model import Bundle
from engine.quality.comparisons import LEVELS, aligned_similarity, compare, value_of
from engine.quality.fellegi_sunter import MatchModel, default_model, explain, probability
from engine.quality.normalize import comparable_forms, keys_of
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork

CANDIDATE_LIMIT = 200  # records sharing the most block keys that one lookup compares
TEXT_TYPES = ("string", "text", "email", "phone", "url")

Keys = dict[str, set[str]]  # key name -> normalized values
Shared = Collection[str]  # names of the keys two records share


@dataclass(frozen=True)
class Candidate:
    """A record that may be the same as (suggest "merge") or related to (suggest "related") the one checked."""

    record_id: int
    score: float
    rule: str
    reasons: list[dict[str, Any]] = field(default_factory=list)  # [{field, how: exact|fuzzy, a, b, score}]
    suggest: str = "merge"
    title: str = ""


def token_match(a: str, b: str) -> float:
    """Every word of the shorter text meets a similar word of the other: the weakest such match (0..100).

    "ivan ivanov" and "ivanov ivan petrovich" score 100 (a middle name more is no difference), "mary young" and
    "henry young" score low (another first name is another person); a one-letter word meets any word it starts
    ("i petrov" and "ivan petrov" score 100)."""
    short, long = a.split(), b.split()
    if len(short) > len(long):
        short, long = long, short
    if not short:
        return 0.0
    return min(max(100.0 if len(word) == 1 and other.startswith(word) else fuzz.ratio(word, other)  # initials
                   for other in long) for word in short)


def token_align(a: str, b: str) -> float:
    """Word by word in the best pairing (Jaro-Winkler, weighted by word length), 0..100: "walker xrescent" and
    "walker crescent" score 95 where token_sort_ratio, which sorts the words first, gives 47."""
    return aligned_similarity(tuple(a.split()), tuple(b.split())) * 100


_SCORERS: dict[str, Callable[[str, str], float]] = {
    "ratio": fuzz.ratio,
    "partial_ratio": fuzz.partial_ratio,
    "token_sort_ratio": fuzz.token_sort_ratio,
    "token_set_ratio": fuzz.token_set_ratio,
    "jaro_winkler": lambda a, b: JaroWinkler.normalized_similarity(a, b) * 100,
    "token_match": token_match,
    "token_align": token_align,
    "exact": lambda a, b: 100.0 if a == b else 0.0,
}


def rules_of(bundle: Bundle, entity: str) -> DuplicateRules | None:
    """The duplicate rules of an entity, or None when the bundle configures none."""
    return bundle.duplicates.get(entity)


def record_keys(config: DuplicateRules, data: Mapping[str, Any], region: str) -> Keys:
    """The normalized keys of a record's values by key name (empty keys left out)."""
    found: Keys = {}
    for key in config.keys.values():
        values = set(keys_of(key.normalize, key_value(key, data), region))
        if values:
            found[key.name] = values
    return found


def key_value(key: MatchKey, data: Mapping[str, Any]) -> Any:
    """The value a key normalizes: its field's, or its fields' joined by spaces."""
    if not key.also:
        return data.get(key.field)
    parts = [str(data[name]) for name in key.fields if data.get(name) not in (None, "")]
    return " ".join(parts) or None


def refresh_keys(uow: UnitOfWork, bundle: Bundle, row: RecordRow, *, created: bool = False) -> None:
    """Replace a record's match_key rows with the keys of its current values (none for a merged record); a record
    `created` in this transaction has none to remove."""
    config = rules_of(bundle, row.entity)
    keys = record_keys(config, row.data, bundle.settings.default_region) if config is not None else {}
    if row.merged_into_id is not None:
        keys = {}
    uow.quality.replace_keys(row.id, row.entity, [(name, value) for name, values in keys.items()
                                                  for value in sorted(values)], created=created)


KeyCache = dict[tuple[str, str], str | None]  # (kind, value) -> key: a scan meets each value many times


def cached_key(kind: str, value: Any, region: str, cache: KeyCache | None) -> str | None:
    """The phone or e-mail key of a value (None when it has none), kept in `cache` when given."""
    if cache is None or not isinstance(value, str):
        return next(iter(keys_of(kind, value, region)), None)
    found = cache.get((kind, value), "")
    if found == "":
        found = cache[(kind, value)] = next(iter(keys_of(kind, value, region)), None)
    return found


def score_field(spec: FuzzyField, a: Any, b: Any, region: str = "RU", cache: KeyCache | None = None) -> float | None:
    """How alike two values of a field are (0..100) under the field's scorer, the best of the folded and the
    transliterated forms; phones and e-mails compare by their keys, other non-text fields by equality; None when
    either is empty (or an unreadable phone or e-mail)."""
    if a in (None, "", []) or b in (None, "", []):
        return None
    kind = spec.kind
    if kind in ("phone", "email"):
        key_a, key_b = cached_key(kind, a, region, cache), cached_key(kind, b, region, cache)
        return (100.0 if key_a == key_b else 0.0) if key_a and key_b else None
    if kind not in TEXT_TYPES:
        return 100.0 if a == b else 0.0
    forms_a, forms_b = comparable_forms(a, spec.compare_as), comparable_forms(b, spec.compare_as)
    if not forms_a or not forms_b:
        return None
    scorer = _SCORERS[spec.scorer]
    # the folded forms, the Latin ones (Иванов → ivanov meets Ivanov) and those with spelling variants folded
    best = 0.0
    for a_form, b_form in zip(forms_a, forms_b, strict=True):
        if a_form == b_form:  # every scorer gives equal texts 100
            return 100.0
        best = max(best, float(scorer(a_form, b_form)))
    return round(best, 1)


def _exact(rule: MatchRule, config: DuplicateRules, shared: Shared, a: Mapping[str, Any],
           b: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    if rule.key is None or rule.key not in shared:
        return None
    field_name = config.keys[rule.key].field
    return [{"field": field_name, "how": "exact", "a": a.get(field_name), "b": b.get(field_name), "score": 100.0}]


def _fuzzy(rule: MatchRule, a: Mapping[str, Any], b: Mapping[str, Any], region: str,
           memo: dict[tuple[str, str, str], float | None],
           cache: KeyCache | None) -> tuple[float, list[dict[str, Any]]] | None:
    reasons: list[dict[str, Any]] = []
    total = weights = lost = 0.0
    most = sum(spec.weight for spec in rule.fields)
    for spec in rule.cheap_first:
        how = (spec.field, spec.scorer, spec.compare_as)
        score = memo.get(how, -1.0)
        if score == -1.0:  # several rules may score the same field the same way: once per pair
            score = memo[how] = score_field(spec, a.get(spec.field), b.get(spec.field), region, cache)
        if score is None:
            if spec.required:
                return None
            most -= spec.weight  # no value is no evidence either way
            continue
        total, weights, lost = total + score * spec.weight, weights + spec.weight, lost + (100 - score) * spec.weight
        if most and round((100 * most - lost) / most, 1) < rule.threshold:
            return None  # even perfect scores on the other fields would stay below the threshold
        reasons.append({"field": spec.field, "how": "exact" if spec.scorer == "exact" else "fuzzy",
                        "a": a.get(spec.field), "b": b.get(spec.field), "score": score, "weight": spec.weight})
    if not weights:
        return None
    score = round(total / weights, 1)
    return (min(score, rule.score), reasons) if score >= rule.threshold else None


Models = Mapping[str, MatchModel]  # rule name -> the learned model of a probabilistic rule


def load_models(uow: UnitOfWork, config: DuplicateRules) -> dict[str, MatchModel]:
    """The stored models of an entity's probabilistic rules that still fit the rule (same comparisons); a rule
    without one scores by the default model until trained."""
    stored = uow.quality.model_params(config.entity)
    found: dict[str, MatchModel] = {}
    for rule in config.rules:
        if rule.match == "probabilistic" and rule.name in stored:
            model = MatchModel.from_json(stored[rule.name])
            if model.fits(rule):
                found[rule.name] = model
    return found


def comparison_levels(rule: MatchRule, a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[int, ...]:
    """The level each comparison of a probabilistic rule meets for two records' values."""
    return tuple(compare(c, value_of(c, a), value_of(c, b)) for c in rule.comparisons)


def probabilistic_reasons(rule: MatchRule, model: MatchModel, a: Mapping[str, Any], b: Mapping[str, Any],
                          levels: tuple[int, ...] | None = None) -> tuple[float, list[dict[str, Any]]]:
    """A pair's match probability (0..100) under a probabilistic rule, and its reasons: the prior's weight, then
    per comparison the level met and its match weight (log2 Bayes factor), last the total."""
    found = explain(model, levels if levels is not None else comparison_levels(rule, a, b))
    reasons: list[dict[str, Any]] = [{"field": "", "how": "prior", "weight": round(found.prior_weight, 2)}]
    for comparison, level, weight in zip(rule.comparisons, found.levels, found.weights, strict=True):
        reasons.append({"field": comparison.name, "how": comparison.compare,
                        "level": LEVELS[comparison.compare][level], "weight": round(weight, 2),
                        "a": value_of(comparison, a), "b": value_of(comparison, b)})
    reasons.append({"field": "", "how": "total", "weight": round(found.total, 2),
                    "score": round(found.probability * 100, 2)})
    return round(found.probability * 100, 2), reasons


FieldScores = Mapping[tuple[str, str, str], float | None]  # (field, scorer, compare_as) -> score_field's result


def match_pair(config: DuplicateRules, shared: Shared, a: Mapping[str, Any], b: Mapping[str, Any], record_id: int,
               title: str = "", cache: KeyCache | None = None, models: Models | None = None,
               levels: Mapping[str, tuple[int, ...]] | None = None,
               scores: FieldScores | None = None) -> Candidate | None:
    """The best rule matching two records' data, given the keys they share. A matching `suggest: related` rule
    (same phone, clearly another person) is the exception to the merge rules on its key: it outranks them, but
    not a merge rule on other evidence (the same e-mail too, a similar name). `cache` keeps phone and e-mail keys
    across calls (a scan); `models` are the learned models of probabilistic rules (defaults when absent),
    `levels` their comparison levels for this pair when already computed (a scan), by rule name, `scores` the
    fields' scores (`score_field`) when already computed for many pairs at once (engine/quality/field_batch.py)."""
    matched: list[tuple[MatchRule, Candidate]] = []
    memo: dict[tuple[str, str, str], float | None] = dict(scores or {})
    for rule in config.rules:
        if rule.match == "probabilistic":
            if not any(block in shared for block in rule.block):
                continue
            model = (models or {}).get(rule.name) or default_model(rule)
            met = (levels or {}).get(rule.name) or comparison_levels(rule, a, b)
            if probability(model.total_weight(met)) < rule.threshold:
                continue
            score, reasons = probabilistic_reasons(rule, model, a, b, met)
            score = min(score, rule.score)  # a cap (score: 90) lets exact rules outrank it; reasons keep the total
        elif rule.match == "exact":
            exact = _exact(rule, config, shared, a, b)
            if exact is None:
                continue
            score, reasons = rule.score, exact
            if rule.unless_fuzzy is not None:
                spec = rule.unless_fuzzy
                other = memo.get((spec.field, spec.scorer, spec.compare_as), -1.0)
                if other == -1.0:
                    other = score_field(spec, a.get(spec.field), b.get(spec.field), config.region, cache)
                if other is None or other >= rule.below:
                    continue
                reasons.append({"field": rule.unless_fuzzy.field,
                                "how": "exact" if rule.unless_fuzzy.scorer == "exact" else "fuzzy",
                                "a": a.get(rule.unless_fuzzy.field), "b": b.get(rule.unless_fuzzy.field),
                                "score": other})
        else:
            if not any(block in shared for block in rule.block):
                continue
            found = _fuzzy(rule, a, b, config.region, memo, cache)
            if found is None:
                continue
            score, reasons = found
        matched.append((rule, Candidate(record_id, score, rule.name, reasons, rule.suggest, title)))
    # a related rule's key (same phone, another person) excepts the merge rules resting on it: an exact rule on
    # that key, a probabilistic rule blocking on it (the shared phone would otherwise outweigh the other name)
    excepted = {rule.key for rule, candidate in matched if candidate.suggest == "related"}
    merges = [c for rule, c in matched if c.suggest == "merge" and not excepted & _rests_on(rule)]
    pool = merges or [candidate for _, candidate in matched if candidate.suggest == "related"]
    return max(pool, key=lambda candidate: candidate.score, default=None)


def _rests_on(rule: MatchRule) -> set[str | None]:
    return set(rule.block) if rule.match == "probabilistic" else {rule.key} - {None}


def rule_named(config: DuplicateRules, name: str) -> MatchRule | None:
    """A rule of the entity's configuration by name."""
    return next((rule for rule in config.rules if rule.name == name), None)


def _shared(mine: Keys, theirs: Iterable[tuple[str, str]]) -> set[str]:
    return {key for key, value in theirs if value in mine.get(key, ())}


def find_candidates(uow: UnitOfWork, bundle: Bundle, entity: str, data: Mapping[str, Any],
                    exclude_ids: Iterable[int] = (), models: Models | None = None) -> list[Candidate]:
    """Records of `entity` (merged ones ignored) that may duplicate `data`, an unsaved or saved record's values,
    best first: one statement of indexed lookups of the exact keys and of the block keys, one load of the records
    found."""
    config = rules_of(bundle, entity)
    if config is None:
        return []
    mine = record_keys(config, data, bundle.settings.default_region)
    if not mine:
        return []
    excluded = set(exclude_ids)
    exact_names = {rule.key for rule in config.rules if rule.match == "exact" and rule.key}
    block_names = {block for rule in config.rules if rule.match != "exact" for block in rule.block} - exact_names
    hits: dict[int, list[tuple[str, str]]] = {}
    exact = [(name, value) for name in exact_names for value in sorted(mine.get(name, ()))]
    blocks = [(name, value) for name in block_names for value in sorted(mine.get(name, ()))]
    for record_id, key, value in uow.quality.candidate_matches(entity, exact, blocks, excluded, CANDIDATE_LIMIT):
        hits.setdefault(record_id, []).append((key, value))
    if not hits:
        return []
    found: list[Candidate] = []
    if models is None and any(rule.match == "probabilistic" for rule in config.rules):
        models = load_models(uow, config)
    for record_id, (title, other) in uow.quality.record_data(hits).items():
        candidate = match_pair(config, _shared(mine, hits[record_id]), data, other, record_id, title,
                               models=models)
        if candidate is not None:
            found.append(candidate)
    return sorted(found, key=lambda c: (-c.score, c.record_id))
