"""Rules that trigger each other forever: find every cycle of "A writes what B watches" (docs/rules.md)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.config.automation import Rule
from engine.errors import Problem
from engine.messages import Joined, Message

_MAX_CYCLES = 50  # enough to fix a bundle; the count of cycles can grow exponentially with the rules


@dataclass
class _Effects:
    """What a rule's actions may change: fields per entity, and entities it creates (with the fields set)."""

    writes: set[tuple[str, str]] = field(default_factory=set)
    creates: dict[str, set[str]] = field(default_factory=dict)


def _effects(rule: Rule) -> _Effects:
    effects = _Effects()
    for action in rule.all_actions():
        if action.kind in ("set", "compute") and isinstance(action.args, dict):
            effects.writes.update((rule.entity, str(name)) for name in action.args)
        elif action.kind == "join_territory":
            effects.writes.add((rule.entity, "owner"))
        elif action.kind == "create_record" and isinstance(action.args, dict):
            target = str(action.args.get("entity"))
            written = effects.creates.setdefault(target, set())
            for part in ("set", "compute"):
                values = action.args.get(part)
                if isinstance(values, dict):
                    written.update(str(name) for name in values)
    return effects


def _reason(writer: str, effects: _Effects, reader: Rule) -> str | None:
    """Why `reader` runs after `writer` (None when it does not)."""
    for trigger in reader.triggers:
        if trigger.kind == "changed":
            written = sorted(f for f in trigger.fields if (reader.entity, f) in effects.writes)
            if written:
                return Message("config.cycle_writes", writer=writer, field=written[0], reader=reader.name)
        if trigger.kind == "linked_changed" and trigger.entity:
            written = sorted(f for f in trigger.fields if (trigger.entity, f) in effects.writes)
            if written:
                where = f"{trigger.entity}.{written[0]}"
                return Message("config.cycle_writes", writer=writer, field=where, reader=reader.name)
        if trigger.kind == "created" and reader.entity in effects.creates:
            return Message("config.cycle_creates", writer=writer, entity=reader.entity, reader=reader.name)
        if trigger.kind == "linked_created" and trigger.via in effects.creates.get(trigger.entity or "", set()):
            return Message("config.cycle_creates_via", writer=writer, entity=trigger.entity, via=trigger.via,
                           reader=reader.name)
    return None


def _graph(rules: Mapping[str, Rule]) -> dict[str, dict[str, str]]:
    edges: dict[str, dict[str, str]] = {name: {} for name in sorted(rules)}
    for writer in sorted(rules):
        effects = _effects(rules[writer])
        for reader in sorted(rules):
            reason = _reason(writer, effects, rules[reader])
            if reason is not None:
                edges[writer][reader] = reason
    return edges


def _walk(edges: dict[str, dict[str, str]], path: list[str], found: list[list[str]]) -> None:
    """Extend `path` through rules after its first one; a way back to the first closes a cycle."""
    start = path[0]
    for following in edges[path[-1]]:
        if len(found) >= _MAX_CYCLES:
            return
        if following == start:
            found.append([*path, start])
        elif following > start and following not in path:
            _walk(edges, [*path, following], found)


def _cycles(edges: dict[str, dict[str, str]]) -> list[list[str]]:
    """Every elementary cycle once, starting at its alphabetically first rule."""
    found: list[list[str]] = []
    for start in edges:
        _walk(edges, [start], found)
    return found


def cycle_problems(rules: Mapping[str, Rule]) -> list[Problem]:
    """One problem per cycle of rules, on the first rule's file and line."""
    edges = _graph(rules)
    problems: list[Problem] = []
    for cycle in _cycles(edges):
        first = rules[cycle[0]]
        reasons = Joined("; ", (edges[a][b] for a, b in itertools.pairwise(cycle)))
        message = Message("config.rule_cycle", cycle=" → ".join(cycle), reasons=reasons)
        problems.append(Problem(first.file, first.line, first.name, message))
    return problems
