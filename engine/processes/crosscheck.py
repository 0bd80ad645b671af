"""Cross-checks between deployed processes and the rest of a bundle: forms, entities, roles, catalogs, rules."""

from __future__ import annotations

import ast
from typing import Any

from engine.config.automation import automation_references
from engine.config.model import Bundle, Entity
from engine.errors import Problem
from engine.processes.bindings import BINDINGS_FILE, BOUND_LINE, EMAIL_TEMPLATE, EMAIL_TO
from engine.processes.spiff import ProcessDefinition
from engine.records.schema import check_field_values, value_from_text
from engine.roles import ROLES

DMN_NS = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}


def _forms(bundle: Bundle, d: ProcessDefinition) -> list[Problem]:
    problems = []
    for task in d.user_tasks():
        if not task.form_key:
            continue
        form = bundle.forms.get(task.form_key)
        if form is None:
            problems.append(Problem(d.file, task.line, task.id, f"camunda:formKey {task.form_key!r} has no "
                                    f"form: expected forms/{task.form_key}.json"))
        elif form.entity and d.entity and form.entity != d.entity:
            problems.append(Problem(d.file, task.line, task.id, f"form {task.form_key!r} edits {form.entity} "
                                    f"but the process runs on {d.entity}"))
        elif form.entity and not d.entity:
            problems.append(Problem(d.file, task.line, task.id, f"form {task.form_key!r} edits {form.entity} "
                                    "but the process declares no flowcrm.entity"))
    return problems


def _literal_problems(bundle: Bundle, entity: Entity, values: dict[str, str]) -> list[str]:
    """`<field> <value>: why` of each set.<field> literal its field refuses (a stage code not in the catalog)."""
    fields = {name: entity.fields[name] for name in values if name in entity.fields}
    typed = {name: value_from_text(field, bundle.catalogs, values[name]) for name, field in fields.items()}
    errors = check_field_values(fields, typed, bundle.catalogs, bundle.settings)
    return [f"{name} {values[name]!r}: {'; '.join(messages)}" for name, messages in errors.items()]


def _set_fields(bundle: Bundle, d: ProcessDefinition) -> list[Problem]:
    problems = []
    entity = bundle.entities.get(d.entity or "")
    for element in d.elements.values():
        bound = element.properties.get(BOUND_LINE)
        # a task bound in processes/bindings.yaml: the problem is at the binding, named with the task using it
        file, line, prefix = (BINDINGS_FILE, int(bound), f"{d.file} [{element.id}]: ") if bound else (
            d.file, element.line, "")
        # (field, the setting that names it): a set.<field> or compute.<field> property, or the address field of
        # a bound e-mail
        fields = [(name, f"set.{name}") for name in element.set_fields]
        fields += [(name, f"compute.{name}") for name in element.compute_fields]
        if EMAIL_TO in element.properties:
            fields.append((element.properties[EMAIL_TO], "send_email to"))
        if fields and not d.entity:
            problems.append(Problem(file, line, element.id,
                                    f"{prefix}set.<field>, compute.<field> and send_email need flowcrm.entity on "
                                    "the process"))
        for name, setting in fields:
            if entity is not None and name not in entity.fields:
                problems.append(Problem(file, line, element.id,
                                        f"{prefix}{setting}: {entity.name} has no field {name!r}"))
        if entity is not None:
            problems += [Problem(file, line, element.id, f"{prefix}set.{message}")
                         for message in _literal_problems(bundle, entity, element.set_fields)]
        template = element.properties.get(EMAIL_TEMPLATE)
        if template is not None and template not in bundle.templates:
            problems.append(Problem(file, line, element.id, f"{prefix}send_email: no template {template!r} "
                                    f"(expected templates/{template}.<locale>.txt)"))
    return problems


def _groups(bundle: Bundle, d: ProcessDefinition) -> list[Problem]:
    """Candidate groups and lanes must name a role or a team declared in crm_model/settings.yaml."""
    known = set(ROLES) | set(bundle.settings.teams)
    problems = []
    for task in d.user_tasks():
        named = [(g, "camunda:candidateGroups") for g in task.candidate_groups if not g.startswith("${")]
        if task.lane and not task.candidate_groups and not task.candidate_users and not task.assignee:
            named.append((task.lane, "lane"))
        for group, where in named:
            if group not in known:
                problems.append(Problem(d.file, task.line, task.id, f"{where} {group!r} is neither a role "
                                        f"({', '.join(ROLES)}) nor a team in crm_model/settings.yaml teams: "
                                        f"({', '.join(bundle.settings.teams) or 'none declared'})"))
    return problems


def _dmn_outputs(bundle: Bundle, d: ProcessDefinition) -> list[Problem]:
    """A decision output named like an enum field of the process's entity must produce that catalog's codes."""
    from lxml import etree

    entity = bundle.entities.get(d.entity or "")
    refs = {e.decision_ref for e in d.elements.values() if e.decision_ref}
    if entity is None or not refs:
        return []
    problems = []
    for path, text in bundle.dmn_files().items():
        tree = etree.fromstring(text.encode())
        ns = {"dmn": tree.nsmap.get(None) or DMN_NS["dmn"]}
        for decision in tree.findall("dmn:decision", ns):
            if decision.get("id") not in refs:
                continue
            outputs = [o.get("name") or o.get("label") or "" for o in decision.findall(".//dmn:output", ns)]
            for rule in decision.findall(".//dmn:rule", ns):
                for name, entry in zip(outputs, rule.findall("dmn:outputEntry", ns), strict=False):
                    problems.extend(_output_problem(bundle, entity.fields.get(name), path, entry, name))
    return problems


def _output_problem(bundle: Bundle, field: Any, path: str, entry: Any, name: str) -> list[Problem]:
    if field is None or field.type != "enum" or field.catalog not in bundle.catalogs:
        return []
    text = (entry.findtext("{*}text") or "").strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []  # an expression, not a literal: checked when it runs
    codes = bundle.catalogs[field.catalog].codes()
    if value in codes:
        return []
    return [Problem(path, entry.sourceline, name, f"output {name!r} gives {value!r}, which is not a code of "
                    f"catalog {field.catalog} ({', '.join(codes)})")]


def _rule_processes(bundle: Bundle, definitions: dict[str, ProcessDefinition]) -> list[Problem]:
    problems = []
    for kind, file, line, value in automation_references(bundle):
        if kind == "process" and value not in definitions:
            problems.append(Problem(file, line, value, f"start_process {value!r}: no such process in processes/ "
                                    f"(known: {', '.join(sorted(definitions)) or 'none'})"))
    return problems


def cross_check(bundle: Bundle, definitions: dict[str, ProcessDefinition]) -> list[Problem]:
    """Every problem between the processes and the rest of the bundle."""
    problems: list[Problem] = []
    for d in definitions.values():
        if d.entity and d.entity not in bundle.entities:
            problems.append(Problem(d.file, d.line, d.process_id, f"flowcrm.entity {d.entity!r} is not an entity "
                                    f"of this bundle (known: {', '.join(sorted(bundle.entities)) or 'none'})"))
        problems += _forms(bundle, d) + _set_fields(bundle, d) + _groups(bundle, d) + _dmn_outputs(bundle, d)
    return problems + _rule_processes(bundle, definitions)



def set_warnings(bundle: Bundle, definitions: dict[str, ProcessDefinition]) -> list[Problem]:
    """A set.<field> literal that is the bare name of a variable the process fills (a task's `<id>_completed_by`,
    a form field): before set meant a literal it copied that variable; now it writes the name as text."""
    warnings = []
    for d in definitions.values():
        variables = {"last_completed_by", "record_owner", "record_id"}
        for task in d.user_tasks():
            variables.add(f"{task.id}_completed_by")
            form = bundle.forms.get(task.form_key or "")
            variables.update(form.schema.get("properties", {}) if form is not None else ())
        for element in d.elements.values():
            for name, value in element.set_fields.items():
                if value.strip() in variables and BOUND_LINE not in element.properties:
                    warnings.append(Problem(d.file, element.line, element.id, f"set.{name} {value!r} writes the text "
                                            f"{value.strip()!r}; to copy the variable write compute.{name} = "
                                            f"{value.strip()}"))
    return warnings
