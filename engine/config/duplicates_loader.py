"""Check crm_model/duplicates/<entity>.yaml: match keys, exact and fuzzy rules, create-time policy, scan period."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from engine.config.checking import SNAKE_NAME, Checker, Path_, Say, broken, names_or_none, paths_in, stem
from engine.config.duplicates_model import (
    DEFAULT_PROBABILITY,
    DEFAULT_SCORER,
    RETRAIN_AFTER,
    Comparison,
    DuplicateRules,
    FuzzyField,
    MatchKey,
    MatchRule,
)
from engine.config.expressions import parse_duration
from engine.config.model import Entity
from engine.config.yaml_lines import LineList, LineMap
from engine.messages import Message

DUPLICATES_FOLDER = "crm_model/duplicates"
_TOP = ("entity", "on_create", "keys", "rules", "scan", "max_block")
_KEY = ("field", "normalize", "max_block")
_RULE = ("name", "match", "key", "score", "block", "fields", "threshold", "unless_fuzzy", "suggest", "on_create",
         "compare", "label")
_ONLY = {"exact": ("key", "unless_fuzzy"), "fuzzy": ("block", "fields", "threshold", "score"),
         "probabilistic": ("block", "compare", "threshold", "score")}
_COMPARE = ("field", "as", "days")
_FIELD = ("field", "scorer", "weight", "compare_as", "required")
_UNLESS = ("field", "scorer", "compare_as", "below")
_SHORT = re.compile(r"(\d+)\s*([dhm])")
_SHORT_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def _period(value: Any) -> timedelta | None:
    """A positive period: an ISO 8601 duration (P1D, PT12H) or a short one (1d, 12h, 30m)."""
    short = _SHORT.fullmatch(value.strip()) if isinstance(value, str) else None
    length = timedelta(**{_SHORT_UNITS[short[2]]: int(short[1])}) if short else parse_duration(value)
    return length if length is not None and length > timedelta(0) else None


def _element(data: Any, where: list[Any]) -> str | None:
    """The element a duplicates problem names: Entity.keys.<key> in a key, Entity.<rule> in a rule with a usable
    name, else the entity (none for the entity's own key)."""
    entity = data.get("entity")
    if where[:1] == ["entity"] or not isinstance(entity, str):
        return None
    if len(where) > 1 and where[0] == "keys":
        return f"{entity}.keys.{where[1]}"
    if len(where) > 1 and where[0] == "rules" and isinstance(where[1], int):
        rule = data["rules"][where[1]]
        name = rule.get("name") if isinstance(rule, dict) else None
        named = isinstance(name, str) and SNAKE_NAME.fullmatch(name) and where[2:3] != ["name"]
        return f"{entity}.{name}" if named else entity
    return entity


class _DuplicatesFile:
    """The checks of one file whose structure its schema checked (`bad`: the paths found wrong, reported already);
    what is left is what a schema cannot say: names of fields and keys that must exist, periods, unique names."""

    def __init__(self, checker: Checker, path: str, entity: Entity, data: LineMap, bad: set[Path_]) -> None:
        self.checker, self.path, self.entity, self.data, self.bad = checker, path, entity, data, bad
        self.say = checker.sayer(path, entity.name)

    def broken(self, *where: Any) -> bool:
        """Whether the schema found a problem at or under `where`."""
        return broken(self.bad, *where)

    def field(self, say: Say, line: int, name: Any) -> str | None:
        if not isinstance(name, str) or name not in self.entity.fields:
            say(line, Message("config.no_such_field", entity=self.entity.name, field=repr(name),
                              fields=", ".join(self.entity.fields)))
            return None
        return name

    def joined_fields(self, say: Say, line: int, names: Any) -> tuple[str, ...] | None:
        """`field:` naming one field, or a list of fields whose values are joined (given name + surname)."""
        if isinstance(names, LineList):
            checked = [self.field(say, line, n) for n in names]
            return tuple(n for n in checked if n) if None not in checked else None
        one = self.field(say, line, names)
        return (one,) if one else None

    def keys(self) -> dict[str, MatchKey]:
        keys: dict[str, MatchKey] = {}
        specs = {} if ("keys",) in self.bad else self.data.get("keys", {})
        for name, spec in specs.items():
            if any(path[:2] == ("keys", name) and path != ("keys", name, "max_block") for path in self.bad):
                continue
            say = self.checker.sayer(self.path, f"{self.entity.name}.keys.{name}")
            fields = self.joined_fields(say, spec.line_of("field"), spec.get("field"))
            limit = None if self.broken("keys", name, "max_block") else spec.get("max_block")
            if fields is not None:
                keys[name] = MatchKey(name, fields[0], str(spec["normalize"]), limit, fields[1:])
        return keys

    def fuzzy_field(self, say: Say, spec: LineMap, whole: bool) -> FuzzyField | None:
        """A fuzzy field: its field checked; built only when its rule's shape is `whole`."""
        field = self.field(say, spec.line_of("field"), spec.get("field"))
        if field is None or not whole:
            return None
        return FuzzyField(field, str(spec.get("scorer", DEFAULT_SCORER)), float(spec.get("weight", 1.0)),
                          str(spec.get("compare_as", "name")), spec.get("required") is True,
                          self.entity.fields[field].type)

    def rule(self, index: int, spec: LineMap, line: int, keys: dict[str, MatchKey],
             known_keys: set[str]) -> MatchRule | None:
        name, match = spec["name"], spec["match"]
        say = self.checker.sayer(self.path, f"{self.entity.name}.{name}")
        count = len(self.checker.problems)
        labelled = "label" in spec and not self.broken("rules", index, "label")  # else the schema said what is wrong
        label = self.checker.label(say, spec.line_of("label"), spec["label"]) if labelled else {}
        base = MatchRule(name, str(match), suggest=str(spec.get("suggest", "merge")), on_create=spec.get("on_create"),
                         line=line, label=label)
        whole = not self.broken("rules", index)  # else only the names in it are checked
        if match == "exact":
            built = self.exact(say, spec, base, keys, known_keys, whole)
        elif match == "fuzzy":
            built = self.fuzzy(say, spec, base, known_keys, whole)
        else:
            built = self.probabilistic(say, spec, base, known_keys, whole)
        return built if len(self.checker.problems) == count else None

    def exact(self, say: Say, spec: LineMap, base: MatchRule, keys: dict[str, MatchKey], known_keys: set[str],
              whole: bool) -> MatchRule | None:
        key, unless = spec.get("key"), spec.get("unless_fuzzy")
        if not isinstance(key, str) or key not in known_keys:
            say(spec.line_of("key"), Message("config.dedup_key_unknown", key=repr(key),
                                             keys=", ".join(sorted(known_keys))))
        checked = self.fuzzy_field(say, unless, whole) if isinstance(unless, LineMap) else None
        if not isinstance(key, str) or key not in keys or not whole:
            return None
        below = float(unless["below"]) if isinstance(unless, LineMap) and "below" in unless else 0.0
        return MatchRule(base.name, "exact", float(spec["score"]), str(key), unless_fuzzy=checked, below=below,
                         suggest=base.suggest, on_create=base.on_create, line=base.line, label=base.label)

    def blocks(self, say: Say, spec: LineMap, known_keys: set[str]) -> LineList:
        block = spec.get("block")
        block = block if isinstance(block, LineList) else LineList(spec.line)
        for index, name in enumerate(block):
            if isinstance(name, str) and name not in known_keys:
                say(block.line_at(index), Message("config.dedup_block_key_unknown", key=repr(name),
                                                  keys=", ".join(sorted(known_keys))))
        return block

    def probabilistic(self, say: Say, spec: LineMap, base: MatchRule, known_keys: set[str],
                      whole: bool) -> MatchRule | None:
        block, specs = self.blocks(say, spec, known_keys), spec.get("compare")
        compared = [self.comparison(say, item) for item in specs] if isinstance(specs, LineList) else [None]
        if None in compared or not whole:
            return None
        return MatchRule(base.name, "probabilistic", float(spec.get("score", 100)), block=tuple(block),
                         threshold=float(spec.get("threshold", DEFAULT_PROBABILITY)),
                         comparisons=tuple(c for c in compared if c), suggest=base.suggest,
                         on_create=base.on_create, line=base.line, label=base.label)

    def comparison(self, say: Say, spec: Any) -> Comparison | None:
        if not isinstance(spec, LineMap):
            return None
        fields = self.joined_fields(say, spec.line_of("field"), spec.get("field"))
        if fields is None:
            return None
        return Comparison(fields[0], str(spec.get("as")), fields[1:], int(spec.get("days", 30)),
                          self.checker.settings.default_region)

    def fuzzy(self, say: Say, spec: LineMap, base: MatchRule, known_keys: set[str], whole: bool) -> MatchRule | None:
        block, fields = self.blocks(say, spec, known_keys), spec.get("fields")
        scored = [self.fuzzy_field(say, item, whole) if isinstance(item, LineMap) else None
                  for item in fields] if isinstance(fields, LineList) else [None]
        if None in scored or not whole:
            return None
        return MatchRule(base.name, "fuzzy", float(spec.get("score", 100)), block=tuple(block),
                         fields=tuple(f for f in scored if f), threshold=float(spec["threshold"]),
                         suggest=base.suggest, on_create=base.on_create, line=base.line, label=base.label)

    def build(self) -> DuplicateRules:
        data, say = self.data, self.say
        on_create = "warn" if self.broken("on_create") else data.get("on_create", "warn")
        max_block = 200 if self.broken("max_block") else data.get("max_block", 200)
        every, retrain_after = self.scan()
        keys = self.keys()
        written = data.get("keys")
        known = set(keys) | {name for name in (written if isinstance(written, dict) else {}) if isinstance(name, str)}
        specs, rules, names = data.get("rules"), [], set()
        specs = specs if isinstance(specs, LineList) else LineList(data.line)
        for index, spec in enumerate(specs):
            usable = isinstance(spec, LineMap) and "name" in spec and "match" in spec
            if not usable or self.broken("rules", index, "name") or self.broken("rules", index, "match"):
                continue
            rule = self.rule(index, spec, specs.line_at(index), keys, known)
            if rule is not None and rule.name in names:
                say(rule.line, Message("config.dedup_rule_twice", name=repr(rule.name)))
            elif rule is not None:
                names.add(rule.name)
                rules.append(rule)
        return DuplicateRules(self.entity.name, str(on_create), keys, tuple(rules), every, max_block,
                              self.checker.settings.default_region, self.path, data.line, retrain_after)

    def scan(self) -> tuple[timedelta | None, int]:
        """scan: {every: <period>, retrain_after: <decisions>}, both optional."""
        scan = self.data.get("scan")
        if scan is None or self.broken("scan"):
            return None, RETRAIN_AFTER
        every = None
        if "every" in scan:
            every = _period(scan.get("every"))
            if every is None:
                self.say(scan.line_of("every"), Message("config.dedup_every", value=repr(scan.get("every"))))
        retrain_after = RETRAIN_AFTER if self.broken("scan", "retrain_after") else scan.get("retrain_after",
                                                                                             RETRAIN_AFTER)
        return every, retrain_after


def load_duplicates(checker: Checker) -> dict[str, DuplicateRules]:
    """Check every crm_model/duplicates/*.yaml: its structure by its schema, then against the entity."""
    found: dict[str, DuplicateRules] = {}
    for path in paths_in(checker.files, DUPLICATES_FOLDER, ".yaml"):
        data, bad = checker.document(path, _element)
        if data is None:
            continue
        name = data.get("entity")
        entity = checker.entities.get(name) if isinstance(name, str) else None
        if entity is None:
            if not isinstance(name, str) or name not in checker.unreadable:
                known = names_or_none(sorted(checker.entities))
                checker.sayer(path, None)(data.line_of("entity"), Message("config.dedup_entity", known=known))
            continue
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", entity.name).lower()
        if stem(path, ".yaml") != snake:
            checker.sayer(path, entity.name)(data.line_of("entity"), Message("config.dedup_file", entity=entity.name,
                                                                             folder=DUPLICATES_FOLDER, snake=snake))
            continue
        found[entity.name] = _DuplicatesFile(checker, path, entity, data, bad).build()
    return found
