"""Camunda input/output parameters of a script task, as Python statements around its script.

Camunda gives the script local variables from the input parameters and copies output parameters into the
process after it. Here the inputs are assigned before the script runs and removed after it (unless an output
keeps them), the outputs assigned after it. Values: text, JUEL (`${amount * 2}`), camunda:list, camunda:map.
"""

from __future__ import annotations

from typing import Any

from engine.messages import Message
from engine.processes.juel import JuelError, compile_juel, is_juel

CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


def _local(tag: Any) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _value(node: Any) -> str:
    """Python expression text of a parameter value; ValueError (holding why, a Message) when it cannot be mapped."""
    children = [c for c in node if isinstance(c.tag, str)]
    if not children:
        text = (node.text or "").strip()
        if not text:
            return "None"
        return compile_juel(text) if is_juel(text) else repr(text)
    if len(children) != 1:
        raise ValueError(Message("bpmn.parameter_one_value"))
    child, kind = children[0], _local(children[0].tag)
    if kind == "list":
        return "[" + ", ".join(_value(item) for item in child if isinstance(item.tag, str)) + "]"
    if kind == "map":
        entries = [(e.get("key") or "", _value(e)) for e in child if isinstance(e.tag, str)]
        return "{" + ", ".join(f"{key!r}: {value}" for key, value in entries) + "}"
    raise ValueError(Message("bpmn.parameter_kind", kind=kind))


def script_mapping(io_node: Any) -> tuple[str, str, list[tuple[Any, Message]]]:
    """(statements before the script, statements after it, [(parameter node, why it is not mapped)])."""
    before: list[str] = []
    after: list[str] = []
    inputs: list[str] = []
    refused: list[tuple[Any, Message]] = []
    for param in io_node:
        kind = _local(param.tag) if isinstance(param.tag, str) else ""
        if kind not in ("inputParameter", "outputParameter"):
            continue
        name = param.get("name") or ""
        if not name.isidentifier() or name.startswith("_"):
            refused.append((param, Message("bpmn.parameter_name", name=name)))
            continue
        try:
            value = _value(param)
        except JuelError as exc:
            refused.append((param, exc.message))
            continue
        except ValueError as exc:
            refused.append((param, exc.args[0]))
            continue
        (before if kind == "inputParameter" else after).append(f"{name} = {value}")
        if kind == "inputParameter":
            inputs.append(name)
    outputs = {line.split(" = ", 1)[0] for line in after}
    after += [f"del {name}" for name in inputs if name not in outputs]  # inputs are local to the task
    return "\n".join(before), "\n".join(after), refused
