"""Parsing BPMN/DMN into executable definitions; problems with file, line and element."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.errors import Problem
from engine.messages import Message, sentence
from engine.processes.bindings import load_bindings
from engine.processes.definitions import ElementMeta, read_process_meta
from engine.processes.dialect import Dialect, alias_activiti
from engine.processes.dmn import read_decisions
from engine.processes.spiff.engine import (
    _REGISTRY,
    _REGISTRY_MODE,
    _Parser,
    _validator,
    dmn_validator,
    fix_loop_settings,
)


@dataclass(frozen=True)
class ProcessDefinition:
    """A parsed, executable process and what the engine reads beside SpiffWorkflow."""

    process_id: str
    name: str
    file: str
    line: int | None
    entity: str | None
    start_on: str | None
    elements: dict[str, ElementMeta]
    blob: str  # JSON: serialized spec, subprocess specs and element metadata

    def user_tasks(self) -> list[ElementMeta]:
        """Metadata of the user tasks, in document order."""
        return [e for e in self.elements.values() if e.kind == "userTask"]


_NAMESPACE = re.compile(r"\{https?://www\.omg\.org/spec/(BPMN|DMN)/[^}]*\}")


def _locate(tree: Any, line: int | None, element: str | None) -> tuple[int | None, str | None]:
    """Fill in the line of an element id, or the id of the element a line is in (its nearest with an id)."""
    if tree is None or (line and element) or not (line or element):
        return line, element
    if element:
        found = next((n for n in tree.iter() if n.get("id") == element), None)
        return (found.sourceline if found is not None else None), element
    node = None
    for candidate in tree.iter():
        if (candidate.sourceline or 0) > (line or 0):
            break
        node = candidate
    while node is not None and not node.get("id"):
        node = node.getparent()
    return line, None if node is None else node.get("id")


def _syntax_problem(path: str, text: str, exc: Any) -> Problem:
    """A not well-formed file, with the element the error is in when a forgiving parse can tell."""
    from lxml import etree

    try:
        recovered = etree.fromstring(text.encode(), etree.XMLParser(recover=True))
    except etree.XMLSyntaxError:
        recovered = None
    _, element = _locate(recovered, exc.lineno, None)
    return Problem(path, exc.lineno, element, Message("bpmn.xml_not_well_formed", detail=exc.msg))


def _problem_from(exc: ValidationException | SpiffWorkflowException, file: str, tree: Any = None) -> Problem:
    line = getattr(exc, "line_number", None)
    element = getattr(exc, "id", None) or None
    said = exc.args[0] if exc.args else type(exc).__name__
    if isinstance(said, Message) and not getattr(exc, "notes", []):  # raised by our own task parsers
        message: str = said
    else:  # SpiffWorkflow's own words (English)
        message = "; ".join([str(said), *getattr(exc, "notes", [])])
        message = _NAMESPACE.sub(lambda m: m.group(1).lower() + ":", message.split(". Error is:")[0])
        schema = sentence(message, "xsd")  # the XML schema's sentence (lxml), else SpiffWorkflow's, else as written
        message = schema if isinstance(schema, Message) else sentence(message, "spiff")
    line, element = _locate(tree, int(line) if line else None, element)
    return Problem(getattr(exc, "file_name", None) or file, line, element, message)


def _dmn_schema_problems(tree: Any, path: str) -> list[Problem]:
    """A DMN 1.1-1.3 document that breaks its XML schema (a DMN of an unknown version is read as is)."""
    validator = dmn_validator(str(tree.tag)[1:].split("}", 1)[0] if str(tree.tag).startswith("{") else "")
    if validator is None:
        return []
    try:
        validator.validate(tree, path)
    except ValidationException as exc:
        return [_problem_from(exc, path, tree)]
    return []


def parse_definitions(bpmn: dict[str, str], dmn: dict[str, str], *, timezone: str = "UTC",
                      resources: dict[str, str] | None = None, warnings: list[Problem] | None = None,
                      ) -> dict[str, ProcessDefinition]:
    """Parse BPMN and DMN texts into executable definitions; every problem becomes a ConfigError entry.

    Camunda's dialect is prepared first (engine.processes.dialect): dates without an offset are read in
    `timezone`, `camunda:resource` scripts come from `resources` (bundle path -> text), and what the engine
    does not execute is appended to `warnings`."""
    from lxml import etree

    from engine.errors import ConfigError

    warnings = [] if warnings is None else warnings
    problems: list[Problem] = []
    parser = _Parser(validator=_validator())
    metas: dict[str, tuple[str, dict[str, Any]]] = {}
    trees: dict[str, Any] = {}
    for path, text in sorted(dmn.items()):
        try:
            tree = trees[path] = etree.fromstring(text.encode())
        except etree.XMLSyntaxError as exc:
            problems.append(_syntax_problem(path, text, exc))
            continue
        found = _dmn_schema_problems(tree, path)
        decisions, more = ({}, []) if found else read_decisions(tree, path)
        problems.extend(found + more)
        for decision_id in decisions:
            if decision_id in parser.decision_documents:
                other = parser.decision_documents[decision_id][0]
                problems.append(Problem(path, decisions[decision_id].line, decision_id,
                                        Message("dmn.decision_id_taken", file=other)))
            else:
                parser.decision_documents[decision_id] = (path, text)
    bindings, found = load_bindings(resources or {}, warnings)
    problems.extend(found)
    for path, text in sorted(bpmn.items()):
        text = alias_activiti(text)
        try:
            tree = trees[path] = etree.fromstring(text.encode())
        except etree.XMLSyntaxError as exc:
            problems.append(_syntax_problem(path, text, exc))
            continue
        before = len(problems)
        Dialect(path, timezone, resources or {}, problems, warnings, bindings).prepare(tree)
        if len(problems) > before:
            continue  # SpiffWorkflow would trip over what was just refused
        try:
            parser.add_bpmn_xml(tree, filename=path)
        except (ValidationException, SpiffWorkflowException) as exc:
            problems.append(_problem_from(exc, path, tree))
            continue
        except Exception as exc:  # SpiffWorkflow reports some BPMN mistakes as KeyError or TypeError
            problems.append(Problem(path, tree.sourceline, None, Message("bpmn.unreadable", detail=repr(exc))))
            continue
        for process_id, meta in read_process_meta(tree, path, problems, warnings).items():
            metas[process_id] = (path, meta)
    definitions: dict[str, ProcessDefinition] = {}
    if not problems:
        for process_id, (path, meta) in metas.items():
            if not meta["executable"]:
                continue
            try:
                spec = parser.get_spec(process_id)
                subs = parser.get_subprocess_specs(process_id)
                for each in (spec, *subs.values()):
                    fix_loop_settings(each)
                with _REGISTRY_MODE:  # a full conversion, not a concurrent dump's shallow one
                    converted = _REGISTRY.convert(spec), {k: _REGISTRY.convert(v) for k, v in subs.items()}
                blob = json.dumps({
                    "spec": converted[0],
                    "subprocess_specs": converted[1],
                    "elements": {k: v.to_dict() for k, v in _with_called(meta, subs, metas).items()},
                }, sort_keys=True)
            except (ValidationException, SpiffWorkflowException) as exc:
                problem = _problem_from(exc, path, trees.get(getattr(exc, "file_name", None) or path))
                problems.append(_missing_call(problem, trees[path]) if problem.line is None else problem)
                continue
            except Exception as exc:  # a library bug must read as a problem of this process, not a traceback
                problems.append(Problem(path, meta["line"], process_id, Message("bpmn.unbuildable", detail=repr(exc))))
                continue
            definitions[process_id] = ProcessDefinition(
                process_id=process_id, name=meta["name"], file=path, line=meta["line"],
                entity=meta["entity"], start_on=meta["start_on"], elements=meta["elements"], blob=blob)
    if problems:
        raise ConfigError(problems)
    return definitions


_NOT_FOUND = re.compile(r"The process '([^']*)' was not found")
_SPIFF_NOT_FOUND = re.compile(r"The process '([^']*)' was not found\. Did you mean one of the following: (.*)\?")


def _missing_call(problem: Problem, tree: Any) -> Problem:
    """Point "process X was not found" at the call activity that names X."""
    missing = _NOT_FOUND.search(problem.message)
    calls = [n for n in tree.iter("{*}callActivity") if missing and n.get("calledElement") == missing.group(1)]
    if not calls:
        return problem
    said = _SPIFF_NOT_FOUND.fullmatch(problem.message)
    message = (Message("bpmn.called_process_missing", process=said.group(1), known=said.group(2)) if said
               else Message("bpmn.called_element", detail=problem.message))
    return Problem(problem.file, calls[0].sourceline, calls[0].get("id"), message)


def _with_called(meta: dict[str, Any], subs: dict[str, Any], metas: dict[str, tuple[str, dict[str, Any]]],
                 ) -> dict[str, ElementMeta]:
    """A process's elements plus those of the processes its call activities run (their user tasks need their
    form keys, candidate groups and set.*/compute.* properties too); the caller's own elements win a clash of ids."""
    elements: dict[str, ElementMeta] = {}
    for called in subs:
        if called in metas:
            elements.update(metas[called][1]["elements"])
    elements.update(meta["elements"])
    return elements
