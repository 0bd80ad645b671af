"""processes/bindings.yaml: what a Camunda service implementation (a Java class, a delegate expression, an
expression or a connector id) runs as here — an external task with a topic, or built-in actions (send a templated
e-mail, set fields of the instance's record to values or compute them). docs/camunda.md describes the format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.config.yaml_lines import LineMap, load_mapping, plain
from engine.errors import Problem
from engine.processes.field_settings import SET_PREFIX, old_expression, old_set_warning
from engine.processes.juel import JuelError, compile_juel, is_juel

BINDINGS_FILE = "processes/bindings.yaml"
BOUND_LINE = "flowcrm.binding"  # the property an action-bound task carries: the binding's line, for cross-checks
EMAIL_TEMPLATE, EMAIL_TO = "send_email.template", "send_email.to"
_KINDS = ("topic", "send_email", "set", "compute")


@dataclass(frozen=True)
class Binding:
    """One implementation name bound to a topic or to actions; `line` is its line in BINDINGS_FILE."""

    name: str
    line: int
    topic: str | None = None
    email: tuple[str, str] | None = None  # (template, the record field holding the address)
    set_fields: dict[str, str] = field(default_factory=dict)  # field -> literal value, as text
    compute_fields: dict[str, str] = field(default_factory=dict)  # field -> Python expression text


def example(name: str) -> str:
    """The YAML a designer adds to bind `name` (quoted: `${...}` and dots are safe in a quoted key)."""
    return (
        f'add to {BINDINGS_FILE} under `bindings:` the entry "{name}": {{topic: <topic>}} '
        "(or {send_email: {template: <template>, to: <record field>}}, {set: {<field>: <value>}} or "
        "{compute: {<field>: <expression>}})"
    )


def load_bindings(
    files: dict[str, str],
    warnings: list[Problem] | None = None,
) -> tuple[dict[str, Binding], list[Problem]]:
    """The bindings of a bundle (none without the file); every problem names the file, line and entry. An old
    `set:` expression runs as `compute:` and is appended to `warnings`."""
    if BINDINGS_FILE not in files:
        return {}, []
    data, problems = load_mapping(files[BINDINGS_FILE], BINDINGS_FILE, ("bindings",))
    if data is None:
        return {}, problems
    entries = data.get("bindings")
    if not isinstance(entries, LineMap):
        problems.append(
            Problem(
                BINDINGS_FILE,
                data.line_of("bindings"),
                "bindings",
                "expected `bindings:` with a mapping of implementation names to a binding",
            )
        )
        return {}, problems
    bindings = {}
    for name, spec in entries.items():
        binding = _binding(str(name), spec, entries.line_of(name), problems, warnings)
        if binding is not None:
            bindings[str(name)] = binding
    return bindings, problems


def _binding(
    name: str, spec: Any, line: int, problems: list[Problem], warnings: list[Problem] | None
) -> Binding | None:
    def say(at: int, message: str) -> None:
        problems.append(Problem(BINDINGS_FILE, at, name, message))

    def warn(at: int, message: str) -> None:
        if warnings is not None:
            warnings.append(Problem(BINDINGS_FILE, at, name, message))

    if not isinstance(spec, LineMap) or not spec:
        say(line, f"expected a mapping with one of: {', '.join(_KINDS)}")
        return None
    before = len(problems)
    for key in spec:
        if key not in _KINDS:
            say(spec.line_of(key), f"unknown key {key!r}; expected: {', '.join(_KINDS)}")
    if "topic" in spec and len(spec) > 1:
        say(spec.line, "`topic` cannot be combined with actions: a worker or the engine runs the task, not both")
    topic = spec.get("topic")
    if "topic" in spec and (not isinstance(topic, str) or not topic.strip() or is_juel(topic)):
        say(spec.line_of("topic"), f"topic: expected a plain topic name, got {plain(topic)!r}")
    email = _email(spec, say) if "send_email" in spec else None
    set_fields, old = _set_fields(spec, say, warn) if "set" in spec else ({}, {})
    compute_fields = {**old, **(_compute_fields(spec, say) if "compute" in spec else {})}
    if len(problems) > before:
        return None
    return Binding(
        name,
        line,
        topic=topic.strip() if isinstance(topic, str) else None,
        email=email,
        set_fields=set_fields,
        compute_fields=compute_fields,
    )


def _email(spec: LineMap, say: Any) -> tuple[str, str] | None:
    args = spec["send_email"]
    if not isinstance(args, LineMap):
        say(spec.line_of("send_email"), "send_email: expected {template: <template>, to: <record field>}")
        return None
    for key in args:
        if key not in ("template", "to"):
            say(args.line_of(key), f"send_email: unknown key {key!r}; expected: template, to")
    values = []
    for key in ("template", "to"):
        value = args.get(key)
        if not isinstance(value, str) or not value.strip():
            say(args.line_of(key), f"send_email.{key}: expected a name, got {plain(value)!r}")
        values.append(str(value or "").strip())
    return values[0], values[1]


def _set_fields(spec: LineMap, say: Any, warn: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(literal values as text, old expressions) of `set:`; an old expression is warned about and computed."""
    args = spec["set"]
    if not isinstance(args, LineMap) or not args:
        say(spec.line_of("set"), "set: expected a mapping of record fields to values")
        return {}, {}
    values, old = {}, {}
    for name, value in args.items():
        if isinstance(value, dict | list) or value is None:
            say(args.line_of(name), f"{SET_PREFIX}{name}: expected a value, got {plain(value)!r}")
        elif isinstance(value, str) and (is_juel(value) or old_expression(value)):
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
    if not isinstance(args, LineMap) or not args:
        say(spec.line_of(key), f"{key}: expected a mapping of record fields to expressions")
        return {}
    found = {}
    for name, expression in args.items():
        if only is not None and name not in only:
            continue
        if not isinstance(expression, str) or not expression.strip():
            say(args.line_of(name), f"{key}.{name}: expected an expression in quotes, got {plain(expression)!r}")
            continue
        try:  # JUEL as in the Modeler, or the engine's Python expressions as in compute.<field> properties
            found[str(name)] = compile_juel(expression) if is_juel(expression) else expression
        except JuelError as exc:
            say(args.line_of(name), f"{key}.{name}: {expression!r} cannot run: {exc}")
    return found
