"""Showing configured data to people: entity and field labels, catalog values, dates, money."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, g, url_for
from lxml import etree
from markupsafe import Markup, escape

from engine.config.model import Bundle, Catalog, Entity, ProcessLabels
from engine.config.process_labels import label_in
from engine.errors import FlowError
from engine.memo import held_for
from engine.processes.deployed import active_bundle
from engine.services.titles import GONE, RecordName, record_names
from engine.services.views import TaskView
from engine.store.uow import UnitOfWork
from web import uow
from web.forms_render import localized
from web.i18n import get_locale, label, t
from web.people import person, person_name
from web.zones import local, user_zone

EMPTY = "—"


def bundle_of(uow: UnitOfWork) -> Bundle:
    """The deployed configuration."""
    return active_bundle(uow)[0]


def entity_label(entity: Entity) -> str:
    """The entity's name in the request's language."""
    return label(entity.label, entity.name)


def field_label(entity: Entity | None, name: str) -> str:
    """A field's label in the request's language (its name when the entity has no such field)."""
    field = entity.fields.get(name) if entity is not None else None
    return label(field.label, name) if field is not None else name


def format_datetime(value: datetime | str | None, zone: ZoneInfo | None = None) -> str:
    """A stored (UTC) timestamp in the user's time zone (`zone`, when the caller has it at hand):
    `2026-03-02 12:00 MSK`."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    moment = local(value, zone)
    if moment.year >= 1000:  # the text strftime makes (%Y pads nothing), made without it: a third of the call
        return (f"{moment.year}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:{moment.minute:02d} "
                f"{moment.tzname()}")
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def format_number(value: Any) -> str:
    """A decimal with thin grouping spaces: 15 000.50."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{number:,f}".replace(",", "\u202f")
    return text.replace(".", ",") if get_locale() == "ru" else text


def display_value(bundle: Bundle, entity: Entity | None, name: str, value: Any) -> Markup:
    """A stored field value as safe HTML: catalog labels, yes/no, money with currency, links to references."""
    if value is None or value == "" or value == []:
        return escape(EMPTY)
    if name == "owner" and isinstance(value, str):  # the record's owner, stored as a login
        return person(value)
    field = entity.fields.get(name) if entity is not None else None
    if field is None:
        return escape(step_value(name, value))
    catalog = bundle.catalogs.get(field.catalog or "")
    if field.type == "enum" and catalog is not None:
        return escape(catalog_value_label(catalog, str(value)))
    if field.type == "multi_enum" and catalog is not None and isinstance(value, list):
        return escape(", ".join(catalog_value_label(catalog, str(v)) for v in value))
    if field.type == "boolean":
        return escape(t("common.yes") if value else t("common.no"))
    if field.type == "money":
        return escape(f"{format_number(value)} {bundle.settings.currency}")
    if field.type == "decimal":
        return escape(format_number(value))
    if field.type == "datetime":
        return escape(format_datetime(value))
    if field.type == "reference" and isinstance(value, int):
        return record_link(value, _entity_name(bundle, field.entity))
    if field.type == "url" and isinstance(value, str) and value.startswith(("http://", "https://")):
        return Markup('<a href="{0}" rel="noopener noreferrer">{0}</a>').format(value)
    if field.type == "email":
        return Markup('<a href="mailto:{0}">{0}</a>').format(value)
    return escape(_plain(value))


def remember_titles(ids: Iterable[Any] | Mapping[int, RecordName]) -> dict[int, str]:
    """Look up, in one query, how the records a page names read for the user (or take names a service already
    looked up); later `record_link`/`display_value` calls in the same request read them here. Returns the titles of
    those that exist, opened or not (a reference picker shows its current value by it)."""
    from web import uow  # late: web imports this module while it is being built
    from web.auth import actor

    known: dict[int, RecordName] = g.setdefault("record_names", {})
    if isinstance(ids, Mapping):
        known.update(ids)
    else:
        wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool) and i not in known}
        if wanted and g.get("actor") is not None:
            known.update(record_names(uow(), actor(), wanted))
    return {i: n.title for i, n in known.items() if n.title is not None}


def reference_values(entity: Entity, values: Mapping[str, Any]) -> list[int]:
    """The record ids the reference fields of `values` name (to look their titles up in one query)."""
    return [int(v) for n, v in values.items() if (isinstance(v, int) or (isinstance(v, str) and v.isdigit()))
            and (f := entity.fields.get(n)) is not None and f.type == "reference"]


def names_records(bundle: Bundle, entity_name: str | None, field_name: str) -> bool:
    """Whether a field change's values are record ids: a reference field, or a link (`link:<kind>`)."""
    entity = bundle.entities.get(entity_name or "")
    field = entity.fields.get(field_name) if entity is not None else None
    return field_name.startswith("link:") or (field is not None and field.type == "reference")


def record_link(record_id: Any, entity_name: str = "") -> Markup:
    """A record by its title: a link when the user may open it, else the title as text with a hint that it cannot be
    opened; a merged one says so (linking its survivor the user may open), one that is gone says so."""
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        return escape(_plain(record_id)) if record_id not in (None, "") else escape(EMPTY)
    remember_titles([record_id])
    name = g.get("record_names", {}).get(record_id, GONE)
    if name.title is None:
        return Markup('<span class="ref-gone" title="{}">{}</span>').format(
            " ".join(x for x in (entity_name, f"#{record_id}") if x), t("reference.gone"))
    shown = titled_record(record_id, name.title, name.openable)
    if not name.merged:
        return shown
    if name.merged_into is None:
        return Markup('{} <small class="muted">({})</small>').format(shown, t("reference.merged"))
    survivor = titled_record(name.merged_into, name.merged_into_title or "", True)
    merged_into = escape(t("reference.merged_into", link="{link}")).format(link=survivor)
    return Markup('{} <small class="muted">({})</small>').format(shown, merged_into)


def titled_record(record_id: int, title: str, openable: bool) -> Markup:
    """A title linking its card, or (a record the user may not open) plain text with an accessible hint."""
    if openable:
        return Markup('<a href="{}">{}</a>').format(url_for("records.card", record_id=record_id), title)
    hint = t("reference.closed")
    return Markup('<span class="ref-closed" title="{0}">{1}<span class="visually-hidden"> ({0})</span></span>'
                  ).format(hint, title)


def catalog_value_label(catalog: Catalog, code: str) -> str:
    """A catalog value's label; in a tree, its path from the top ("Active › Periodic")."""
    return catalog.path_label(code, get_locale())


def link_kind_label(bundle: Bundle, kind: str) -> str:
    """A link kind in the request's language (its label in the link catalog, else the code)."""
    catalog = bundle.catalogs.get(bundle.settings.link_catalog)
    return catalog.label_of(kind, get_locale()) if catalog is not None else kind


def _entity_name(bundle: Bundle, name: str | None) -> str:
    entity = bundle.entities.get(name or "")
    return entity_label(entity) if entity is not None else (name or "")


def step_value(key: str, value: Any) -> str:
    """A value the engine writes into a step's data in the request's language: a routing decision's team (or
    pool) and strategy, the process; any other value as it is."""
    if isinstance(value, str) and key in ("team", "pool"):
        return role_label(value)
    if isinstance(value, str) and key == "strategy":  # engine/services/assignment.py STRATEGIES
        text = t(f"instances.strategy.{value}")
        return value if text == f"instances.strategy.{value}" else text
    if isinstance(value, str) and key == "process_id":
        return process_label(value, value)
    return _plain(value)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return t("common.yes") if value else t("common.no")
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def process_labels() -> Mapping[str, ProcessLabels]:
    """The deployed bundle's process and step names per locale (empty before a deploy)."""
    try:
        return bundle_of(uow()).process_labels
    except FlowError:  # nothing deployed
        return {}


def process_label(process_id: str, fallback: str) -> str:
    """A process's name in the request's language (processes/labels.yaml), else `fallback` (its BPMN name)."""
    return label_in(process_labels(), process_id, None, get_locale(), fallback)


def step_label(process_id: str, element_id: str | None, fallback: str | None) -> str:
    """A process element's name in the request's language, else `fallback` (its BPMN name), else its id."""
    return _step_label_in(process_labels(), process_id, element_id, get_locale(), fallback)


def _step_label_in(labels: Mapping[str, ProcessLabels], process_id: str, element_id: str | None, locale: str,
                   fallback: str | None) -> str:
    """`step_label` for given labels and language (what `task_title` remembers per configuration)."""
    if not element_id:
        return fallback or ""
    return label_in(labels, process_id, element_id, locale, fallback or element_id)


_MAX_LABEL_SETS = 8  # configurations whose element owners are remembered (as engine.processes.deployed parses)
_MAX_NAMES = 4096  # names remembered per configuration: far above its processes' steps x languages
# Per deployed configuration's process labels (the parsed bundle's own mapping, kept alive beside its memo so its id
# is not reused): the names a page shows per row, worked out once per configuration, not once or twice per row.
_BY_LABELS: dict[Hashable, tuple[tuple[object, ...], Any]] = {}


def _names_of(labels: Mapping[str, ProcessLabels]) -> dict[tuple[str | None, ...], str | None]:
    """The memo of names for one configuration's process labels."""
    memo: dict[tuple[str | None, ...], str | None] = held_for(_BY_LABELS, id(labels), (labels,), dict, _MAX_LABEL_SETS)
    return memo


def _remembered(memo: dict[tuple[str | None, ...], str | None], key: tuple[str | None, ...],
                work: Callable[[], str | None]) -> str | None:
    if key in memo:
        return memo[key]
    found = work()
    if len(memo) < _MAX_NAMES:
        memo[key] = found
    return found


def _owner_in(labels: Mapping[str, ProcessLabels], element_id: str, title: str) -> str | None:
    owners = [pid for pid, found in labels.items() if element_id in found.elements]
    named = [pid for pid in owners if title in labels[pid].elements[element_id].values()]
    found = named or owners
    return found[0] if found else None


def _element_process(element_id: str, title: str) -> str | None:
    """The process an element belongs to, by its id (the one whose label matches the stored BPMN name when two
    processes use the same id)."""
    labels = process_labels()
    return _remembered(_names_of(labels), ("owner", element_id, title), lambda: _owner_in(labels, element_id, title))


def _task_process(task: TaskView) -> str | None:
    """The process a task's element belongs to; None for a standalone task."""
    return None if task.instance_id is None else _element_process(task.element_id, task.title)


RULE_TASK = "rule "  # a rule's standalone task is named "rule <name>" (engine/rules/actions.py: its source)


def _rule_task_title(element_id: str, title: str) -> str:
    """A rule's task in the request's language: the title its create_task gives in it, when it gives one per
    language (the task stores the title in the bundle's default language)."""
    try:
        rule = bundle_of(uow()).rules.get(element_id.removeprefix(RULE_TASK))
    except FlowError:  # nothing deployed
        return title
    for action in rule.all_actions() if rule is not None else ():
        given = action.args.get("title") if action.kind == "create_task" and isinstance(action.args, Mapping) \
            else None
        if isinstance(given, Mapping) and title in given.values():
            return label(given, title)
    return title


def element_title(element_id: str | None, title: str, process_id: str | None = None,
                  labels: Mapping[str, str] | None = None) -> str:
    """A process step's or a task's stored name in the request's language: a task's own title in that language
    (`labels`, stored when its maker gave several), by its element in `process_id` or in the process whose labels
    name that element, a rule's task by its rule (older tasks stored no labels); else as stored."""
    if labels and labels.get(get_locale()):
        return labels[get_locale()]
    if element_id and element_id.startswith(RULE_TASK):
        return _rule_task_title(element_id, title)
    owner = process_id or (_element_process(element_id, title) if element_id else None)
    return title if owner is None else step_label(owner, element_id, title)


def task_title(task: TaskView, labels: Mapping[str, ProcessLabels] | None = None, locale: str | None = None) -> str:
    """A task's name in the request's language: its process step's label, or its rule's title in that language
    (other standalone tasks keep the title they were given). `labels`, `locale`: the configuration's process
    labels and the request's language, when a page naming many tasks has looked them up once."""
    locale = locale or get_locale()
    if task.title_labels and task.title_labels.get(locale):
        return task.title_labels[locale]
    if task.instance_id is None:
        return element_title(task.element_id, task.title) if task.element_id.startswith(RULE_TASK) else task.title
    labels = process_labels() if labels is None else labels
    element_id, title = task.element_id, task.title

    def work() -> str:
        process_id = _owner_in(labels, element_id, title)
        return title if process_id is None else _step_label_in(labels, process_id, element_id, locale, title)

    return _remembered(_names_of(labels), ("title", element_id, title, locale), work) or ""


def task_process_label(task: TaskView, fallback: str, labels: Mapping[str, ProcessLabels] | None = None,
                       locale: str | None = None) -> str:
    """The name of the process a task belongs to, in the request's language (`labels`, `locale`: as task_title)."""
    if task.instance_id is None:
        return fallback
    labels = process_labels() if labels is None else labels
    element_id, title, locale = task.element_id, task.title, locale or get_locale()

    def work() -> str:
        process_id = _owner_in(labels, element_id, title)
        return fallback if process_id is None else label_in(labels, process_id, None, locale, fallback)

    return _remembered(_names_of(labels), ("process", element_id, title, locale, fallback), work) or ""


def data_value(bundle: Bundle, entity: Entity | None, key: str, value: Any) -> str:
    """A process data value in the request's language: a process by its name, a team named after a role by the
    role's, a routing strategy by its label, else as a field's value."""
    if key in ("process_id", "team", "pool", "strategy") and isinstance(value, str):
        return step_value(key, value)  # a team named after a role (sales) reads as the role
    return display_value(bundle, entity, key, value)


def data_key_label(bundle: Bundle, entity: Entity | None, process_id: str, key: str) -> str:
    """A process data key in the request's language: a field of the record's entity, a titled property of one of
    the bundle's forms, a key the engine writes, `<step>_completed_by`; else the key itself."""
    if entity is not None and key in entity.fields:
        return field_label(entity, key)
    for form in bundle.forms.values():
        prop = (form.schema.get("properties") or {}).get(key)
        text = localized(prop, get_locale()) if isinstance(prop, Mapping) else ""
        if text:
            return text
    engine_key = t(f"instances.data_key.{key}")  # what the engine itself writes into steps (process_id, team, ...)
    if engine_key != f"instances.data_key.{key}":
        return engine_key
    if key == "last_completed_by":
        return t("instances.last_completed_by")
    if key.endswith("_completed_by"):
        step = key.removesuffix("_completed_by")
        return t("instances.step_completed_by", step=step_label(process_id, step, step))
    return key


def labelled_diagram(xml: str, process_id: str) -> str:
    """A process's BPMN XML for drawing, its process and element names in the request's language (the stored XML
    is untouched; XML that cannot be read is drawn as it is)."""
    labels = process_labels().get(process_id)
    if labels is None:
        return xml
    try:
        tree = etree.fromstring(xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return xml
    locale = get_locale()
    for node in tree.iter():
        element_id = node.get("id") if isinstance(node.tag, str) else None
        if element_id is None or node.get("name") is None:
            continue
        label = labels.label if element_id == process_id else labels.elements.get(element_id, {})
        if label.get(locale):
            node.set("name", label[locale])
    declared = xml.lstrip().startswith("<?xml")
    return bytes(etree.tostring(tree, encoding="UTF-8", xml_declaration=declared)).decode()


def role_label(role: str) -> str:
    """A role or candidate group in the request's language: a team by its label in the bundle's settings
    (`teams: [{name, label}]`), a role by the UI's catalog; a group with neither stays as it is."""
    text = t(f"roles.{role}")
    if text != f"roles.{role}":
        return text
    try:
        team = bundle_of(uow()).settings.team_labels.get(role)
    except FlowError:  # nothing deployed
        team = None
    return label(team, role) if team else role


def init_app(app: Flask) -> None:
    """Template filters for dates, roles and people."""
    app.jinja_env.filters.update(dt=format_datetime, role=role_label, task_title=task_title, actor=person)
    app.jinja_env.globals.update(display_value=display_value, field_label=field_label, entity_label=entity_label,
                                 link_kind_label=link_kind_label, record_link=record_link, titled_record=titled_record,
                                 process_label=process_label, step_label=step_label,
                                 task_process_label=task_process_label, data_key_label=data_key_label,
                                 element_title=element_title, data_value=data_value, person_name=person_name,
                                 user_zone_name=lambda: user_zone().key)
