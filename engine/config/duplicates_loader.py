"""Check crm_model/duplicates/<entity>.yaml: match keys, exact and fuzzy rules, create-time policy, scan period."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from engine.config.checking import SNAKE_NAME, Checker, Say, paths_in, stem
from engine.config.duplicates_model import (
    COMPARE_AS,
    COMPARISONS,
    DEFAULT_PROBABILITY,
    DEFAULT_SCORER,
    MATCH_KINDS,
    NORMALIZERS,
    ON_CREATE,
    RETRAIN_AFTER,
    SCORERS,
    SUGGESTIONS,
    Comparison,
    DuplicateRules,
    FuzzyField,
    MatchKey,
    MatchRule,
)
from engine.config.expressions import parse_duration
from engine.config.model import Entity
from engine.config.yaml_lines import LineList, LineMap

DUPLICATES_FOLDER = "crm_model/duplicates"
_TOP = ("entity", "on_create", "keys", "rules", "scan", "max_block")
_KEY = ("field", "normalize", "max_block")
_RULE = ("name", "match", "key", "score", "block", "fields", "threshold", "unless_fuzzy", "suggest", "on_create",
         "compare")
_ONLY = {"exact": ("key", "unless_fuzzy"), "fuzzy": ("block", "fields", "threshold", "score"),
         "probabilistic": ("block", "compare", "threshold", "score")}
_COMPARE = ("field", "as", "days")
_FIELD = ("field", "scorer", "weight", "compare_as", "required")
_UNLESS = ("field", "scorer", "compare_as", "below")
_SHORT = re.compile(r"(\d+)\s*([dhm])")
_SHORT_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def _unknown(say: Say, spec: LineMap, allowed: tuple[str, ...]) -> None:
    for key in spec:
        if key not in allowed:
            say(spec.line_of(key), f"unknown key '{key}'; expected: {', '.join(allowed)}")


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        return None
    return float(value)


def _period(value: Any) -> timedelta | None:
    """A positive period: an ISO 8601 duration (P1D, PT12H) or a short one (1d, 12h, 30m)."""
    short = _SHORT.fullmatch(value.strip()) if isinstance(value, str) else None
    length = timedelta(**{_SHORT_UNITS[short[2]]: int(short[1])}) if short else parse_duration(value)
    return length if length is not None and length > timedelta(0) else None


class _DuplicatesFile:
    """The checks of one file; problems go to the checker."""

    def __init__(self, checker: Checker, path: str, entity: Entity, data: LineMap) -> None:
        self.checker, self.path, self.entity, self.data = checker, path, entity, data
        self.say = checker.sayer(path, entity.name)

    def field(self, say: Say, line: int, name: Any) -> str | None:
        if not isinstance(name, str) or name not in self.entity.fields:
            say(line, f"{self.entity.name} has no field {name!r}; fields: {', '.join(self.entity.fields)}")
            return None
        return name

    def joined_fields(self, say: Say, line: int, names: Any) -> tuple[str, ...] | None:
        """`field:` naming one field, or a list of fields whose values are joined (given name + surname)."""
        if isinstance(names, LineList):
            if not names or not all(isinstance(n, str) for n in names):
                say(line, "field must name a field or be a non-empty list of fields, like [first_name, last_name]")
                return None
            checked = [self.field(say, line, n) for n in names]
            return tuple(n for n in checked if n) if None not in checked else None
        one = self.field(say, line, names)
        return (one,) if one else None

    def keys(self) -> dict[str, MatchKey]:
        specs = self.data.get("keys")
        if not isinstance(specs, LineMap) or not specs:
            self.say(self.data.line_of("keys"), "keys must map key names to {field, normalize}, like "
                                                "phone: {field: phone, normalize: phone}")
            return {}
        keys: dict[str, MatchKey] = {}
        for name, spec in specs.items():
            say, line = self.checker.sayer(self.path, f"{self.entity.name}.keys.{name}"), specs.line_of(name)
            if not SNAKE_NAME.fullmatch(name):
                say(line, "key names must be snake_case")
                continue
            if not isinstance(spec, LineMap):
                say(line, "a key must be a mapping like {field: phone, normalize: phone}")
                continue
            _unknown(say, spec, _KEY)
            fields = self.joined_fields(say, spec.line_of("field"), spec.get("field"))
            normalize, limit = spec.get("normalize"), spec.get("max_block")
            if limit is not None and (type(limit) is not int or limit < 2):
                say(spec.line_of("max_block"), "max_block must be a whole number of at least 2")
                limit = None
            if normalize not in NORMALIZERS:
                say(spec.line_of("normalize"), f"unknown normalize {normalize!r}; use one of: {', '.join(NORMALIZERS)}")
            elif fields is not None:
                keys[name] = MatchKey(name, fields[0], str(normalize), limit, fields[1:])
        return keys

    def fuzzy_field(self, say: Say, spec: Any, line: int, allowed: tuple[str, ...]) -> FuzzyField | None:
        if not isinstance(spec, LineMap):
            say(line, f"a fuzzy field must be a mapping like {{field: full_name, scorer: {DEFAULT_SCORER}}}")
            return None
        _unknown(say, spec, allowed)
        field = self.field(say, spec.line_of("field"), spec.get("field"))
        scorer, compare_as = spec.get("scorer", DEFAULT_SCORER), spec.get("compare_as", "name")
        weight, required = _number(spec.get("weight", 1.0), 0.0, 1000.0), spec.get("required", False)
        ok = field is not None
        if scorer not in SCORERS:
            say(spec.line_of("scorer"), f"unknown scorer {scorer!r}; use one of: {', '.join(SCORERS)}")
            ok = False
        if compare_as not in COMPARE_AS:
            say(spec.line_of("compare_as"), f"compare_as {compare_as!r} must be one of: {', '.join(COMPARE_AS)}")
            ok = False
        if weight is None or weight == 0:
            say(spec.line_of("weight"), f"weight {spec.get('weight')!r} must be a positive number")
            ok = False
        if not isinstance(required, bool):
            say(spec.line_of("required"), "required must be true or false")
            ok = False
        if not ok:
            return None
        return FuzzyField(str(field), str(scorer), float(weight or 1.0), str(compare_as), required is True,
                          self.entity.fields[str(field)].type)

    def rule(self, spec: Any, line: int, keys: dict[str, MatchKey], known_keys: set[str]) -> MatchRule | None:
        name = spec.get("name") if isinstance(spec, LineMap) else None
        if not isinstance(spec, LineMap) or not isinstance(name, str) or not SNAKE_NAME.fullmatch(name):
            self.say(line, "a rule needs name: <snake_case> and match: exact | fuzzy")
            return None
        say = self.checker.sayer(self.path, f"{self.entity.name}.{name}")
        _unknown(say, spec, _RULE)
        match, suggest, on_create = spec.get("match"), spec.get("suggest", "merge"), spec.get("on_create")
        count = len(self.checker.problems)
        if suggest not in SUGGESTIONS:
            say(spec.line_of("suggest"), f"suggest {suggest!r} must be one of: {', '.join(SUGGESTIONS)}")
        if on_create is not None and on_create not in ON_CREATE:
            say(spec.line_of("on_create"), f"on_create {on_create!r} must be one of: {', '.join(ON_CREATE)}")
        if match not in MATCH_KINDS:
            say(spec.line_of("match"), f"match {match!r} must be one of: {', '.join(MATCH_KINDS)}")
            return None
        mine = _ONLY[str(match)] + ("score",) * (match == "exact")
        others = {key for other in _ONLY.values() for key in other}
        for key in (key for key in spec if key in others and key not in mine):
            say(spec.line_of(key), f"'{key}' does not apply to {'an' if match == 'exact' else 'a'} {match} rule")
        base = MatchRule(name, str(match), suggest=str(suggest), on_create=on_create, line=line)
        if match == "exact":
            built = self.exact(say, spec, base, keys, known_keys)
        elif match == "fuzzy":
            built = self.fuzzy(say, spec, base, known_keys)
        else:
            built = self.probabilistic(say, spec, base, known_keys)
        return built if len(self.checker.problems) == count else None

    def exact(self, say: Say, spec: LineMap, base: MatchRule, keys: dict[str, MatchKey],
              known_keys: set[str]) -> MatchRule | None:
        key, score = spec.get("key"), _number(spec.get("score"), 0, 100)
        if key not in known_keys:
            say(spec.line_of("key"), f"key {key!r} must name one of the keys: {', '.join(sorted(known_keys))}")
        if score is None:
            say(spec.line_of("score"), "score must be a number from 0 to 100")
        unless, below = spec.get("unless_fuzzy"), None
        checked: FuzzyField | None = None
        if unless is not None:
            checked = self.fuzzy_field(say, unless, spec.line_of("unless_fuzzy"), _UNLESS)
            below = _number(unless.get("below") if isinstance(unless, LineMap) else None, 0, 100)
            if below is None and isinstance(unless, LineMap):
                say(unless.line_of("below"), "unless_fuzzy needs below: <a score from 0 to 100>")
        if key not in keys or score is None:
            return None
        return MatchRule(base.name, "exact", score, str(key), unless_fuzzy=checked, below=below or 0.0,
                         suggest=base.suggest, on_create=base.on_create, line=base.line)

    def blocks(self, say: Say, spec: LineMap, known_keys: set[str]) -> LineList:
        block = spec.get("block")
        if not isinstance(block, LineList) or not block or not all(isinstance(b, str) for b in block):
            say(spec.line_of("block"), "block must be a non-empty list of key names, like [name_initials]")
            block = LineList(spec.line)
        for index, name in enumerate(block):
            if name not in known_keys:
                say(block.line_at(index), f"block key {name!r} is not one of the keys: {', '.join(sorted(known_keys))}")
        return block

    def probabilistic(self, say: Say, spec: LineMap, base: MatchRule, known_keys: set[str]) -> MatchRule | None:
        block, specs = self.blocks(say, spec, known_keys), spec.get("compare")
        threshold = _number(spec.get("threshold", DEFAULT_PROBABILITY), 0, 1)
        if threshold is None or threshold in (0.0, 1.0):
            say(spec.line_of("threshold"), "threshold of a probabilistic rule is a match probability between 0 and "
                                           f"1 (exclusive), like {DEFAULT_PROBABILITY}")
        if not isinstance(specs, LineList) or not specs:
            say(spec.line_of("compare"), "compare must be a non-empty list of {field, as}, like "
                                         "{field: full_name, as: name}")
            specs = LineList(spec.line)
        compared = [self.comparison(say, item, specs.line_at(i)) for i, item in enumerate(specs)]
        cap = _number(spec.get("score", 100), 0, 100)
        if cap is None:
            say(spec.line_of("score"), "score (the most a pair of this rule scores) must be a number from 0 to 100")
        if threshold is None or cap is None or None in compared:
            return None
        return MatchRule(base.name, "probabilistic", cap, block=tuple(block), threshold=threshold,
                         comparisons=tuple(c for c in compared if c), suggest=base.suggest,
                         on_create=base.on_create, line=base.line)

    def comparison(self, say: Say, spec: Any, line: int) -> Comparison | None:
        if not isinstance(spec, LineMap):
            say(line, "a comparison must be a mapping like {field: birth_date, as: date}")
            return None
        _unknown(say, spec, _COMPARE)
        fields = self.joined_fields(say, spec.line_of("field"), spec.get("field"))
        how, days = spec.get("as"), spec.get("days", 30)
        ok = fields is not None
        if how not in COMPARISONS:
            say(spec.line_of("as"), f"as {how!r} must be one of: {', '.join(COMPARISONS)}")
            ok = False
        if "days" in spec and how != "date":
            say(spec.line_of("days"), "days applies to a date comparison only")
            ok = False
        if type(days) is not int or days < 1:
            say(spec.line_of("days"), "days must be a whole number of at least 1")
            ok = False
        if not ok or fields is None:
            return None
        return Comparison(fields[0], str(how), fields[1:], int(days), self.checker.settings.default_region)

    def fuzzy(self, say: Say, spec: LineMap, base: MatchRule, known_keys: set[str]) -> MatchRule | None:
        fields, threshold = spec.get("fields"), _number(spec.get("threshold"), 0, 100)
        cap = _number(spec.get("score", 100), 0, 100)
        if cap is None:
            say(spec.line_of("score"), "score (the most a pair of this rule scores) must be a number from 0 to 100")
        block = self.blocks(say, spec, known_keys)
        if threshold is None:
            say(spec.line_of("threshold"), "threshold must be a number from 0 to 100")
        if not isinstance(fields, LineList) or not fields:
            say(spec.line_of("fields"), "fields must be a non-empty list of {field, scorer, weight}")
            fields = LineList(spec.line)
        scored = [self.fuzzy_field(say, item, fields.line_at(i), _FIELD) for i, item in enumerate(fields)]
        if threshold is None or cap is None or None in scored:
            return None
        return MatchRule(base.name, "fuzzy", cap, block=tuple(block), fields=tuple(f for f in scored if f),
                         threshold=threshold, suggest=base.suggest, on_create=base.on_create, line=base.line)

    def build(self) -> DuplicateRules | None:
        data, say = self.data, self.say
        on_create = data.get("on_create", "warn")
        if on_create not in ON_CREATE:
            say(data.line_of("on_create"), f"on_create {on_create!r} must be one of: {', '.join(ON_CREATE)}")
        max_block = data.get("max_block", 200)
        if type(max_block) is not int or max_block < 2:
            say(data.line_of("max_block"), "max_block must be a whole number of at least 2")
            max_block = 200
        every, retrain_after = self.scan()
        keys = self.keys()
        known = set(keys) | {name for name in (data.get("keys") or {}) if isinstance(name, str)}
        specs, rules, names = data.get("rules"), [], set()
        if not isinstance(specs, LineList) or not specs:
            say(data.line_of("rules"), "rules must be a non-empty list of {name, match, ...}")
            specs = LineList(data.line)
        for index, spec in enumerate(specs):
            rule = self.rule(spec, specs.line_at(index), keys, known)
            if rule is not None and rule.name in names:
                say(rule.line, f"duplicate rule name {rule.name!r}")
            elif rule is not None:
                names.add(rule.name)
                rules.append(rule)
        return DuplicateRules(self.entity.name, str(on_create), keys, tuple(rules), every, max_block,
                              self.checker.settings.default_region, self.path, data.line, retrain_after)

    def scan(self) -> tuple[timedelta | None, int]:
        """scan: {every: <period>, retrain_after: <decisions>}, both optional."""
        scan = self.data.get("scan")
        if scan is None:
            return None, RETRAIN_AFTER
        if not isinstance(scan, LineMap) or not scan or not set(scan) <= {"every", "retrain_after"}:
            self.say(self.data.line_of("scan"), "scan must be {every: <period>, retrain_after: <decisions>}, like "
                                                "{every: 1d} or {every: P1D, retrain_after: 20}")
            return None, RETRAIN_AFTER
        every = None
        if "every" in scan:
            every = _period(scan.get("every"))
            if every is None:
                self.say(scan.line_of("every"), f"every {scan.get('every')!r} must be a positive period like 1d, "
                                                "12h, 30m or P1D")
        retrain_after = scan.get("retrain_after", RETRAIN_AFTER)
        if type(retrain_after) is not int or retrain_after < 1:
            self.say(scan.line_of("retrain_after"), f"retrain_after {retrain_after!r} must be a whole number of "
                                                    "reviewers' decisions, at least 1")
            retrain_after = RETRAIN_AFTER
        return every, retrain_after


def load_duplicates(checker: Checker) -> dict[str, DuplicateRules]:
    """Check every crm_model/duplicates/*.yaml against the entities; problems go to the checker."""
    found: dict[str, DuplicateRules] = {}
    for path in paths_in(checker.files, DUPLICATES_FOLDER, ".yaml"):
        data = checker.mapping(path, _TOP)
        if data is None:
            continue
        name = data.get("entity")
        entity = checker.entities.get(name) if isinstance(name, str) else None
        if entity is None:
            if name not in checker.unreadable:
                known = ", ".join(sorted(checker.entities)) or "none"
                checker.sayer(path, None)(data.line_of("entity"), f"entity: <Name> of a known entity (known: {known})")
            continue
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", entity.name).lower()
        if stem(path, ".yaml") != snake:
            checker.sayer(path, entity.name)(data.line_of("entity"), f"the rules of {entity.name} belong in "
                                                                     f"{DUPLICATES_FOLDER}/{snake}.yaml")
            continue
        rules = _DuplicatesFile(checker, path, entity, data).build()
        if rules is not None:
            found[entity.name] = rules
    return found
