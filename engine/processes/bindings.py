"""processes/bindings.yaml: what a Camunda service implementation (a Java class, a delegate expression, an
expression or a connector id) runs as here — an external task with a topic, or built-in actions (send a templated
e-mail, set fields of the instance's record to values or compute them). docs/camunda.md describes the format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.config.yaml_lines import LineMap, load_yaml
from engine.errors import ConfigError, Problem
from engine.messages import Message
from engine.processes.field_settings import old_expression, old_set_warning
from engine.processes.juel import JuelError, compile_juel, is_juel

BINDINGS_FILE = "processes/bindings.yaml"
BOUND_LINE = "flowcrm.binding"  # the property an action-bound task carries: the binding's line, for cross-checks
EMAIL_TEMPLATE, EMAIL_TO = "send_email.template", "send_email.to"
BINDING_KINDS = ("topic", "send_email", "set", "compute")


@dataclass(frozen=True)
class Binding:
    """One implementation name bound to a topic or to actions; `line` is its line in BINDINGS_FILE."""

    name: str
    line: int
    topic: str | None = None
    email: tuple[str, str] | None = None  # (template, the record field holding the address)
    set_fields: dict[str, str] = field(default_factory=dict)  # field -> literal value, as text
    compute_fields: dict[str, str] = field(default_factory=dict)  # field -> Python expression text


def example(name: str) -> Message:
    """The YAML a designer adds to bind `name` (quoted: `${...}` and dots are safe in a quoted key)."""
    return Message("bpmn.binding_example", file=BINDINGS_FILE, name=name)


def load_bindings(
    files: dict[str, str],
    warnings: list[Problem] | None = None,
) -> tuple[dict[str, Binding], list[Problem]]:
    """The bindings of a bundle (none without the file); every problem names the file, line and entry. An old
    `set:` expression runs as `compute:` and is appended to `warnings`."""
    from engine.config.schemas import structure_problems  # late: the schemas import BINDING_KINDS from here

    if BINDINGS_FILE not in files:
        return {}, []
    try:
        data = load_yaml(files[BINDINGS_FILE], BINDINGS_FILE)
    except ConfigError as error:
        return {}, error.problems
    if not isinstance(data, LineMap):
        return {}, [Problem(BINDINGS_FILE, 1, None, Message("config.expected_mapping", keys="bindings"))]
    problems, bad = [], set()
    for line, where, message in structure_problems("bindings", data):  # the file's shape, by its schema
        named = str(where[1]) if len(where) > 1 and where[0] == "bindings" else str(where[0])
        problems.append(Problem(BINDINGS_FILE, line, named, message))
        bad.add(tuple(where[:2]))
    entries = data.get("bindings") if ("bindings",) not in bad else None
    if not isinstance(entries, LineMap):
        return {}, problems
    bindings = {}
    for name, spec in entries.items():
        if ("bindings", name) in bad:
            continue
        binding = _binding(str(name), spec, entries.line_of(name), problems, warnings)
        if binding is not None:
            bindings[str(name)] = binding
    return bindings, problems


def _binding(
    name: str, spec: LineMap, line: int, problems: list[Problem], warnings: list[Problem] | None
) -> Binding | None:
    """A binding whose shape the schema found good: its old `set:` expressions warned about and computed, its
    compute expressions compiled."""

    def say(at: int, message: Message) -> None:
        problems.append(Problem(BINDINGS_FILE, at, name, message))

    def warn(at: int, message: Message) -> None:
        if warnings is not None:
            warnings.append(Problem(BINDINGS_FILE, at, name, message))

    before = len(problems)
    topic = spec.get("topic")
    email = spec.get("send_email")
    set_fields, old = _set_fields(spec, say, warn) if "set" in spec else ({}, {})
    compute_fields = {**old, **(_compute_fields(spec, say) if "compute" in spec else {})}
    if len(problems) > before:
        return None
    return Binding(
        name,
        line,
        topic=topic.strip() if isinstance(topic, str) else None,
        email=(email["template"].strip(), email["to"].strip()) if isinstance(email, LineMap) else None,
        set_fields=set_fields,
        compute_fields=compute_fields,
    )


def _set_fields(spec: LineMap, say: Any, warn: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(literal values as text, old expressions) of `set:`; an old expression is warned about and computed."""
    args = spec["set"]
    values, old = {}, {}
    for name, value in args.items():
        if isinstance(value, str) and (is_juel(value) or old_expression(value)):
            warn(args.line_of(name), old_set_warning(str(name), value, yaml=True))
            old.update(_compute_fields(spec, say, "set", {name: value}))
        else:
            values[str(name)] = str(value).lower() if isinstance(value, bool) else str(value)
    return values, old


def _compute_fields(
    spec: LineMap,
    say: Any,
    key: str = "compute",
    only: dict[str, str] | None = None,
) -> dict[str, str]:
    args = spec[key]
    found = {}
    for name, expression in args.items():
        if only is not None and name not in only:
            continue
        try:  # JUEL as in the Modeler, or the engine's Python expressions as in compute.<field> properties
            found[str(name)] = compile_juel(expression) if is_juel(expression) else expression
        except JuelError as exc:
            say(args.line_of(name), Message("bpmn.binding_expression_refused", key=key, name=name,
                                            expression=repr(expression), reason=exc.message))
    return found
