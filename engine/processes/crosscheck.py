"""Cross-checks between deployed processes and the rest of a bundle: forms, entities, roles, catalogs, rules."""

from __future__ import annotations

import ast
from typing import Any

from engine.config.automation import automation_references
from engine.config.checking import names_or_none, value_problems
from engine.config.model import Bundle, Entity
from engine.errors import Problem
from engine.messages import Message
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
            problems.append(Problem(d.file, task.line, task.id, Message("bpmn.form_missing", form=task.form_key)))
        elif form.entity and d.entity and form.entity != d.entity:
            problems.append(Problem(d.file, task.line, task.id, Message(
                "bpmn.form_other_entity", form=task.form_key, entity=form.entity, process_entity=d.entity)))
        elif form.entity and not d.entity:
            problems.append(Problem(d.file, task.line, task.id, Message(
                "bpmn.form_entity_undeclared", form=task.form_key, entity=form.entity)))
    return problems


def _literal_problems(bundle: Bundle, entity: Entity, values: dict[str, str], prefix: str) -> list[Message]:
    """`<prefix>set.<field> <value>: why` of each set.<field> literal its field refuses (a stage code not in the
    catalog)."""
    fields = {name: entity.fields[name] for name in values if name in entity.fields}
    typed = {name: value_from_text(field, bundle.catalogs, values[name]) for name, field in fields.items()}
    errors = check_field_values(fields, typed, bundle.catalogs, bundle.settings)
    return [Message("bpmn.set_refused", prefix=prefix, field=name, value=values[name],
                    reasons=value_problems(messages, "; ")) for name, messages in errors.items()]


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
            problems.append(Problem(file, line, element.id, Message("bpmn.settings_need_entity", prefix=prefix)))
        for name, setting in fields:
            if entity is not None and name not in entity.fields:
                problems.append(Problem(file, line, element.id, Message(
                    "bpmn.setting_no_field", prefix=prefix, setting=setting, entity=entity.name, field=name)))
        if entity is not None:
            problems += [Problem(file, line, element.id, message)
                         for message in _literal_problems(bundle, entity, element.set_fields, prefix)]
        template = element.properties.get(EMAIL_TEMPLATE)
        if template is not None and template not in bundle.templates:
            problems.append(Problem(file, line, element.id, Message(
                "bpmn.email_template_missing", prefix=prefix, template=template)))
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
                teams = ", ".join(bundle.settings.teams) or Message("bpmn.none_declared")
                problems.append(Problem(d.file, task.line, task.id, Message(
                    "bpmn.group_unknown", where=where, group=group, roles=", ".join(ROLES), teams=teams)))
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
    return [Problem(path, entry.sourceline, name, Message(
        "bpmn.output_not_code", name=name, value=repr(value), catalog=field.catalog, codes=", ".join(codes)))]


def _rule_processes(bundle: Bundle, definitions: dict[str, ProcessDefinition]) -> list[Problem]:
    problems = []
    for kind, file, line, value in automation_references(bundle):
        if kind == "process" and value not in definitions:
            problems.append(Problem(file, line, value, Message(
                "bpmn.start_process_unknown", process=value, known=names_or_none(sorted(definitions)))))
    return problems


def cross_check(bundle: Bundle, definitions: dict[str, ProcessDefinition]) -> list[Problem]:
    """Every problem between the processes and the rest of the bundle."""
    problems: list[Problem] = []
    for d in definitions.values():
        if d.entity and d.entity not in bundle.entities:
            problems.append(Problem(d.file, d.line, d.process_id, Message(
                "bpmn.entity_unknown", entity=d.entity, known=names_or_none(sorted(bundle.entities)))))
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
                    warnings.append(Problem(d.file, element.line, element.id, Message(
                        "bpmn.set_writes_text", name=name, value=value, text=value.strip())))
    return warnings
